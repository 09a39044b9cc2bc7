package db

// Generic volume groups: the group row with the volume types it may hold, its members
// (volumes.group_id), and every change of its status as one conditional UPDATE, with the
// groups quota and the outbox rows in the same transaction.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

const groupColumns = `g.id, g.project_id, g.user_id, g.name, g.description, g.availability_zone, g.host,
	g.group_type_id, g.status, g.group_snapshot_id, g.source_group_id, g.replication_status,
	g.created_at, g.updated_at, g.deleted_at`

func scanGroup(sc scanner) (*resource.Group, error) {
	var (
		g                                                    resource.Group
		name, desc, host, snapID, sourceID, replicationState sql.NullString
		created, updated, deleted                            nullTime
	)
	if err := sc.Scan(&g.ID, &g.ProjectID, &g.UserID, &name, &desc, &g.AvailabilityZone, &host,
		&g.GroupTypeID, &g.Status, &snapID, &sourceID, &replicationState, &created, &updated, &deleted); err != nil {
		return nil, err
	}
	g.Name, g.Description, g.Host = name.String, desc.String, host.String
	g.GroupSnapshotID, g.SourceGroupID, g.ReplicationStatus = snapID.String, sourceID.String, replicationState.String
	g.CreatedAt, g.UpdatedAt, g.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	g.VolumeTypeIDs = []string{}
	return &g, nil
}

// queryGroups runs a query of groupColumns and loads the volume types of what it found.
func queryGroups(ctx context.Context, q querier, query string, args ...any) ([]*resource.Group, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []*resource.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, loadGroupVolumeTypes(ctx, q, out)
}

