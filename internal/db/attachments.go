package db

// Volume attachments (Cinder's volume_attachment): every step of an attachment is one
// conditional UPDATE of its row, in one transaction with a conditional UPDATE of its volume
// (which also takes the volume's row lock on MariaDB, so that steps on one volume
// serialise) and the volume's status and attach_status settled from the attachments left:
//
//	any attached → in-use/attached, else any attaching → attaching, else any detaching →
//	detaching, else any reserved → reserved, else available/detached.
//
// A reservation of a volume that is not multiattach only succeeds from available with no
// live attachment, in the UPDATE that moves the volume to reserved: of two concurrent
// reservations, exactly one wins.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

const attachmentColumns = `a.id, a.volume_id, a.project_id, a.instance_uuid, a.attached_host, a.mountpoint,
	a.attach_status, a.attach_mode, a.connector, a.connection_info, a.attach_time, a.detach_time,
	a.created_at, a.updated_at`

func scanAttachment(sc interface{ Scan(...any) error }) (*resource.Attachment, error) {
	var (
		a                                        resource.Attachment
		instance, host, mount, mode, conn, info  sql.NullString
		attachTime, detachTime, created, updated nullTime
	)
	if err := sc.Scan(&a.ID, &a.VolumeID, &a.ProjectID, &instance, &host, &mount, &a.AttachStatus, &mode,
		&conn, &info, &attachTime, &detachTime, &created, &updated); err != nil {
		return nil, err
	}
	a.InstanceUUID, a.AttachedHost, a.Mountpoint, a.AttachMode = instance.String, host.String, mount.String, mode.String
	if conn.String != "" {
		if err := json.Unmarshal([]byte(conn.String), &a.Connector); err != nil {
			return nil, fmt.Errorf("decode connector of attachment %s: %w", a.ID, err)
		}
	}
	if info.String != "" {
		if err := json.Unmarshal([]byte(info.String), &a.ConnectionInfo); err != nil {
			return nil, fmt.Errorf("decode connection info of attachment %s: %w", a.ID, err)
		}
	}
	a.AttachTime, a.DetachTime, a.UpdatedAt = attachTime.Ptr(), detachTime.Ptr(), updated.Ptr()
	a.CreatedAt = created.Time
	return &a, nil
}

// jsonText is m as JSON text, NULL when m is nil.
func jsonText(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ReserveAttachment creates attachment a (a.ID, a.VolumeID, a.ProjectID set by the caller;
// a.AttachStatus reserved, or attaching for the legacy os-reserve) and moves its volume to
// reserved (or attaching), in one transaction. A volume that is not multiattach must be
// available with no live attachment; a multiattach one may also be reserved, attaching or
// in-use. Otherwise the answer is a *resource.InvalidStateError (nothing is written).
func (s *Store) ReserveAttachment(ctx context.Context, a *resource.Attachment) error {
	if a.AttachStatus == "" {
		a.AttachStatus = resource.AttachReserved
	}
	now := s.now()
	a.CreatedAt = now
	conn, err := jsonText(a.Connector)
	if err != nil {
		return fmt.Errorf("reserve volume %s: %w", a.VolumeID, err)
	}
	multi := []string{resource.StatusReserved, resource.StatusAttaching, resource.StatusInUse}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.conditional(ctx, tx, a.VolumeID, append([]string{resource.StatusAvailable}, multi...),
			`UPDATE volumes SET updated_at = ? WHERE id = ? AND deleted = 0 AND (
				(status = ? AND NOT EXISTS (SELECT 1 FROM volume_attachment x WHERE x.volume_id = volumes.id AND x.deleted = 0))
				OR (multiattach = 1 AND status IN (`+placeholders(len(multi)+1)+`)))`,
			append([]any{dbTime(now), a.VolumeID, resource.StatusAvailable, resource.StatusAvailable}, strArgs(multi)...)...)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO volume_attachment (id, volume_id, project_id, instance_uuid,
			attached_host, mountpoint, attach_status, attach_mode, connector, created_at, updated_at, deleted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			a.ID, a.VolumeID, a.ProjectID, nullStr(a.InstanceUUID), nullStr(a.AttachedHost), nullStr(a.Mountpoint),
			a.AttachStatus, nullStr(a.AttachMode), conn, dbTime(now), dbTime(now)); err != nil {
			return err
		}
		return s.settleVolume(ctx, tx, a.VolumeID, now)
	})
	if err != nil {
		return fmt.Errorf("reserve volume %s: %w", a.VolumeID, err)
	}
	return nil
}

