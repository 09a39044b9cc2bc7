package db

// Group snapshots: a snapshot of every volume of a group, taken together. The group snapshot
// row and one snapshot row per member (carrying group_snapshot_id) are written in one
// transaction with their quota and the cast to the group's backend; the volume service
// finishes them together (FinishGroupSnapshot, DestroyGroupSnapshot).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// GroupSnapshotFilter selects group snapshots for a list, newest first unless Sort says
// otherwise; Marker is the id of the last group snapshot of the previous page.
type GroupSnapshotFilter struct {
	ProjectID string // "" lists every project's
	GroupID   string
	Name      string
	Status    string
	// NameLike selects those whose name contains it, case-insensitively (name~, 3.34).
	NameLike string
	Limit    int // 0: no limit
	Offset   int
	Marker   string
	// WithCGSnapshots lists the group snapshots of the reserved default_cgsnapshot_type too
	// (the cgsnapshot API lists every group snapshot).
	WithCGSnapshots bool
	// Sort orders the list by group_snapshots columns (GroupSnapshotSortKeys); created_at
	// and id, in the direction of the first key, complete it.
	Sort []resource.SnapshotSort
}

// GroupSnapshotSortKeys are the keys a group snapshot list may be sorted by.
var GroupSnapshotSortKeys = []string{"id", "name", "description", "status", "group_id", "group_type_id",
	"project_id", "user_id", "created_at", "updated_at"}

// GroupSnapshotRefusedVolumeStatuses are the statuses of a member volume that refuse a
// group snapshot, as Cinder's _create_snapshot_in_db_validate (error, maintenance; replica_*
// is refused by prefix).
var GroupSnapshotRefusedVolumeStatuses = []string{resource.StatusError, resource.StatusMaintenance}

const groupSnapshotColumns = `s.id, s.group_id, s.project_id, s.user_id, s.name, s.description, s.status,
	s.group_type_id, s.created_at, s.updated_at, s.deleted_at`

func scanGroupSnapshot(sc scanner) (*resource.GroupSnapshot, error) {
	var (
		gs                        resource.GroupSnapshot
		name, desc                sql.NullString
		created, updated, deleted nullTime
	)
	if err := sc.Scan(&gs.ID, &gs.GroupID, &gs.ProjectID, &gs.UserID, &name, &desc, &gs.Status,
		&gs.GroupTypeID, &created, &updated, &deleted); err != nil {
		return nil, err
	}
	gs.Name, gs.Description = name.String, desc.String
	gs.CreatedAt, gs.UpdatedAt, gs.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	return &gs, nil
}

// notCGSnapshotType keeps group snapshots out whose group type is Cinder's reserved
// default_cgsnapshot_type: those are served by the cgsnapshot API only.
const notCGSnapshotType = " AND NOT EXISTS (SELECT 1 FROM group_types gt WHERE gt.id = s.group_type_id AND gt.name = '" +
	resource.DefaultCGSnapshotTypeName + "')"

