package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// Snapshot lists: filters, any order of SnapshotSortKeys, and pages that continue after a
// marker in that order (keyset pagination, stable under inserts); an offset, which Cinder
// accepts on snapshot lists as on volume lists, skips rows after the marker.

// snapshotWhere is the WHERE clause of the snapshots f selects, paging aside.
func snapshotWhere(f resource.SnapshotFilter) ([]string, []any) {
	where, args := []string{"s.deleted = 0"}, []any(nil)
	for _, c := range []struct{ col, val string }{
		{"s.project_id", f.ProjectID}, {"s.volume_id", f.VolumeID}, {"s.display_name", f.Name}, {"s.status", f.Status},
	} {
		if c.val != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.val)
		}
	}
	for _, c := range []struct{ col, val string }{{"s.display_name", f.NameLike}, {"s.display_description", f.DescriptionLike}} {
		if c.val != "" {
			where, args = append(where, "LOWER("+c.col+") LIKE ? ESCAPE '!'"), append(args, "%"+escapeLike(strings.ToLower(c.val))+"%")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		where = append(where, "EXISTS (SELECT 1 FROM snapshot_metadata m WHERE m.snapshot_id = s.id AND m.`key` = ? AND m.`value` = ?)")
		args = append(args, k, f.Metadata[k])
	}
	return where, args
}

// snapshotOrder completes a sort as Cinder's process_sort_params does: created_at and id
// are added, in the direction of the first key, when missing. Keys are checked against
// SnapshotSortKeys, so they may be written into SQL.
func snapshotOrder(sorts []resource.SnapshotSort) ([]resource.SnapshotSort, error) {
	out := slices.Clone(sorts)
	desc := true
	if len(out) > 0 {
		desc = out[0].Desc
	}
	for _, def := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(out, func(o resource.SnapshotSort) bool { return o.Key == def }) {
			out = append(out, resource.SnapshotSort{Key: def, Desc: desc})
		}
	}
	for _, o := range out {
		if !slices.Contains(resource.SnapshotSortKeys, o.Key) {
			return nil, fmt.Errorf("sort key %q: %w", o.Key, resource.ErrInvalidState)
		}
	}
	return out, nil
}

// markerValues reads the sort columns of the marker snapshot, as arguments that compare
// with those columns on both dialects (times in the stored text form).
func (s *Store) markerValues(ctx context.Context, f resource.SnapshotFilter, order []resource.SnapshotSort) ([]any, error) {
	cols := make([]string, len(order))
	dest := make([]any, len(order))
	for i, o := range order {
		cols[i] = "s." + o.Key
		switch o.Key {
		case "created_at", "updated_at", "deleted_at":
			dest[i] = new(nullTime)
		case "volume_size":
			dest[i] = new(sql.NullInt64)
		default:
			dest[i] = new(sql.NullString)
		}
	}
	q, qargs := "SELECT "+strings.Join(cols, ", ")+" FROM snapshots s WHERE s.id = ? AND s.deleted = 0", []any{f.Marker}
	if f.ProjectID != "" {
		q, qargs = q+" AND s.project_id = ?", append(qargs, f.ProjectID)
	}
	switch err := s.ro.QueryRowContext(ctx, q, qargs...).Scan(dest...); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, &resource.NotFoundError{Kind: "Marker", ID: f.Marker}
	case err != nil:
		return nil, fmt.Errorf("read marker: %w", err)
	}
	vals := make([]any, len(dest))
	for i, d := range dest {
		switch v := d.(type) {
		case *nullTime:
			if v.Valid {
				vals[i] = dbTime(v.Time)
			}
		case *sql.NullInt64:
			if v.Valid {
				vals[i] = v.Int64
			}
		case *sql.NullString:
			if v.Valid {
				vals[i] = v.String
			}
		}
	}
	return vals, nil
}