// settleVolume sets volume id's status and attach_status from its live attachments (see the
// file's comment), and drops its attached_mode admin metadata when none is left.
func (s *Store) settleVolume(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	has := func(status string) string {
		return "EXISTS (SELECT 1 FROM volume_attachment x WHERE x.volume_id = volumes.id AND x.deleted = 0 AND x.attach_status = '" + status + "')"
	}
	_, err := tx.ExecContext(ctx, `UPDATE volumes SET updated_at = ?,
		status = CASE WHEN `+has(resource.AttachAttached)+` THEN ?
			WHEN `+has(resource.AttachAttaching)+` THEN ?
			WHEN `+has(resource.AttachDetaching)+` THEN ?
			WHEN `+has(resource.AttachReserved)+` THEN ?
			ELSE ? END,
		attach_status = CASE WHEN `+has(resource.AttachAttached)+` THEN ?
			WHEN `+has(resource.AttachAttaching)+` THEN ?
			WHEN `+has(resource.AttachDetaching)+` THEN ?
			ELSE ? END
		WHERE id = ? AND deleted = 0`,
		dbTime(now),
		resource.StatusInUse, resource.StatusAttaching, resource.StatusDetaching, resource.StatusReserved, resource.StatusAvailable,
		resource.AttachAttached, resource.AttachAttaching, resource.AttachDetaching, resource.AttachDetached,
		id)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM volume_admin_metadata WHERE volume_id = ? AND `key` = 'attached_mode' AND NOT EXISTS (SELECT 1 FROM volume_attachment x WHERE x.volume_id = ? AND x.deleted = 0)", id, id)
	return err
}

// stepAttachment runs one step of attachment id in a transaction: the volume must be in one
// of volumeFrom (any status when empty), the attachment in one of from; the attachment's
// status becomes to with sets applied, and the volume is settled. It returns the attachment
// as it is after the step.
func (s *Store) stepAttachment(ctx context.Context, id string, volumeFrom, from []string, to string, sets string, setArgs ...any) (*resource.Attachment, error) {
	now := s.now()
	var out *resource.Attachment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := scanAttachment(tx.QueryRowContext(ctx, "SELECT "+attachmentColumns+" FROM volume_attachment a WHERE a.id = ? AND a.deleted = 0", id))
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "VolumeAttachment", ID: id}
		}
		if err != nil {
			return err
		}
		if err := s.claimVolume(ctx, tx, a.VolumeID, resource.VolumeStatusRule{Only: volumeFrom}, now, ""); err != nil {
			return err
		}
		query := "UPDATE volume_attachment SET attach_status = ?, updated_at = ?" + sets +
			" WHERE id = ? AND deleted = 0 AND attach_status IN (" + placeholders(len(from)) + ")"
		args := append(append([]any{to, dbTime(now)}, setArgs...), id)
		res, err := tx.ExecContext(ctx, query, append(args, strArgs(from)...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var status string
			if err := tx.QueryRowContext(ctx, "SELECT attach_status FROM volume_attachment WHERE id = ?", id).Scan(&status); err != nil {
				return err
			}
			return &resource.InvalidStateError{Kind: "VolumeAttachment", ID: id, Status: status, Want: slices.Clone(from)}
		}
		out, err = scanAttachment(tx.QueryRowContext(ctx, "SELECT "+attachmentColumns+" FROM volume_attachment a WHERE a.id = ?", id))
		if err != nil {
			return err
		}
		if to == resource.AttachAttached && out.AttachMode != "" {
			if err := writeMetadata(ctx, tx, "volume_admin_metadata", a.VolumeID, map[string]string{"attached_mode": out.AttachMode}, now); err != nil {
				return err
			}
		}
		return s.settleVolume(ctx, tx, a.VolumeID, now)
	})
	if err != nil {
		return nil, fmt.Errorf("%s attachment %s: %w", to, id, err)
	}
	return out, nil
}