// loadGroupVolumeTypes fills the VolumeTypeIDs of groups, a query per chunk of groups.
func loadGroupVolumeTypes(ctx context.Context, q querier, groups []*resource.Group) error {
	byID := make(map[string]*resource.Group, len(groups))
	ids := make([]string, len(groups))
	for i, g := range groups {
		byID[g.ID], ids[i] = g, g.ID
	}
	for _, c := range chunks(len(ids)) {
		part := ids[c[0]:c[1]]
		rows, err := q.QueryContext(ctx, "SELECT group_id, volume_type_id FROM group_volume_type_mapping WHERE group_id IN ("+
			placeholders(len(part))+") ORDER BY group_id, created_at, volume_type_id", strArgs(part)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var gid, tid string
			if err := rows.Scan(&gid, &tid); err != nil {
				rows.Close()
				return err
			}
			byID[gid].VolumeTypeIDs = append(byID[gid].VolumeTypeIDs, tid)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// CreateGroup inserts group g (creating) with its volume types, charges the project's groups
// quota, inserts members (the volumes of a group made from a source, each charged as a
// volume, with its encryption key id) and writes msgs, in one transaction. A member placed on
// a pool (Host set: the group's pool) claims its size there as ClaimPlacement does, in the
// same transaction: when the pool cannot hold them all (or has no row, or its backend is
// down) nothing is written and the error wraps resource.ErrGroupNoRoom. It fills in ID,
// Status and CreatedAt, and the members' GroupID. A group type or volume type that does not
// exist is a *resource.NotFoundError; over quota a *resource.OverQuotaError.
func (s *Store) CreateGroup(ctx context.Context, g *resource.Group, members []*resource.Volume, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if g.Status == "" {
		g.Status = resource.GroupStatusCreating
	}
	var out []resource.OutboxMessage
	err := s.writeGroup(ctx, g, members, true, func(tx *sql.Tx, now time.Time) error {
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create group %s: %w", g.ID, err)
	}
	return out, nil
}

// CreateGroupInError writes group g and its members as CreateGroup would, but all in error
// and holding no capacity claim, with user message msg, in one transaction: what is left of
// a group made from a source whose pool could not hold it (Cinder's "No valid host to create
// group"), for its owner to see and delete. Quotas are charged as for any volume in error.
func (s *Store) CreateGroupInError(ctx context.Context, g *resource.Group, members []*resource.Volume, msg *resource.Message) error {
	g.Status = resource.GroupStatusError
	for _, v := range members {
		v.Status = resource.StatusError
	}
	err := s.writeGroup(ctx, g, members, false, func(tx *sql.Tx, now time.Time) error {
		if msg == nil {
			return nil
		}
		return insertMessage(ctx, tx, now, msg)
	})
	if err != nil {
		return fmt.Errorf("create group %s in error: %w", g.ID, err)
	}
	return nil
}

// writeGroup is the transaction of CreateGroup and CreateGroupInError: the group, its volume
// types, its quota, its members (claiming their sizes on their pool with claim) and then
// whatever more writes.
func (s *Store) writeGroup(ctx context.Context, g *resource.Group, members []*resource.Volume, claim bool, more func(*sql.Tx, time.Time) error) error {
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	now := s.now()
	g.CreatedAt = now
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.chargeQuota(ctx, tx, quotaChange{ProjectID: g.ProjectID, Groups: 1}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO `groups` (id, project_id, user_id, name, description, availability_zone, host, "+
			`group_type_id, status, group_snapshot_id, source_group_id, replication_status, created_at, deleted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			g.ID, g.ProjectID, g.UserID, nullString(g.Name), nullString(g.Description), g.AvailabilityZone,
			nullString(g.Host), g.GroupTypeID, g.Status, nullString(g.GroupSnapshotID), nullString(g.SourceGroupID),
			nullString(g.ReplicationStatus), dbTime(now))
		switch {
		case err == nil:
		case isDuplicate(err):
			return fmt.Errorf("id in use: %w", resource.ErrConflict)
		case isForeignKey(err):
			return &resource.NotFoundError{Kind: "GroupType", ID: g.GroupTypeID}
		default:
			return err
		}
		for _, t := range g.VolumeTypeIDs {
			if _, err := tx.ExecContext(ctx, "INSERT INTO group_volume_type_mapping (group_id, volume_type_id, created_at) VALUES (?, ?, ?)",
				g.ID, t, dbTime(now)); err != nil {
				if isForeignKey(err) {
					return &resource.NotFoundError{Kind: "VolumeType", ID: t}
				}
				return err
			}
		}
		// Volume rows first, then the pool rows (pools.go's lock order).
		for _, v := range members {
			v.GroupID = g.ID
			if err := s.insertGroupMember(ctx, tx, v, now, claim); err != nil {
				return err
			}
		}
		if claim {
			for _, v := range members {
				if err := claimOnPool(ctx, tx, v); err != nil {
					return fmt.Errorf("%w: %w", resource.ErrGroupNoRoom, err)
				}
			}
		}
		return more(tx, now)
	})
}

// insertGroupMember inserts a member volume of a group made from a source, charged to its
// project's quota as any volume, with its encryption key id; with claim, a member on a pool
// records its size as its claim (claimGroupMember takes it on the pool).
func (s *Store) insertGroupMember(ctx context.Context, tx *sql.Tx, v *resource.Volume, now time.Time, claim bool) error {
	if v.ID == "" {
		v.ID = uuid.NewString()
	}
	if v.Status == "" {
		v.Status = resource.StatusCreating
	}
	if v.AttachStatus == "" {
		v.AttachStatus = resource.AttachDetached
	}
	v.CreatedAt = now
	claimed := 0
	if claim && v.Host != "" {
		claimed = v.Size
	}
	if err := s.chargeQuota(ctx, tx, quotaChange{ProjectID: v.ProjectID, VolumeTypeID: v.VolumeTypeID,
		Volumes: 1, Gigabytes: v.Size, VolumeSize: v.Size}); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO volumes (id, project_id, user_id, display_name,
		display_description, size, status, attach_status, availability_zone, host, volume_type_id,
		bootable, multiattach, created_at, snapshot_id, source_volid, group_id, encryption_key_id, claimed_gb, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		v.ID, v.ProjectID, v.UserID, nullString(v.Name), nullString(v.Description), v.Size, v.Status,
		v.AttachStatus, nullString(v.AvailabilityZone), nullString(v.Host), nullString(v.VolumeTypeID),
		v.Bootable, v.Multiattach, dbTime(now), nullString(v.SnapshotID), nullString(v.SourceVolID), v.GroupID,
		nullString(v.EncryptionKeyID), claimed)
	if isForeignKey(err) {
		return &resource.NotFoundError{Kind: "VolumeType", ID: v.VolumeTypeID}
	}
	return err
}

// claimOnPool claims volume v's size on its pool (its host) as ClaimPlacement does, for a
// volume written with its host (a group's member, an image-volume cache volume): a thick
// request when its type asks for provisioning:type=thick. No room is errNoRoom.
func claimOnPool(ctx context.Context, tx *sql.Tx, v *resource.Volume) error {
	if v.Host == "" {
		return nil
	}
	thinReq := 1
	if v.VolumeTypeID != "" {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM volume_type_extra_specs WHERE volume_type_id = ? AND `key` = ? AND `value` = ?",
			v.VolumeTypeID, "provisioning:type", "thick").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			thinReq = 0
		}
	}
	res, err := tx.ExecContext(ctx, claimSQL, v.Size, v.Host, v.Size, thinReq, v.Size, v.Size, v.Size)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("claim %d GiB of %s for volume %s: %w", v.Size, v.Host, v.ID, errNoRoom)
	}
	return nil
}

// GetGroup returns group id with its VolumeTypeIDs; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetGroup(ctx context.Context, id string) (*resource.Group, error) {
	return getGroup(ctx, s.ro, id)
}

func getGroup(ctx context.Context, q querier, id string) (*resource.Group, error) {
	gs, err := queryGroups(ctx, q, "SELECT "+groupColumns+" FROM `groups` g WHERE g.id = ? AND g.deleted = 0", id)
	if err != nil {
		return nil, fmt.Errorf("get group %s: %w", id, err)
	}
	if len(gs) == 0 {
		return nil, &resource.NotFoundError{Kind: "Group", ID: id}
	}
	return gs[0], nil
}

// groupColumnNames maps the sort and filter keys of a group list to columns.
var groupColumnNames = map[string]string{
	"id": "g.id", "created_at": "g.created_at", "updated_at": "g.updated_at", "project_id": "g.project_id",
	"user_id": "g.user_id", "name": "COALESCE(g.name, '')", "description": "COALESCE(g.description, '')",
	"availability_zone": "g.availability_zone", "status": "g.status", "group_type_id": "g.group_type_id",
	"host": "COALESCE(g.host, '')",
}

// ListGroups returns the groups f selects, in f's order (created_at DESC by default), after
// f.Marker. A marker that names no group of the selection is a *resource.NotFoundError; a
// sort key that is not a column is resource.ErrInvalidState.
func (s *Store) ListGroups(ctx context.Context, f resource.GroupFilter) ([]*resource.Group, error) {
	where, args := []string{"g.deleted = 0"}, []any{}
	if f.ProjectID != "" {
		where, args = append(where, "g.project_id = ?"), append(args, f.ProjectID)
	}
	if f.Name != "" {
		where, args = append(where, "g.name = ?"), append(args, f.Name)
	}
	if f.Status != "" {
		where, args = append(where, "g.status = ?"), append(args, f.Status)
	}
	for _, k := range slices.Sorted(mapKeys(f.Equal)) {
		col, ok := groupColumnNames[k]
		if !ok {
			return nil, fmt.Errorf("filter groups by %q: %w", k, resource.ErrInvalidState)
		}
		where, args = append(where, col+" = ?"), append(args, f.Equal[k])
	}
	sorts := slices.Clone(f.Sort)
	if len(sorts) == 0 {
		sorts = []resource.GroupSort{{Key: "created_at", Desc: true}}
	}
	if !slices.ContainsFunc(sorts, func(k resource.GroupSort) bool { return k.Key == "id" }) {
		sorts = append(sorts, resource.GroupSort{Key: "id", Desc: sorts[0].Desc})
	}
	order := make([]string, len(sorts))
	for i, k := range sorts {
		col, ok := groupColumnNames[k.Key]
		if !ok {
			return nil, fmt.Errorf("sort groups by %q: %w", k.Key, resource.ErrInvalidState)
		}
		order[i] = col + map[bool]string{false: " ASC", true: " DESC"}[k.Desc]
	}
	if f.Marker != "" {
		// The rows after the marker in the list's order: (k1 > m1) or (k1 = m1 and k2 > m2) …
		var mrow []any
		cols := make([]string, len(sorts))
		for i, k := range sorts {
			cols[i] = groupColumnNames[k.Key]
		}
		mq := "SELECT " + strings.Join(cols, ", ") + " FROM `groups` g WHERE g.id = ? AND g.deleted = 0"
		margs := []any{f.Marker}
		if f.ProjectID != "" {
			mq, margs = mq+" AND g.project_id = ?", append(margs, f.ProjectID)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		err := s.ro.QueryRowContext(ctx, mq, margs...).Scan(ptrs...)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &resource.NotFoundError{Kind: "Marker", ID: f.Marker}
		}
		if err != nil {
			return nil, fmt.Errorf("list groups: marker: %w", err)
		}
		mrow = vals
		var ors []string
		for i, k := range sorts {
			var and []string
			for j := 0; j < i; j++ {
				and = append(and, cols[j]+" = ?")
				args = append(args, mrow[j])
			}
			op := " > ?"
			if k.Desc {
				op = " < ?"
			}
			and = append(and, cols[i]+op)
			args = append(args, mrow[i])
			ors = append(ors, "("+strings.Join(and, " AND ")+")")
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	query := "SELECT " + groupColumns + " FROM `groups` g WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + strings.Join(order, ", ")
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = 1 << 30
		}
		query, args = query+" LIMIT ? OFFSET ?", append(args, limit, f.Offset)
	}
	gs, err := queryGroups(ctx, s.ro, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ListGroupVolumes returns the volumes (not deleted) of group groupID, oldest first.
func (s *Store) ListGroupVolumes(ctx context.Context, groupID string) ([]*resource.Volume, error) {
	vols, err := queryVolumes(ctx, s.ro, volumeSelect+" WHERE v.deleted = 0 AND v.group_id = ? ORDER BY v.created_at, v.id", groupID)
	if err != nil {
		return nil, fmt.Errorf("list volumes of group %s: %w", groupID, err)
	}
	return vols, nil
}

// GroupVolumeIDs returns the ids of the volumes (not deleted) of each of groupIDs.
func (s *Store) GroupVolumeIDs(ctx context.Context, groupIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range chunks(len(groupIDs)) {
		part := groupIDs[c[0]:c[1]]
		rows, err := s.ro.QueryContext(ctx, "SELECT group_id, id FROM volumes WHERE deleted = 0 AND group_id IN ("+
			placeholders(len(part))+") ORDER BY created_at, id", strArgs(part)...)
		if err != nil {
			return nil, fmt.Errorf("list volumes of groups: %w", err)
		}
		for rows.Next() {
			var g, v string
			if err := rows.Scan(&g, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[g] = append(out[g], v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateGroup sets the name and description of group id (nil: unchanged) and returns it.
// As Cinder's group_api.update of name or description only, the group becomes available,
// whatever its status was (Cinder's conditional_update there expects nothing).
func (s *Store) UpdateGroup(ctx context.Context, id string, name, description *string) (*resource.Group, error) {
	set, args := []string{"status = ?", "updated_at = ?"}, []any{resource.GroupStatusAvailable, dbTime(s.now())}
	if name != nil {
		set, args = append(set, "name = ?"), append(args, nullString(*name))
	}
	if description != nil {
		set, args = append(set, "description = ?"), append(args, nullString(*description))
	}
	res, err := s.db.ExecContext(ctx, "UPDATE `groups` SET "+strings.Join(set, ", ")+" WHERE id = ? AND deleted = 0", append(args, id)...)
	if err != nil {
		return nil, fmt.Errorf("update group %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, &resource.NotFoundError{Kind: "Group", ID: id}
	}
	return s.GetGroup(ctx, id)
}

// StartGroupUpdate moves group id from available to updating, with its new name and
// description (nil: unchanged) and msgs (the update_group cast), in one transaction.
func (s *Store) StartGroupUpdate(ctx context.Context, id string, name, description *string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, args := []string{"status = ?", "updated_at = ?"}, []any{resource.GroupStatusUpdating, dbTime(now)}
		if name != nil {
			set, args = append(set, "name = ?"), append(args, nullString(*name))
		}
		if description != nil {
			set, args = append(set, "description = ?"), append(args, nullString(*description))
		}
		from := []string{resource.GroupStatusAvailable}
		if err := conditionalGroup(ctx, tx, id, from, "UPDATE `groups` SET "+strings.Join(set, ", ")+
			" WHERE id = ? AND deleted = 0 AND status = ?", append(args, id, resource.GroupStatusAvailable)...); err != nil {
			return err
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start update of group %s: %w", id, err)
	}
	return out, nil
}

// FinishGroupUpdate applies a group update the volume service carried out: the volumes of
// add join the group (those still in no group, in a status a volume may join in), those of
// remove leave it, and the group goes from updating to available, in one transaction. It
// returns how many volumes joined and left.
func (s *Store) FinishGroupUpdate(ctx context.Context, id string, add, remove []string) (added, removed int, err error) {
	now := dbTime(s.now())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		added, removed = 0, 0
		if err := conditionalGroup(ctx, tx, id, []string{resource.GroupStatusUpdating},
			"UPDATE `groups` SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.GroupStatusAvailable, now, id, resource.GroupStatusUpdating); err != nil {
			return err
		}
		if len(add) > 0 {
			args := append([]any{id, now}, strArgs(add)...)
			args = append(args, strArgs(resource.GroupAddVolumeStatuses)...)
			res, err := tx.ExecContext(ctx, "UPDATE volumes SET group_id = ?, updated_at = ? WHERE deleted = 0 AND group_id IS NULL AND id IN ("+
				placeholders(len(add))+") AND status IN ("+placeholders(len(resource.GroupAddVolumeStatuses))+")", args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			added = int(n)
		}
		if len(remove) > 0 {
			args := append([]any{now, id}, strArgs(remove)...)
			res, err := tx.ExecContext(ctx, "UPDATE volumes SET group_id = NULL, updated_at = ? WHERE deleted = 0 AND group_id = ? AND id IN ("+
				placeholders(len(remove))+")", args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			removed = int(n)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("finish update of group %s: %w", id, err)
	}
	return added, removed, nil
}

// TransitionGroup moves group id from one of the statuses from to status with one
// conditional UPDATE and writes msg (a user message, when non-nil) and msgs in the same
// transaction if, and only if, it won. A missing group is a *resource.NotFoundError, one in
// another status a *resource.InvalidStateError.
func (s *Store) TransitionGroup(ctx context.Context, id string, from []string, status string, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(from) == 0 {
		return nil, fmt.Errorf("transition group %s: no status to move from", id)
	}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := conditionalGroup(ctx, tx, id, from,
			"UPDATE `groups` SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status IN ("+placeholders(len(from))+")",
			append([]any{status, dbTime(now), id}, strArgs(from)...)...); err != nil {
			return err
		}
		if msg != nil {
			if err := insertMessage(ctx, tx, now, msg); err != nil {
				return err
			}
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group %s to %s: %w", id, status, err)
	}
	return out, nil
}

// FailGroupCreate moves group id from creating to error with msg (a user message, when
// non-nil), and its members still creating to error, each giving its capacity claim back
// to its pool, in one transaction: a group whose backend could not make it leaves nothing
// creating, nor any capacity held for storage that does not exist (Cinder's create_group
// failure sets the group and its volumes to error). Errors are those of TransitionGroup.
func (s *Store) FailGroupCreate(ctx context.Context, id string, msg *resource.Message) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		from := []string{resource.GroupStatusCreating}
		if err := conditionalGroup(ctx, tx, id, from,
			"UPDATE `groups` SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.GroupStatusError, dbTime(now), id, resource.GroupStatusCreating); err != nil {
			return err
		}
		// Volume rows first, then the pools in name order (pools.go's lock order).
		rows, err := tx.QueryContext(ctx, "SELECT host, SUM(claimed_gb) FROM volumes WHERE group_id = ? AND deleted = 0 AND status = ? AND host IS NOT NULL"+
			" GROUP BY host ORDER BY host", id, resource.StatusCreating)
		if err != nil {
			return err
		}
		type held struct {
			host  string
			claim int
		}
		var claims []held
		for rows.Next() {
			var h held
			if err := rows.Scan(&h.host, &h.claim); err != nil {
				rows.Close()
				return err
			}
			claims = append(claims, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE volumes SET status = ?, claimed_gb = 0, updated_at = ? WHERE group_id = ? AND deleted = 0 AND status = ?",
			resource.StatusError, dbTime(now), id, resource.StatusCreating); err != nil {
			return err
		}
		for _, h := range claims {
			if err := releaseClaim(ctx, tx, h.host, h.claim); err != nil {
				return err
			}
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("group %s to error: %w", id, err)
	}
	return nil
}

// PlaceGroup records the backend (host@backend#pool) the scheduler chose for group id, which
// must still be creating with no host, and writes msgs, in one transaction: a duplicate
// create_group cannot place a group twice.
func (s *Store) PlaceGroup(ctx context.Context, id, host string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := conditionalGroup(ctx, tx, id, []string{resource.GroupStatusCreating},
			"UPDATE `groups` SET host = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ? AND host IS NULL",
			host, dbTime(now), id, resource.GroupStatusCreating); err != nil {
			return err
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("place group %s on %s: %w", id, host, err)
	}
	return out, nil
}

// ResetGroupStatus sets the status of group id, whatever it was (an administrator's
// reset_status).
func (s *Store) ResetGroupStatus(ctx context.Context, id, status string) error {
	res, err := s.db.ExecContext(ctx, "UPDATE `groups` SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0",
		status, dbTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("reset status of group %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &resource.NotFoundError{Kind: "Group", ID: id}
	}
	return nil
}

// StartGroupDelete moves group id to deleting with msgs (the delete_group cast), in one
// transaction, after Cinder's checks made on the rows it locks: no group snapshot of it, no
// group being created from it, and either no volumes (the group available or error) or, with
// deleteVolumes, none attached or with snapshots; its volumes then go to deleting too. A
// refusal is a *resource.GroupDeleteError with Cinder's sentence.
func (s *Store) StartGroupDelete(ctx context.Context, id string, deleteVolumes bool, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, "SELECT status FROM `groups` WHERE id = ? AND deleted = 0"+s.forUpdate(), id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Group", ID: id}
		}
		if err != nil {
			return err
		}
		if !deleteVolumes && status != resource.GroupStatusAvailable && status != resource.GroupStatusError {
			return &resource.GroupDeleteError{Reason: "Group status must be available or error, but current status is: " + status}
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM group_snapshots WHERE group_id = ? AND deleted = 0", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &resource.GroupDeleteError{Reason: "Group has existing snapshots."}
		}
		var vols, attached, withSnaps int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN v.attach_status = 'attached' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM snapshots s WHERE s.volume_id = v.id AND s.deleted = 0) THEN 1 ELSE 0 END), 0)
			FROM volumes v WHERE v.group_id = ? AND v.deleted = 0`, id).Scan(&vols, &attached, &withSnaps); err != nil {
			return err
		}
		switch {
		case vols > 0 && !deleteVolumes:
			return &resource.GroupDeleteError{Reason: fmt.Sprintf("Group %s still contains volumes. The delete-volumes flag is required to delete it.", id)}
		case attached > 0:
			return &resource.GroupDeleteError{Reason: fmt.Sprintf("Volume in group %s is attached. Need to detach first.", id)}
		case withSnaps > 0:
			return &resource.GroupDeleteError{Reason: "Volume in group still has dependent snapshots."}
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM `groups` WHERE source_group_id = ? AND deleted = 0 AND status = ?",
			id, resource.GroupStatusCreating).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &resource.GroupDeleteError{Reason: fmt.Sprintf("Cannot delete group %s. Group status must be available or error and must not have dependent group snapshots, and it cannot be the source for an ongoing group or group snapshot creation.", id)}
		}
		if vols > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE group_id = ? AND deleted = 0",
				resource.StatusDeleting, dbTime(now), id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE `groups` SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0",
			resource.GroupStatusDeleting, dbTime(now), id); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start delete of group %s: %w", id, err)
	}
	return out, nil
}

// DestroyGroup soft-deletes group id if its status is one of from (any when from is empty)
// and, with onlyUnplaced, only while it has no host; it gives the group's quota back in the
// same transaction. A group that still has volumes is not destroyed (a
// *resource.GroupDeleteError).
func (s *Store) DestroyGroup(ctx context.Context, id string, from []string, onlyUnplaced bool) error {
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var project string
		err := tx.QueryRowContext(ctx, "SELECT project_id FROM `groups` WHERE id = ? AND deleted = 0"+s.forUpdate(), id).Scan(&project)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Group", ID: id}
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM volumes WHERE group_id = ? AND deleted = 0", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &resource.GroupDeleteError{Reason: fmt.Sprintf("Group %s still contains volumes.", id)}
		}
		query := "UPDATE `groups` SET status = ?, deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0"
		args := []any{resource.GroupStatusDeleted, now, now, id}
		if len(from) > 0 {
			query, args = query+" AND status IN ("+placeholders(len(from))+")", append(args, strArgs(from)...)
		}
		if onlyUnplaced {
			query += " AND host IS NULL"
		}
		if err := conditionalGroup(ctx, tx, id, from, query, args...); err != nil {
			return err
		}
		return s.chargeQuota(ctx, tx, quotaChange{ProjectID: project, Groups: -1})
	})
	if err != nil {
		return fmt.Errorf("destroy group %s: %w", id, err)
	}
	return nil
}

