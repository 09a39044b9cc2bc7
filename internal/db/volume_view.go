package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// volumeViewSelect reads one volume with everything its detailed view shows, in one
// statement: a row per user, visible admin or image metadata item and per attached
// attachment, told apart by kind (one row with NULLs when there is none of them). GET
// /volumes/{id} is the hottest read; this is its only round trip to the database. No ORDER
// BY: on MariaDB it costs a temporary table and a sort; attachments are put in order in Go.
var volumeViewSelect = "SELECT " + volumeColumns + `, x.kind, x.k, x.val, x.instance_uuid, x.attached_host, x.mountpoint, x.attach_time, x.at
FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id
LEFT JOIN (
  SELECT a.volume_id, 'a' AS kind, a.id AS k, a.attach_mode AS val, a.instance_uuid, a.attached_host, a.mountpoint, a.attach_time, a.created_at AS at
    FROM volume_attachment a WHERE a.volume_id = ? AND a.deleted = 0 AND a.attach_status = '` + resource.AttachAttached + `'
  UNION ALL SELECT volume_id, 'm', ` + "`key`, `value`" + `, NULL, NULL, NULL, NULL, NULL FROM volume_metadata WHERE volume_id = ?
  UNION ALL SELECT volume_id, 'd', ` + "`key`, `value`" + `, NULL, NULL, NULL, NULL, NULL FROM volume_admin_metadata
    WHERE volume_id = ? AND ` + "`key`" + ` IN (` + placeholders(len(resource.VisibleAdminMetadataKeys)) + `)
  UNION ALL SELECT volume_id, 'g', ` + "`key`, `value`" + `, NULL, NULL, NULL, NULL, NULL FROM volume_glance_metadata WHERE volume_id = ?
) x ON x.volume_id = v.id
WHERE v.id = ? AND v.deleted = 0`

// GetVolumeForView returns volume id, as GetVolume does, with View filled: its visible admin
// metadata, image metadata and attached attachments, all read in one statement.
func (s *Store) GetVolumeForView(ctx context.Context, id string) (*resource.Volume, error) {
	args := []any{id, id, id}
	args = append(args, strArgs(resource.VisibleAdminMetadataKeys)...)
	args = append(args, id, id)
	rows, err := s.ro.QueryContext(ctx, volumeViewSelect, args...)
	if err != nil {
		return nil, fmt.Errorf("get volume %s: %w", id, err)
	}
	defer rows.Close()
	var v *resource.Volume
	for rows.Next() {
		var (
			kind, key, val        sql.NullString
			instance, host, mount sql.NullString
			attachTime, created   nullTime
		)
		row, err := scanVolume(rows, &kind, &key, &val, &instance, &host, &mount, &attachTime, &created)
		if err != nil {
			return nil, fmt.Errorf("get volume %s: %w", id, err)
		}
		if v == nil {
			v = row
			v.Metadata = map[string]string{}
			v.View = &resource.VolumeViewData{AdminMetadata: map[string]string{}, GlanceMetadata: map[string]string{}}
		}
		switch kind.String {
		case "m":
			v.Metadata[key.String] = val.String
		case "d":
			v.View.AdminMetadata[key.String] = val.String
		case "g":
			v.View.GlanceMetadata[key.String] = val.String
		case "a":
			v.View.Attachments = append(v.View.Attachments, &resource.Attachment{
				ID: key.String, VolumeID: v.ID, ProjectID: v.ProjectID, AttachStatus: resource.AttachAttached,
				AttachMode: val.String, InstanceUUID: instance.String, AttachedHost: host.String,
				Mountpoint: mount.String, AttachTime: attachTime.Ptr(), CreatedAt: created.Time,
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get volume %s: %w", id, err)
	}
	if v == nil {
		return nil, &resource.NotFoundError{Kind: "Volume", ID: id}
	}
	// Oldest first, as VolumesAttachments lists them.
	slices.SortFunc(v.View.Attachments, func(a, b *resource.Attachment) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return v, nil
}