// CreateGroupSnapshot inserts group snapshot gs of its group (gs.GroupID) and a snapshot in
// creating of every volume of the group, named and described as gs, charges them to the
// project's quota and writes msgs, in one transaction; the group's and its volumes' rows are
// locked meanwhile. It fills in ID, Status (creating), GroupTypeID and CreatedAt, and returns
// the member snapshots. A volume that may not be snapshotted (no host, or a status of
// GroupSnapshotRefusedVolumeStatuses or replica_*) is a *resource.InvalidStateError of kind
// Volume; a missing group a *resource.NotFoundError; a group not placed on a backend an
// *resource.InvalidStateError of kind Group.
func (s *Store) CreateGroupSnapshot(ctx context.Context, gs *resource.GroupSnapshot, msgs ...resource.OutboxMessage) ([]*resource.Snapshot, []resource.OutboxMessage, error) {
	if gs.ID == "" {
		gs.ID = uuid.NewString()
	}
	gs.Status = resource.GroupStatusCreating
	now := s.now()
	gs.CreatedAt = now
	var (
		snaps []*resource.Snapshot
		out   []resource.OutboxMessage
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		snaps = nil
		var host sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT group_type_id, host FROM `groups` WHERE id = ? AND deleted = 0"+s.forUpdate(), gs.GroupID).
			Scan(&gs.GroupTypeID, &host)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Group", ID: gs.GroupID}
		}
		if err != nil {
			return err
		}
		if host.String == "" {
			return &resource.InvalidStateError{Kind: "Group", ID: gs.GroupID, Status: "unplaced"}
		}
		rows, err := tx.QueryContext(ctx, `SELECT v.id, v.status, v.size, v.volume_type_id, v.host, t.name
			FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id
			WHERE v.group_id = ? AND v.deleted = 0 ORDER BY v.created_at, v.id`+s.forUpdate(), gs.GroupID)
		if err != nil {
			return err
		}
		var typeNames []string
		for rows.Next() {
			var (
				sn                   resource.Snapshot
				status               string
				typeID, vhost, tname sql.NullString
			)
			if err := rows.Scan(&sn.VolumeID, &status, &sn.Size, &typeID, &vhost, &tname); err != nil {
				rows.Close()
				return err
			}
			if vhost.String == "" || slices.Contains(GroupSnapshotRefusedVolumeStatuses, status) || strings.HasPrefix(status, "replica_") {
				rows.Close()
				if vhost.String == "" {
					status = "unplaced"
				}
				return &resource.InvalidStateError{Kind: "Volume", ID: sn.VolumeID, Status: status}
			}
			sn.ID, sn.ProjectID, sn.UserID = uuid.NewString(), gs.ProjectID, gs.UserID
			sn.Name, sn.Description = gs.Name, gs.Description
			sn.Status, sn.Progress = resource.SnapshotCreating, "0%"
			sn.VolumeTypeID, sn.Host, sn.GroupSnapshotID = typeID.String, vhost.String, gs.ID
			sn.Metadata, sn.CreatedAt = map[string]string{}, now
			snaps = append(snaps, &sn)
			typeNames = append(typeNames, tname.String)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// Charged per volume type, as Cinder's reservation adds each volume's per-type opts.
		byType := map[string]*quotaChange{}
		var order []string
		for i, sn := range snaps {
			c := byType[typeNames[i]]
			if c == nil {
				c = &quotaChange{ProjectID: gs.ProjectID, VolumeTypeName: typeNames[i]}
				byType[typeNames[i]] = c
				order = append(order, typeNames[i])
			}
			c.Snapshots++
			c.Gigabytes += sn.Size
		}
		for _, name := range order {
			if err := s.chargeQuota(ctx, tx, *byType[name]); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_snapshots (id, group_id, project_id, user_id, name,
			description, status, group_type_id, created_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			gs.ID, gs.GroupID, gs.ProjectID, gs.UserID, nullString(gs.Name), nullString(gs.Description),
			gs.Status, gs.GroupTypeID, dbTime(now)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("id in use: %w", resource.ErrConflict)
			}
			return err
		}
		for _, sn := range snaps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO snapshots (id, project_id, user_id, volume_id,
				display_name, display_description, volume_size, status, progress, volume_type_id, host,
				group_snapshot_id, created_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
				sn.ID, sn.ProjectID, sn.UserID, sn.VolumeID, nullString(sn.Name), nullString(sn.Description),
				sn.Size, sn.Status, sn.Progress, nullString(sn.VolumeTypeID), nullString(sn.Host), gs.ID,
				dbTime(now)); err != nil {
				return err
			}
			// As Cinder's create_snapshots_in_db: each keeps its volume's key id, which a
			// group made from this group snapshot copies for its members.
			if err := copySnapshotEncryptionKey(ctx, tx, sn.ID, sn.VolumeID); err != nil {
				return err
			}
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create group snapshot of group %s: %w", gs.GroupID, err)
	}
	return snaps, out, nil
}

// GetGroupSnapshot returns group snapshot id; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetGroupSnapshot(ctx context.Context, id string) (*resource.GroupSnapshot, error) {
	gs, err := scanGroupSnapshot(s.ro.QueryRowContext(ctx, "SELECT "+groupSnapshotColumns+
		" FROM group_snapshots s WHERE s.id = ? AND s.deleted = 0", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "GroupSnapshot", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("get group snapshot %s: %w", id, err)
	}
	return gs, nil
}

// GroupSnapshotHost returns the host (host@backend#pool) of the group of group snapshot id:
// the backend that makes and removes its storage.
func (s *Store) GroupSnapshotHost(ctx context.Context, id string) (string, error) {
	var host sql.NullString
	err := s.ro.QueryRowContext(ctx, "SELECT g.host FROM group_snapshots s JOIN `groups` g ON g.id = s.group_id WHERE s.id = ? AND s.deleted = 0", id).Scan(&host)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &resource.NotFoundError{Kind: "GroupSnapshot", ID: id}
	}
	if err != nil {
		return "", fmt.Errorf("host of group snapshot %s: %w", id, err)
	}
	return host.String, nil
}

