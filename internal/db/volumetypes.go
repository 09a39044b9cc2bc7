package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// GetVolumeType returns the volume type id; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetVolumeType(ctx context.Context, id string) (*resource.VolumeType, error) {
	return s.getVolumeType(ctx, "id", id)
}

// GetVolumeTypeByName returns the volume type called name, such as
// resource.DefaultVolumeTypeName; a missing or deleted one is a *resource.NotFoundError.
func (s *Store) GetVolumeTypeByName(ctx context.Context, name string) (*resource.VolumeType, error) {
	return s.getVolumeType(ctx, "name", name)
}

func (s *Store) getVolumeType(ctx context.Context, column, value string) (*resource.VolumeType, error) {
	var t resource.VolumeType
	var desc sql.NullString
	err := s.ro.QueryRowContext(ctx,
		"SELECT id, name, description, is_public FROM volume_types WHERE "+column+" = ? AND deleted = 0", value).
		Scan(&t.ID, &t.Name, &desc, &t.IsPublic)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, &resource.NotFoundError{Kind: "VolumeType", ID: value}
	case err != nil:
		return nil, fmt.Errorf("get volume type %s: %w", value, err)
	}
	t.Description = desc.String
	return &t, nil
}