// ConnectAttachment records the connection of attachment id (reserved, attaching or
// error_attaching): connector, connection info, mode and host; the attachment becomes
// attaching and its volume attaching unless another attachment keeps it in-use.
func (s *Store) ConnectAttachment(ctx context.Context, id string, c resource.AttachmentConnection) (*resource.Attachment, error) {
	conn, err := jsonText(c.Connector)
	if err != nil {
		return nil, err
	}
	info, err := jsonText(c.ConnectionInfo)
	if err != nil {
		return nil, err
	}
	return s.stepAttachment(ctx, id, resource.AttachableStatuses,
		[]string{resource.AttachReserved, resource.AttachAttaching, resource.AttachErrorAttaching}, resource.AttachAttaching,
		", connector = ?, connection_info = ?, attach_mode = COALESCE(?, attach_mode), attached_host = COALESCE(?, attached_host)",
		conn, info, nullStr(c.Mode), nullStr(c.Host))
}

// MarkAttached ends the attach of attachment id (reserved or attaching): it becomes attached
// with attach_time now, its volume in-use/attached, and the volume's admin metadata
// attached_mode its mode. Cinder's os-complete and os-attach.
func (s *Store) MarkAttached(ctx context.Context, id string, u resource.AttachmentAttach) (*resource.Attachment, error) {
	return s.stepAttachment(ctx, id, resource.AttachableStatuses,
		[]string{resource.AttachReserved, resource.AttachAttaching}, resource.AttachAttached,
		", attach_time = ?, instance_uuid = COALESCE(?, instance_uuid), attached_host = COALESCE(?, attached_host), mountpoint = COALESCE(?, mountpoint), attach_mode = COALESCE(?, attach_mode)",
		dbTime(s.now()), nullStr(u.InstanceUUID), nullStr(u.Host), nullStr(u.Mountpoint), nullStr(u.Mode))
}

// BeginDetachAttachment moves attachment id from one of from to detaching (its volume to
// detaching unless another attachment keeps it in-use): the step before its connection is
// terminated. volumeFrom empty allows any volume status (an admin's force detach).
func (s *Store) BeginDetachAttachment(ctx context.Context, id string, volumeFrom, from []string) (*resource.Attachment, error) {
	return s.stepAttachment(ctx, id, volumeFrom, from, resource.AttachDetaching, "")
}

// DetachAttachment ends attachment id (in one of from): it becomes detached and is deleted,
// with detach_time now, and its volume is settled (available/detached when it was the last).
// volumeFrom empty allows any volume status.
func (s *Store) DetachAttachment(ctx context.Context, id string, volumeFrom, from []string) (*resource.Attachment, error) {
	now := dbTime(s.now())
	return s.stepAttachment(ctx, id, volumeFrom, from, resource.AttachDetached,
		", detach_time = ?, deleted = 1, deleted_at = ?", now, now)
}

// SettleVolume sets volume id's status from its attachments, if the volume is in one of from
// (resource.AttachableStatuses when empty): what the attachment sweeper does to a volume left
// reserved, attaching or detaching with no attachment to explain it.
func (s *Store) SettleVolume(ctx context.Context, id string, from []string) error {
	if len(from) == 0 {
		from = resource.AttachableStatuses
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claimVolume(ctx, tx, id, resource.VolumeStatusRule{Only: from}, now, ""); err != nil {
			return err
		}
		return s.settleVolume(ctx, tx, id, now)
	})
	if err != nil {
		return fmt.Errorf("settle volume %s: %w", id, err)
	}
	return nil
}