// GroupSnapshotSpecs returns the group specs of the group type of group snapshot id (an
// empty map when the type has none).
func (s *Store) GroupSnapshotSpecs(ctx context.Context, id string) (map[string]string, error) {
	rows, err := s.ro.QueryContext(ctx, "SELECT sp.`key`, sp.`value` FROM group_snapshots s JOIN group_type_specs sp ON sp.group_type_id = s.group_type_id WHERE s.id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("specs of group snapshot %s: %w", id, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("specs of group snapshot %s: %w", id, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// IsCGSnapshotType reports whether group type id is Cinder's reserved
// default_cgsnapshot_type.
func (s *Store) IsCGSnapshotType(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.ro.QueryRowContext(ctx, "SELECT COUNT(*) FROM group_types WHERE id = ? AND name = ?", id, resource.DefaultCGSnapshotTypeName).Scan(&n); err != nil {
		return false, fmt.Errorf("group type %s: %w", id, err)
	}
	return n > 0, nil
}

// ListGroupSnapshotMembers returns the snapshots taken as part of group snapshot id, oldest
// first.
func (s *Store) ListGroupSnapshotMembers(ctx context.Context, id string) ([]*resource.Snapshot, error) {
	out, err := querySnapshots(ctx, s.ro, "SELECT "+snapshotColumns+" FROM snapshots s WHERE s.group_snapshot_id = ? AND s.deleted = 0 ORDER BY s.created_at, s.id", id)
	if err != nil {
		return nil, fmt.Errorf("snapshots of group snapshot %s: %w", id, err)
	}
	return out, nil
}

func groupSnapshotWhere(f GroupSnapshotFilter) ([]string, []any) {
	where, args := []string{"s.deleted = 0"}, []any(nil)
	for _, c := range []struct{ col, val string }{
		{"s.project_id", f.ProjectID}, {"s.group_id", f.GroupID}, {"s.name", f.Name}, {"s.status", f.Status},
	} {
		if c.val != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.val)
		}
	}
	if f.NameLike != "" {
		where, args = append(where, "LOWER(s.name) LIKE ? ESCAPE '!'"), append(args, "%"+escapeLike(strings.ToLower(f.NameLike))+"%")
	}
	if !f.WithCGSnapshots {
		where[0] += notCGSnapshotType
	}
	return where, args
}

// ListGroupSnapshots returns the group snapshots f selects in f's order, leaving out those
// of the reserved default_cgsnapshot_type (the cgsnapshot API's). A Marker that is not a
// visible group snapshot is a *resource.NotFoundError of kind "Marker"; a sort key outside
// GroupSnapshotSortKeys an error that wraps resource.ErrInvalidState.
func (s *Store) ListGroupSnapshots(ctx context.Context, f GroupSnapshotFilter) ([]*resource.GroupSnapshot, error) {
	order := slices.Clone(f.Sort)
	desc := true
	if len(order) > 0 {
		desc = order[0].Desc
	}
	for _, def := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(order, func(o resource.SnapshotSort) bool { return o.Key == def }) {
			order = append(order, resource.SnapshotSort{Key: def, Desc: desc})
		}
	}
	for _, o := range order {
		if !slices.Contains(GroupSnapshotSortKeys, o.Key) {
			return nil, fmt.Errorf("list group snapshots: sort key %q: %w", o.Key, resource.ErrInvalidState)
		}
	}
	where, args := groupSnapshotWhere(f)
	if f.Marker != "" {
		cols := make([]string, len(order))
		dest := make([]any, len(order))
		for i, o := range order {
			cols[i] = "s." + o.Key
			if strings.HasSuffix(o.Key, "_at") {
				dest[i] = new(nullTime)
			} else {
				dest[i] = new(sql.NullString)
			}
		}
		q, qargs := "SELECT "+strings.Join(cols, ", ")+" FROM group_snapshots s WHERE s.id = ? AND s.deleted = 0", []any{f.Marker}
		if f.ProjectID != "" {
			q, qargs = q+" AND s.project_id = ?", append(qargs, f.ProjectID)
		}
		switch err := s.ro.QueryRowContext(ctx, q, qargs...).Scan(dest...); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("list group snapshots: %w", &resource.NotFoundError{Kind: "Marker", ID: f.Marker})
		case err != nil:
			return nil, fmt.Errorf("list group snapshots: read marker: %w", err)
		}
		vals := make([]any, len(dest))
		for i, d := range dest {
			switch v := d.(type) {
			case *nullTime:
				if v.Valid {
					vals[i] = dbTime(v.Time)
				}
			case *sql.NullString:
				if v.Valid {
					vals[i] = v.String
				}
			}
		}
		cond, cargs := afterSnapshotMarker(order, vals)
		where, args = append(where, cond), append(args, cargs...)
	}
	by := make([]string, len(order))
	for i, o := range order {
		by[i] = "s." + o.Key + map[bool]string{false: " ASC", true: " DESC"}[o.Desc]
	}
	query := "SELECT " + groupSnapshotColumns + " FROM group_snapshots s WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + strings.Join(by, ", ")
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = math.MaxInt32
		}
		query, args = query+" LIMIT ? OFFSET ?", append(args, limit, max(f.Offset, 0))
	}
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list group snapshots: %w", err)
	}
	defer rows.Close()
	out := []*resource.GroupSnapshot{}
	for rows.Next() {
		gs, err := scanGroupSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("list group snapshots: %w", err)
		}
		out = append(out, gs)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list group snapshots: %w", err)
	}
	return out, nil
}