// ListGroupsByHost returns the groups of a backend (host is backendHost or one of its pools)
// with a status in statuses, oldest first.
func (s *Store) ListGroupsByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Group, error) {
	query := "SELECT " + groupColumns + " FROM `groups` g WHERE g.deleted = 0 AND (g.host = ? OR (g.host >= ? AND g.host < ?))"
	args := []any{backendHost, backendHost + "#", backendHost + "$"}
	if len(statuses) > 0 {
		query, args = query+" AND g.status IN ("+placeholders(len(statuses))+")", append(args, strArgs(statuses)...)
	}
	gs, err := queryGroups(ctx, s.ro, query+" ORDER BY g.created_at, g.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list groups of %s: %w", backendHost, err)
	}
	return gs, nil
}

// ListGroupsInStatus returns the groups with a status in statuses unchanged since
// updatedBefore (zero: any), oldest first: what a recovery sweep looks for.
func (s *Store) ListGroupsInStatus(ctx context.Context, statuses []string, updatedBefore time.Time) ([]*resource.Group, error) {
	query, args := "SELECT "+groupColumns+" FROM `groups` g WHERE g.deleted = 0 AND g.status IN ("+placeholders(len(statuses))+")", strArgs(statuses)
	if !updatedBefore.IsZero() {
		t := dbTime(updatedBefore)
		query += " AND (g.updated_at < ? OR (g.updated_at IS NULL AND g.created_at < ?))"
		args = append(args, t, t)
	}
	gs, err := queryGroups(ctx, s.ro, query+" ORDER BY g.created_at, g.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list groups in %v: %w", statuses, err)
	}
	return gs, nil
}

