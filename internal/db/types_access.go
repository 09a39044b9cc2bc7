package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// Private volume types: the projects that may use them (volume_type_projects), and the
// per-project default types of microversion 3.62 (default_volume_types).

// ListVolumeTypeAccess returns the projects that may use type id, sorted.
func (s *Store) ListVolumeTypeAccess(ctx context.Context, id string) ([]string, error) {
	rows, err := s.ro.QueryContext(ctx, "SELECT project_id FROM volume_type_projects WHERE volume_type_id = ? ORDER BY project_id", id)
	if err != nil {
		return nil, fmt.Errorf("list access of volume type %s: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("list access of volume type %s: %w", id, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list access of volume type %s: %w", id, err)
	}
	return out, nil
}

// HasVolumeTypeAccess reports whether project was given access to type id.
func (s *Store) HasVolumeTypeAccess(ctx context.Context, id, project string) (bool, error) {
	var one int
	err := s.ro.QueryRowContext(ctx, "SELECT 1 FROM volume_type_projects WHERE volume_type_id = ? AND project_id = ?", id, project).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("access of %s to volume type %s: %w", project, id, err)
	}
	return true, nil
}

// AddVolumeTypeAccess lets project use type id; access it already has is
// resource.ErrAccessExists, a missing type a *resource.NotFoundError.
func (s *Store) AddVolumeTypeAccess(ctx context.Context, id, project string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVolumeType(ctx, tx, "id", id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO volume_type_projects (volume_type_id, project_id, created_at) VALUES (?, ?, ?)",
			id, project, dbTime(s.now()))
		if isDuplicate(err) {
			return resource.ErrAccessExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("add access of %s to volume type %s: %w", project, id, err)
	}
	return nil
}

// RemoveVolumeTypeAccess takes access to type id away from project; access it does not have
// is resource.ErrNotFound.
func (s *Store) RemoveVolumeTypeAccess(ctx context.Context, id, project string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM volume_type_projects WHERE volume_type_id = ? AND project_id = ?", id, project)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = resource.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("remove access of %s to volume type %s: %w", project, id, err)
	}
	return nil
}

// SetProjectDefaultType makes type typeID the default type of project.
func (s *Store) SetProjectDefaultType(ctx context.Context, project, typeID string) error {
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVolumeType(ctx, tx, "id", typeID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE default_volume_types SET volume_type_id = ?, updated_at = ? WHERE project_id = ?", typeID, now, project)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO default_volume_types (project_id, volume_type_id, created_at) VALUES (?, ?, ?)", project, typeID, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("set default type of project %s: %w", project, err)
	}
	return nil
}

// GetProjectDefaultType returns project's default type; none is resource.ErrNotFound.
func (s *Store) GetProjectDefaultType(ctx context.Context, project string) (*resource.ProjectDefaultType, error) {
	d := resource.ProjectDefaultType{ProjectID: project}
	err := s.ro.QueryRowContext(ctx, "SELECT volume_type_id FROM default_volume_types WHERE project_id = ?", project).Scan(&d.VolumeTypeID)
	if errors.Is(err, sql.ErrNoRows) {
		err = resource.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get default type of project %s: %w", project, err)
	}
	return &d, nil
}

// ListProjectDefaultTypes returns every project's default type, by project.
func (s *Store) ListProjectDefaultTypes(ctx context.Context) ([]*resource.ProjectDefaultType, error) {
	rows, err := s.ro.QueryContext(ctx, "SELECT project_id, volume_type_id FROM default_volume_types ORDER BY project_id")
	if err != nil {
		return nil, fmt.Errorf("list default types: %w", err)
	}
	defer rows.Close()
	var out []*resource.ProjectDefaultType
	for rows.Next() {
		var d resource.ProjectDefaultType
		if err := rows.Scan(&d.ProjectID, &d.VolumeTypeID); err != nil {
			return nil, fmt.Errorf("list default types: %w", err)
		}
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list default types: %w", err)
	}
	return out, nil
}

// DeleteProjectDefaultType unsets project's default type; unsetting none is no error, as in
// Cinder.
func (s *Store) DeleteProjectDefaultType(ctx context.Context, project string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM default_volume_types WHERE project_id = ?", project); err != nil {
		return fmt.Errorf("unset default type of project %s: %w", project, err)
	}
	return nil
}