// ListGroupSnapshotsByHost returns the group snapshots in one of statuses whose group is on
// backendHost (host@backend, any pool), oldest first: what that backend's volume service
// recovers at start.
func (s *Store) ListGroupSnapshotsByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.GroupSnapshot, error) {
	query := "SELECT " + groupSnapshotColumns + " FROM group_snapshots s JOIN `groups` g ON g.id = s.group_id" +
		" WHERE s.deleted = 0 AND (g.host = ? OR g.host LIKE ? ESCAPE '!') AND s.status IN (" + placeholders(len(statuses)) + ")" +
		" ORDER BY s.created_at, s.id"
	args := append([]any{backendHost, escapeLike(backendHost) + "#%"}, strArgs(statuses)...)
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list group snapshots of %s: %w", backendHost, err)
	}
	defer rows.Close()
	var out []*resource.GroupSnapshot
	for rows.Next() {
		gs, err := scanGroupSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("list group snapshots of %s: %w", backendHost, err)
		}
		out = append(out, gs)
	}
	return out, rows.Err()
}

// conditionalGroupSnapshot runs a conditional UPDATE of group snapshot id and says why,
// reading it in the same transaction, when no row changed.
func conditionalGroupSnapshot(ctx context.Context, q querier, id string, from []string, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	var status string
	switch err := q.QueryRowContext(ctx, "SELECT status FROM group_snapshots WHERE id = ? AND deleted = 0", id).Scan(&status); {
	case errors.Is(err, sql.ErrNoRows):
		return &resource.NotFoundError{Kind: "GroupSnapshot", ID: id}
	case err != nil:
		return err
	}
	return &resource.InvalidStateError{Kind: "GroupSnapshot", ID: id, Status: status, Want: slices.Clone(from)}
}

// StartGroupSnapshotDelete moves group snapshot id from available or error to deleting, and
// its member snapshots to deleting, and writes msgs, in one transaction, as Cinder's
// delete_group_snapshot: refused (a *resource.InvalidStateError) in another status or while
// a group is being created from it.
func (s *Store) StartGroupSnapshotDelete(ctx context.Context, id string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	from := []string{resource.GroupStatusAvailable, resource.GroupStatusError}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := conditionalGroupSnapshot(ctx, tx, id, from,
			"UPDATE group_snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status IN (?, ?)"+
				" AND NOT EXISTS (SELECT 1 FROM `groups` g WHERE g.group_snapshot_id = group_snapshots.id AND g.deleted = 0 AND g.status = ?)",
			resource.GroupStatusDeleting, dbTime(now), id, from[0], from[1], resource.GroupStatusCreating); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET status = ?, updated_at = ? WHERE group_snapshot_id = ? AND deleted = 0",
			resource.SnapshotDeleting, dbTime(now), id); err != nil {
			return err
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete group snapshot %s: %w", id, err)
	}
	return out, nil
}

// FinishGroupSnapshot is FinishGroupSnapshotData without provider data: what a group
// snapshot made by a driver that returns none needs.
func (s *Store) FinishGroupSnapshot(ctx context.Context, id string, failed []string, msg *resource.Message) error {
	return s.FinishGroupSnapshotData(ctx, id, failed, nil, msg)
}