// GetAttachment returns live attachment id, or a *resource.NotFoundError.
func (s *Store) GetAttachment(ctx context.Context, id string) (*resource.Attachment, error) {
	a, err := scanAttachment(s.ro.QueryRowContext(ctx, "SELECT "+attachmentColumns+" FROM volume_attachment a WHERE a.id = ? AND a.deleted = 0", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "VolumeAttachment", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("get attachment %s: %w", id, err)
	}
	return a, nil
}

// attachmentSortKeys are the columns a list may sort on.
var attachmentSortKeys = []string{"id", "created_at", "updated_at", "attach_status", "volume_id", "instance_uuid"}

// ListAttachments returns the live attachments f selects. A marker that names no live
// attachment (of f.ProjectID, when set) is a *resource.NotFoundError of kind "Marker".
func (s *Store) ListAttachments(ctx context.Context, f resource.AttachmentFilter) ([]*resource.Attachment, error) {
	key := f.SortKey
	if key == "" {
		key, f.SortDesc = "created_at", true
	}
	if !slices.Contains(attachmentSortKeys, key) {
		return nil, fmt.Errorf("list attachments: sort key %q: %w", key, resource.ErrInvalidState)
	}
	dir, cmp := "ASC", ">"
	if f.SortDesc {
		dir, cmp = "DESC", "<"
	}
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	add("a.deleted = ?", 0)
	if f.ProjectID != "" {
		add("a.project_id = ?", f.ProjectID)
	}
	if f.VolumeID != "" {
		add("a.volume_id = ?", f.VolumeID)
	}
	if f.InstanceUUID != "" {
		add("a.instance_uuid = ?", f.InstanceUUID)
	}
	if f.AttachStatus != "" {
		add("a.attach_status = ?", f.AttachStatus)
	}
	if f.Marker != "" {
		// The marker is looked up where the list looks, so that another project's
		// attachment answers as an id that names nothing.
		q, qargs := "SELECT "+key+" FROM volume_attachment WHERE id = ? AND deleted = 0", []any{f.Marker}
		if f.ProjectID != "" {
			q, qargs = q+" AND project_id = ?", append(qargs, f.ProjectID)
		}
		var mk any
		err := s.ro.QueryRowContext(ctx, q, qargs...).Scan(&mk)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &resource.NotFoundError{Kind: "Marker", ID: f.Marker}
		}
		if err != nil {
			return nil, fmt.Errorf("list attachments: read marker: %w", err)
		}
		where = append(where, fmt.Sprintf("(a.%s %s ? OR (a.%s = ? AND a.id %s ?))", key, cmp, key, cmp))
		args = append(args, mk, mk, f.Marker)
	}
	query := "SELECT " + attachmentColumns + " FROM volume_attachment a WHERE " + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY a.%s %s, a.id %s", key, dir, dir)
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = 1 << 30
		}
		query += fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(f.Offset, 0))
	}
	return s.queryAttachments(ctx, s.ro, query, args...)
}

func (s *Store) queryAttachments(ctx context.Context, q querier, query string, args ...any) ([]*resource.Attachment, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	defer rows.Close()
	var out []*resource.Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, fmt.Errorf("list attachments: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	return out, nil
}

// VolumesAttachments returns the live attachments of volumes ids in the given statuses (any
// when empty), by volume id, oldest first.
func (s *Store) VolumesAttachments(ctx context.Context, ids []string, statuses ...string) (map[string][]*resource.Attachment, error) {
	out := map[string][]*resource.Attachment{}
	for _, c := range chunks(len(ids)) {
		part := strArgs(ids[c[0]:c[1]])
		query := "SELECT " + attachmentColumns + " FROM volume_attachment a WHERE a.deleted = 0 AND a.volume_id IN (" + placeholders(len(part)) + ")"
		if len(statuses) > 0 {
			query, part = query+" AND a.attach_status IN ("+placeholders(len(statuses))+")", append(part, strArgs(statuses)...)
		}
		list, err := s.queryAttachments(ctx, s.ro, query+" ORDER BY a.created_at, a.id", part...)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			out[a.VolumeID] = append(out[a.VolumeID], a)
		}
	}
	return out, nil
}

// ListStaleAttachments returns the live attachments in one of statuses not updated since
// before (by created_at when never updated), oldest first: what the attachment sweeper
// resolves.
func (s *Store) ListStaleAttachments(ctx context.Context, statuses []string, before time.Time) ([]*resource.Attachment, error) {
	return s.queryAttachments(ctx, s.ro, "SELECT "+attachmentColumns+" FROM volume_attachment a WHERE a.deleted = 0 AND a.attach_status IN ("+
		placeholders(len(statuses))+") AND COALESCE(a.updated_at, a.created_at) < ? ORDER BY a.created_at, a.id",
		append(strArgs(statuses), dbTime(before))...)
}
