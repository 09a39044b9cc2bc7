package db

import (
	"context"
	"database/sql"
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

// getVolumeType reads a type and its extra specs in one statement (a row per extra spec).
func (s *Store) getVolumeType(ctx context.Context, column, value string) (*resource.VolumeType, error) {
	rows, err := s.ro.QueryContext(ctx,
		"SELECT t.id, t.name, t.description, t.is_public, e.`key`, e.`value` FROM volume_types t"+
			" LEFT JOIN volume_type_extra_specs e ON e.volume_type_id = t.id"+
			" WHERE t."+column+" = ? AND t.deleted = 0", value)
	if err != nil {
		return nil, fmt.Errorf("get volume type %s: %w", value, err)
	}
	defer rows.Close()
	var t *resource.VolumeType
	for rows.Next() {
		var (
			row        resource.VolumeType
			desc, k, v sql.NullString
		)
		if err := rows.Scan(&row.ID, &row.Name, &desc, &row.IsPublic, &k, &v); err != nil {
			return nil, fmt.Errorf("get volume type %s: %w", value, err)
		}
		if t == nil {
			row.Description = desc.String
			row.ExtraSpecs = map[string]string{}
			t = &row
		}
		if k.Valid {
			t.ExtraSpecs[k.String] = v.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get volume type %s: %w", value, err)
	}
	if t == nil {
		return nil, &resource.NotFoundError{Kind: "VolumeType", ID: value}
	}
	return t, nil
}
