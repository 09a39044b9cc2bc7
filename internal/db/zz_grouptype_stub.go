package db

// A stand-in for H1's group type reads (internal/db/group_types.go), so that groups build
// and test before group types are merged. Deleted at merge: H1's file has the same two
// methods.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// GetGroupType returns group type id with its specs; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetGroupType(ctx context.Context, id string) (*resource.GroupType, error) {
	return s.groupTypeWhere(ctx, "id = ?", id, id)
}

// GetGroupTypeByName returns the group type named name with its specs; a missing or deleted
// one is a *resource.NotFoundError.
func (s *Store) GetGroupTypeByName(ctx context.Context, name string) (*resource.GroupType, error) {
	return s.groupTypeWhere(ctx, "name = ?", name, name)
}

func (s *Store) groupTypeWhere(ctx context.Context, where, arg, what string) (*resource.GroupType, error) {
	var (
		gt                        resource.GroupType
		desc                      sql.NullString
		created, updated, deleted nullTime
	)
	err := s.ro.QueryRowContext(ctx, `SELECT id, name, description, is_public, created_at, updated_at, deleted_at
		FROM group_types WHERE `+where+` AND deleted = 0`, arg).
		Scan(&gt.ID, &gt.Name, &desc, &gt.IsPublic, &created, &updated, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "GroupType", ID: what}
	}
	if err != nil {
		return nil, fmt.Errorf("get group type %s: %w", what, err)
	}
	gt.Description = desc.String
	gt.CreatedAt, gt.UpdatedAt, gt.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	gt.GroupSpecs = map[string]string{}
	rows, err := s.ro.QueryContext(ctx, "SELECT `key`, `value` FROM group_type_specs WHERE group_type_id = ?", gt.ID)
	if err != nil {
		return nil, fmt.Errorf("get group type %s specs: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		gt.GroupSpecs[k] = v
	}
	return &gt, rows.Err()
}