// FinishGroupSnapshotData ends the create of group snapshot id, in creating: each member
// snapshot still in creating takes its status from failed (error when its id is there,
// available with progress 100% otherwise), and the group snapshot becomes error when any
// failed, available otherwise; a member that became available takes its provider data from
// provider (what the driver returned for it, by snapshot id; a member not there keeps NULLs);
// msg (a user message, when non-nil) is written with it, all in one transaction.
func (s *Store) FinishGroupSnapshotData(ctx context.Context, id string, failed []string, provider map[string]resource.ProviderData, msg *resource.Message) error {
	now := s.now()
	status := resource.GroupStatusAvailable
	if len(failed) > 0 {
		status = resource.GroupStatusError
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := conditionalGroupSnapshot(ctx, tx, id, []string{resource.GroupStatusCreating},
			"UPDATE group_snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			status, dbTime(now), id, resource.GroupStatusCreating); err != nil {
			return err
		}
		q, args := "UPDATE snapshots SET status = ?, progress = '100%', updated_at = ? WHERE group_snapshot_id = ? AND deleted = 0 AND status = ?",
			[]any{resource.SnapshotAvailable, dbTime(now), id, resource.SnapshotCreating}
		if len(failed) > 0 {
			q, args = q+" AND id NOT IN ("+placeholders(len(failed))+")", append(args, strArgs(failed)...)
			if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET status = ?, updated_at = ? WHERE group_snapshot_id = ? AND deleted = 0 AND status = ? AND id IN ("+placeholders(len(failed))+")",
				append([]any{resource.SnapshotError, dbTime(now), id, resource.SnapshotCreating}, strArgs(failed)...)...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		for _, sid := range slices.Sorted(maps.Keys(provider)) {
			if provider[sid].IsZero() || slices.Contains(failed, sid) {
				continue // nothing to write, or the member failed
			}
			if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET "+providerSet+" WHERE id = ? AND group_snapshot_id = ? AND deleted = 0 AND status = ?",
				append(providerArgs(provider[sid]), sid, id, resource.SnapshotAvailable)...); err != nil {
				return err
			}
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish group snapshot %s: %w", id, err)
	}
	return nil
}

// FailGroupSnapshotDelete sets group snapshot id, in deleting, and its member snapshots in
// deleting to error (as Cinder's delete_group_snapshot does when the driver fails), with msg,
// in one transaction.
func (s *Store) FailGroupSnapshotDelete(ctx context.Context, id string, msg *resource.Message) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := conditionalGroupSnapshot(ctx, tx, id, []string{resource.GroupStatusDeleting},
			"UPDATE group_snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.GroupStatusError, dbTime(now), id, resource.GroupStatusDeleting); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET status = ?, updated_at = ? WHERE group_snapshot_id = ? AND deleted = 0 AND status = ?",
			resource.SnapshotError, dbTime(now), id, resource.SnapshotDeleting); err != nil {
			return err
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fail delete of group snapshot %s: %w", id, err)
	}
	return nil
}

// DestroyGroupSnapshot soft-deletes group snapshot id, in deleting, with its member
// snapshots, and gives their quota back, in one transaction.
func (s *Store) DestroyGroupSnapshot(ctx context.Context, id string) error {
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var project string
		err := tx.QueryRowContext(ctx, "SELECT project_id FROM group_snapshots WHERE id = ? AND deleted = 0"+s.forUpdate(), id).Scan(&project)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "GroupSnapshot", ID: id}
		}
		if err != nil {
			return err
		}
		if err := conditionalGroupSnapshot(ctx, tx, id, []string{resource.GroupStatusDeleting},
			"UPDATE group_snapshots SET status = ?, deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.GroupStatusDeleted, now, now, id, resource.GroupStatusDeleting); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT s.project_id, s.volume_size, t.name FROM snapshots s
			LEFT JOIN volume_types t ON t.id = s.volume_type_id WHERE s.group_snapshot_id = ? AND s.deleted = 0`+s.forUpdate(), id)
		if err != nil {
			return err
		}
		var changes []quotaChange
		for rows.Next() {
			var (
				c     quotaChange
				size  int
				tname sql.NullString
			)
			if err := rows.Scan(&c.ProjectID, &size, &tname); err != nil {
				rows.Close()
				return err
			}
			c.VolumeTypeName, c.Snapshots, c.Gigabytes = tname.String, -1, -size
			changes = append(changes, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET status = ?, deleted = 1, deleted_at = ?, updated_at = ? WHERE group_snapshot_id = ? AND deleted = 0",
			resource.SnapshotDeleted, now, now, id); err != nil {
			return err
		}
		for _, c := range changes {
			if err := s.chargeQuota(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("destroy group snapshot %s: %w", id, err)
	}
	return nil
}

// ResetGroupSnapshotStatus sets the status of group snapshot id, whatever it was (an
// administrator's reset_status).
func (s *Store) ResetGroupSnapshotStatus(ctx context.Context, id, status string) error {
	res, err := s.db.ExecContext(ctx, "UPDATE group_snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0",
		status, dbTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("reset group snapshot %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("reset group snapshot %s: %w", id, err)
	} else if n == 0 {
		return &resource.NotFoundError{Kind: "GroupSnapshot", ID: id}
	}
	return nil
}
