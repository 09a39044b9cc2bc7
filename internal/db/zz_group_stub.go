package db

// H3's copies of the two group reads that H2 owns in internal/db/groups.go, so that group
// snapshots build and test before the merge. Deleted at merge: H2's versions replace them.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// GetGroup returns group id with its volume types; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetGroup(ctx context.Context, id string) (*resource.Group, error) {
	var (
		g                                   resource.Group
		name, desc, host, gsID, srcID, repl sql.NullString
		created, updated, deleted           nullTime
	)
	err := s.ro.QueryRowContext(ctx, `SELECT id, project_id, user_id, name, description, availability_zone,
		host, group_type_id, status, group_snapshot_id, source_group_id, replication_status,
		created_at, updated_at, deleted_at FROM `+"`groups`"+` WHERE id = ? AND deleted = 0`, id).
		Scan(&g.ID, &g.ProjectID, &g.UserID, &name, &desc, &g.AvailabilityZone, &host, &g.GroupTypeID,
			&g.Status, &gsID, &srcID, &repl, &created, &updated, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "Group", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("get group %s: %w", id, err)
	}
	g.Name, g.Description, g.Host = name.String, desc.String, host.String
	g.GroupSnapshotID, g.SourceGroupID, g.ReplicationStatus = gsID.String, srcID.String, repl.String
	g.CreatedAt, g.UpdatedAt, g.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	rows, err := s.ro.QueryContext(ctx, "SELECT volume_type_id FROM group_volume_type_mapping WHERE group_id = ? ORDER BY volume_type_id", id)
	if err != nil {
		return nil, fmt.Errorf("get group %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("get group %s: %w", id, err)
		}
		g.VolumeTypeIDs = append(g.VolumeTypeIDs, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get group %s: %w", id, err)
	}
	return &g, nil
}

// ListGroupVolumes returns the volumes of group groupID, oldest first.
func (s *Store) ListGroupVolumes(ctx context.Context, groupID string) ([]*resource.Volume, error) {
	vols, err := queryVolumes(ctx, s.ro, volumeSelect+" WHERE v.group_id = ? AND v.deleted = 0 ORDER BY v.created_at, v.id", groupID)
	if err != nil {
		return nil, fmt.Errorf("list volumes of group %s: %w", groupID, err)
	}
	for _, v := range vols {
		v.GroupID = groupID
	}
	return vols, nil
}