// conditionalGroup runs a conditional UPDATE of group id; when it changed no row, it reads
// the group (inside the same transaction) to say why.
func conditionalGroup(ctx context.Context, q querier, id string, from []string, query string, args ...any) error {
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
	var host sql.NullString
	switch err := q.QueryRowContext(ctx, "SELECT status, host FROM `groups` WHERE id = ? AND deleted = 0", id).Scan(&status, &host); {
	case errors.Is(err, sql.ErrNoRows):
		return &resource.NotFoundError{Kind: "Group", ID: id}
	case err != nil:
		return err
	}
	return &resource.InvalidStateError{Kind: "Group", ID: id, Status: status, Want: slices.Clone(from)}
}

// GroupSnapshotSource returns group snapshot id and the member snapshots that make it (by
// snapshots.group_snapshot_id), for a group created from it. A missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GroupSnapshotSource(ctx context.Context, id string) (*resource.GroupSnapshot, []*resource.Snapshot, error) {
	var (
		gs                        resource.GroupSnapshot
		name, desc                sql.NullString
		created, updated, deleted nullTime
	)
	err := s.ro.QueryRowContext(ctx, `SELECT id, group_id, project_id, user_id, name, description, status, group_type_id,
		created_at, updated_at, deleted_at FROM group_snapshots WHERE id = ? AND deleted = 0`, id).
		Scan(&gs.ID, &gs.GroupID, &gs.ProjectID, &gs.UserID, &name, &desc, &gs.Status, &gs.GroupTypeID, &created, &updated, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, &resource.NotFoundError{Kind: "GroupSnapshot", ID: id}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get group snapshot %s: %w", id, err)
	}
	gs.Name, gs.Description = name.String, desc.String
	gs.CreatedAt, gs.UpdatedAt, gs.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	snaps, err := querySnapshots(ctx, s.ro, "SELECT "+snapshotColumns+" FROM snapshots s WHERE s.group_snapshot_id = ? AND s.deleted = 0 ORDER BY s.created_at, s.id", id)
	if err != nil {
		return nil, nil, fmt.Errorf("get snapshots of group snapshot %s: %w", id, err)
	}
	return &gs, snaps, nil
}