// afterSnapshotMarker is the condition "comes after the marker" in order, given the marker's
// values (nil for NULL). Both dialects sort NULL first ascending and last descending: NULL
// is the smallest value.
func afterSnapshotMarker(order []resource.SnapshotSort, vals []any) (string, []any) {
	var (
		alts []string
		args []any
	)
	for i, o := range order {
		var (
			parts []string
			pargs []any
		)
		for j := range i { // the keys before are equal
			col := "s." + order[j].Key
			if vals[j] == nil {
				parts = append(parts, col+" IS NULL")
			} else {
				parts, pargs = append(parts, col+" = ?"), append(pargs, vals[j])
			}
		}
		col := "s." + o.Key
		switch {
		case vals[i] == nil && o.Desc:
			continue // nothing is below NULL
		case vals[i] == nil:
			parts = append(parts, col+" IS NOT NULL")
		case o.Desc:
			parts, pargs = append(parts, "("+col+" < ? OR "+col+" IS NULL)"), append(pargs, vals[i])
		default:
			parts, pargs = append(parts, col+" > ?"), append(pargs, vals[i])
		}
		alts = append(alts, "("+strings.Join(parts, " AND ")+")")
		args = append(args, pargs...)
	}
	if len(alts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(alts, " OR ") + ")", args
}

// ListSnapshots returns the snapshots f selects in f's order (newest first by default),
// with their metadata. A Marker that is not a visible snapshot (of f.ProjectID, when set)
// is a *resource.NotFoundError of kind "Marker"; a sort key outside SnapshotSortKeys is an
// error that wraps resource.ErrInvalidState.
func (s *Store) ListSnapshots(ctx context.Context, f resource.SnapshotFilter) ([]*resource.Snapshot, error) {
	order, err := snapshotOrder(f.Sort)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	where, args := snapshotWhere(f)
	if f.Marker != "" {
		vals, err := s.markerValues(ctx, f, order)
		if err != nil {
			return nil, fmt.Errorf("list snapshots: %w", err)
		}
		cond, cargs := afterSnapshotMarker(order, vals)
		where, args = append(where, cond), append(args, cargs...)
	}
	by := make([]string, len(order))
	for i, o := range order {
		by[i] = "s." + o.Key + map[bool]string{false: " ASC", true: " DESC"}[o.Desc]
	}
	query := "SELECT " + snapshotColumns + " FROM snapshots s WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + strings.Join(by, ", ")
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = math.MaxInt32 // both dialects need a LIMIT before an OFFSET
		}
		query, args = query+" LIMIT ? OFFSET ?", append(args, limit, max(f.Offset, 0))
	}
	out, err := querySnapshots(ctx, s.ro, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return out, nil
}

// CountSnapshots counts the snapshots f selects, ignoring its Limit, Offset, Marker and Sort (what
// with_count reports).
func (s *Store) CountSnapshots(ctx context.Context, f resource.SnapshotFilter) (int, error) {
	where, args := snapshotWhere(f)
	var n int
	if err := s.ro.QueryRowContext(ctx, "SELECT COUNT(*) FROM snapshots s WHERE "+strings.Join(where, " AND "), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count snapshots: %w", err)
	}
	return n, nil
}

// ListSnapshotsByHost returns the snapshots a backend holds: host is backendHost itself or
// one of its pools (backendHost#pool), with a status in statuses (any when empty), oldest
// first. The storage reconciler (internal/volume) compares them with the backend's objects.
func (s *Store) ListSnapshotsByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Snapshot, error) {
	// The same range over the (host, status) index as ListVolumesByHost.
	query := "SELECT " + snapshotColumns + " FROM snapshots s WHERE s.deleted = 0 AND s.host >= ? AND s.host < ? AND (s.host = ? OR s.host >= ?)"
	args := []any{backendHost, backendHost + "$", backendHost, backendHost + "#"}
	if len(statuses) > 0 {
		query, args = query+" AND s.status IN ("+placeholders(len(statuses))+")", append(args, strArgs(statuses)...)
	}
	out, err := querySnapshots(ctx, s.ro, query+" ORDER BY s.created_at, s.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", backendHost, err)
	}
	return out, nil
}

// CountVolumeSnapshots counts the snapshots of volume id that are not deleted.
func (s *Store) CountVolumeSnapshots(ctx context.Context, volumeID string) (int, error) {
	var n int
	if err := s.ro.QueryRowContext(ctx, "SELECT COUNT(*) FROM snapshots WHERE volume_id = ? AND deleted = 0", volumeID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count snapshots of volume %s: %w", volumeID, err)
	}
	return n, nil
}
