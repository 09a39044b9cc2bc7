package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// Backup lists: filters on any of Cinder's backup columns, any order of them, and pages that
// continue after a marker in that order (keyset pagination, as volume lists page), with an
// offset after the marker.

// backupFields are the fields of resource.BackupFilter's Equal, Like and Sort, as
// volumeFields are for volumes: nullable columns are COALESCEd so that ordering and the
// marker's comparisons agree on both dialects.
var backupFields = func() map[string]volumeField {
	out := map[string]volumeField{}
	for _, f := range resource.BackupFilterFields {
		switch f {
		case "id", "volume_id", "project_id", "status":
			out[f] = volumeField{"%[1]s." + f, fieldString}
		case "size", "object_count", "num_dependent_backups":
			out[f] = volumeField{"%[1]s." + f, fieldInt}
		case "created_at":
			out[f] = volumeField{"%[1]s." + f, fieldTime}
		case "updated_at", "data_timestamp":
			out[f] = volumeField{"COALESCE(%[1]s." + f + ", '')", fieldTime}
		default:
			out[f] = volumeField{"COALESCE(%[1]s." + f + ", '')", fieldString}
		}
	}
	return out
}()

// backupWhere is the WHERE of f's conditions on backups b.
func backupWhere(f resource.BackupFilter) ([]string, []any, error) {
	where := []string{"b.deleted = 0"}
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	for _, c := range []struct{ col, val string }{
		{"b.project_id", f.ProjectID}, {"b.display_name", f.Name}, {"b.status", f.Status}, {"b.volume_id", f.VolumeID},
	} {
		if c.val != "" {
			add(c.col+" = ?", c.val)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Equal)) {
		fld, ok := backupFields[k]
		if !ok || fld.kind == fieldTime {
			return nil, nil, fmt.Errorf("cannot filter backups by %q: %w", k, resource.ErrInvalidState)
		}
		add(fmt.Sprintf(fld.expr, "b")+" = ?", f.Equal[k])
	}
	for _, k := range slices.Sorted(maps.Keys(f.Like)) {
		fld, ok := backupFields[k]
		if !ok || fld.kind != fieldString {
			return nil, nil, fmt.Errorf("cannot filter backups by %q: %w", k, resource.ErrInvalidState)
		}
		add("LOWER("+fmt.Sprintf(fld.expr, "b")+") LIKE ? ESCAPE '!'", "%"+escapeLike(strings.ToLower(f.Like[k]))+"%")
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		add("EXISTS (SELECT 1 FROM backup_metadata m WHERE m.backup_id = b.id AND m.`key` = ? AND m.`value` = ?)", k, f.Metadata[k])
	}
	return where, args, nil
}

// backupSortKeys completes a requested order as Cinder's process_sort_params does: created_at
// and id follow, in the direction of the first key (newest first when nothing is asked).
func backupSortKeys(req []resource.SortKey) ([]resource.SortKey, error) {
	keys := slices.Clone(req)
	desc := len(keys) == 0 || keys[0].Desc
	for _, k := range keys {
		if _, ok := backupFields[k.Field]; !ok {
			return nil, fmt.Errorf("cannot sort backups by %q: %w", k.Field, resource.ErrInvalidState)
		}
	}
	for _, d := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(keys, func(k resource.SortKey) bool { return k.Field == d }) {
			keys = append(keys, resource.SortKey{Field: d, Desc: desc})
		}
	}
	return keys, nil
}

// afterBackupMarker is the keyset condition "comes after the marker backup in this order",
// the marker's values read by subqueries (see afterMarker).
func afterBackupMarker(keys []resource.SortKey, marker string) (string, []any) {
	cmp := func(field, op string) string {
		expr := backupFields[field].expr
		return fmt.Sprintf(expr, "b") + " " + op + " (SELECT " + fmt.Sprintf(expr, "mk") + " FROM backups mk WHERE mk.id = ?)"
	}
	var ors []string
	var args []any
	for i, k := range keys {
		var ands []string
		for _, prev := range keys[:i] {
			ands, args = append(ands, cmp(prev.Field, "=")), append(args, marker)
		}
		op := ">"
		if k.Desc {
			op = "<"
		}
		ands, args = append(ands, cmp(k.Field, op)), append(args, marker)
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// ListBackups returns the backups f selects, in f's order, with their metadata. f.Marker is
// the id of the last backup of the previous page; one that is not a visible backup (of
// f.ProjectID, when set) is a *resource.NotFoundError of kind "Marker". A field that lists
// cannot filter or sort by is an error wrapping resource.ErrInvalidState.
func (s *Store) ListBackups(ctx context.Context, f resource.BackupFilter) ([]*resource.Backup, error) {
	where, args, err := backupWhere(f)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	keys, err := backupSortKeys(f.Sort)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	if f.Marker != "" {
		q, qargs := "SELECT 1 FROM backups WHERE id = ? AND deleted = 0", []any{f.Marker}
		if f.ProjectID != "" {
			q, qargs = q+" AND project_id = ?", append(qargs, f.ProjectID)
		}
		var one int
		switch err := s.ro.QueryRowContext(ctx, q, qargs...).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, &resource.NotFoundError{Kind: "Marker", ID: f.Marker}
		case err != nil:
			return nil, fmt.Errorf("list backups: read marker: %w", err)
		}
		cond, cargs := afterBackupMarker(keys, f.Marker)
		where, args = append(where, cond), append(args, cargs...)
	}
	order := make([]string, len(keys))
	for i, k := range keys {
		order[i] = fmt.Sprintf(backupFields[k.Field].expr, "b")
		if k.Desc {
			order[i] += " DESC"
		}
	}
	query := "SELECT " + backupColumns + " FROM backups b WHERE " + strings.Join(where, " AND ") + " ORDER BY " + strings.Join(order, ", ")
	switch {
	case f.Limit > 0:
		query, args = query+" LIMIT ?", append(args, f.Limit)
	case f.Offset > 0:
		query, args = query+" LIMIT ?", append(args, int64(1)<<62) // MySQL wants a LIMIT with OFFSET
	}
	if f.Offset > 0 {
		query, args = query+" OFFSET ?", append(args, f.Offset)
	}
	out, err := queryBackups(ctx, s.ro, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	return out, nil
}

// CountBackups counts the backups f selects, ignoring its marker, limit, offset and sort
// (what with_count reports).
func (s *Store) CountBackups(ctx context.Context, f resource.BackupFilter) (int, error) {
	where, args, err := backupWhere(f)
	if err != nil {
		return 0, fmt.Errorf("count backups: %w", err)
	}
	var n int
	if err := s.ro.QueryRowContext(ctx, "SELECT COUNT(*) FROM backups b WHERE "+strings.Join(where, " AND "), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count backups: %w", err)
	}
	return n, nil
}

// ListBackupsByHost returns the backups of backup service host with a status in statuses
// (any when empty), oldest first: what a backup service's recovery looks at when it starts
// (Cinder's _cleanup_incomplete_backup_operations).
func (s *Store) ListBackupsByHost(ctx context.Context, host string, statuses []string) ([]*resource.Backup, error) {
	query, args := "SELECT "+backupColumns+" FROM backups b WHERE b.deleted = 0 AND b.host = ?", []any{host}
	if len(statuses) > 0 {
		query, args = query+" AND b.status IN ("+placeholders(len(statuses))+")", append(args, strArgs(statuses)...)
	}
	out, err := queryBackups(ctx, s.ro, query+" ORDER BY b.created_at, b.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list backups of %s: %w", host, err)
	}
	return out, nil
}
