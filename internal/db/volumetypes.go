package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// typeColumns are what a volume type row is read as (see scanType).
const typeColumns = "t.id, t.name, t.description, t.is_public, t.qos_specs_id"

// scanType reads the columns of typeColumns, then extra.
func scanType(sc scanner, extra ...any) (*resource.VolumeType, error) {
	var (
		t         resource.VolumeType
		desc, qos sql.NullString
	)
	if err := sc.Scan(append([]any{&t.ID, &t.Name, &desc, &t.IsPublic, &qos}, extra...)...); err != nil {
		return nil, err
	}
	t.Description, t.QoSSpecsID = desc.String, qos.String
	t.ExtraSpecs = map[string]string{}
	return &t, nil
}

// GetVolumeType returns the volume type id; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetVolumeType(ctx context.Context, id string) (*resource.VolumeType, error) {
	return s.getVolumeType(ctx, s.ro, "id", id)
}

// GetVolumeTypeByName returns the volume type called name, such as
// resource.DefaultVolumeTypeName; a missing or deleted one is a *resource.NotFoundError.
func (s *Store) GetVolumeTypeByName(ctx context.Context, name string) (*resource.VolumeType, error) {
	return s.getVolumeType(ctx, s.ro, "name", name)
}

// getVolumeType reads a type and its extra specs in one statement (a row per extra spec).
func (s *Store) getVolumeType(ctx context.Context, q querier, column, value string) (*resource.VolumeType, error) {
	rows, err := q.QueryContext(ctx,
		"SELECT "+typeColumns+", e.`key`, e.`value` FROM volume_types t"+
			" LEFT JOIN volume_type_extra_specs e ON e.volume_type_id = t.id"+
			" WHERE t."+column+" = ? AND t.deleted = 0", value)
	if err != nil {
		return nil, fmt.Errorf("get volume type %s: %w", value, err)
	}
	defer rows.Close()
	var t *resource.VolumeType
	for rows.Next() {
		var k, v sql.NullString
		row, err := scanType(rows, &k, &v)
		if err != nil {
			return nil, fmt.Errorf("get volume type %s: %w", value, err)
		}
		if t == nil {
			t = row
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

// ListVolumeTypes lists the types f selects, in f's order, with their extra specs. An unknown
// marker is ignored, as Cinder ignores it for types.
func (s *Store) ListVolumeTypes(ctx context.Context, f resource.VolumeTypeFilter) ([]*resource.VolumeType, error) {
	key := f.SortKey
	if key == "" {
		key = "created_at"
	}
	if !slices.Contains(resource.VolumeTypeSortKeys, key) {
		return nil, fmt.Errorf("list volume types: sort key %q: %w", key, resource.ErrInvalidState)
	}
	dir := "ASC"
	if f.SortDesc {
		dir = "DESC"
	}
	where, args := []string{"t.deleted = 0"}, []any{}
	if f.IsPublic != nil {
		switch {
		case !*f.IsPublic:
			where = append(where, "t.is_public = 0")
		case f.AccessProject != "":
			where = append(where, "(t.is_public = 1 OR EXISTS (SELECT 1 FROM volume_type_projects p WHERE p.volume_type_id = t.id AND p.project_id = ?))")
			args = append(args, f.AccessProject)
		default:
			where = append(where, "t.is_public = 1")
		}
	}
	w, a := extraSpecsWhere(f.ExtraSpecs)
	where, args = append(where, w...), append(args, a...)
	// Types are few: page them here, after one ordered read.
	rows, err := s.ro.QueryContext(ctx, "SELECT "+typeColumns+" FROM volume_types t WHERE "+strings.Join(where, " AND ")+
		" ORDER BY t."+key+" "+dir+", t.id "+dir, args...)
	if err != nil {
		return nil, fmt.Errorf("list volume types: %w", err)
	}
	var out []*resource.VolumeType
	for rows.Next() {
		t, err := scanType(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list volume types: %w", err)
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list volume types: %w", err)
	}
	if f.Marker != "" {
		if i := slices.IndexFunc(out, func(t *resource.VolumeType) bool { return t.ID == f.Marker }); i >= 0 {
			out = out[i+1:]
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	if err := s.loadExtraSpecs(ctx, out); err != nil {
		return nil, fmt.Errorf("list volume types: %w", err)
	}
	return out, nil
}

// VolumeTypeExtraSpecs returns the extra specs of volume type id in one query: what the
// volume service hands a driver with each call, read afresh so that a retype shows at once.
// A type with none, or one deleted since, has an empty map.
func (s *Store) VolumeTypeExtraSpecs(ctx context.Context, id string) (map[string]string, error) {
	specs, err := keyValuesOf(ctx, s.ro, "volume_type_extra_specs", "volume_type_id", []string{id})
	if err != nil {
		return nil, fmt.Errorf("extra specs of volume type %s: %w", id, err)
	}
	if specs[id] == nil {
		return map[string]string{}, nil
	}
	return specs[id], nil
}

// loadExtraSpecs fills the extra specs of types.
func (s *Store) loadExtraSpecs(ctx context.Context, types []*resource.VolumeType) error {
	ids := make([]string, len(types))
	for i, t := range types {
		ids[i] = t.ID
	}
	specs, err := keyValuesOf(ctx, s.ro, "volume_type_extra_specs", "volume_type_id", ids)
	if err != nil {
		return err
	}
	for _, t := range types {
		if t.ExtraSpecs = specs[t.ID]; t.ExtraSpecs == nil {
			t.ExtraSpecs = map[string]string{}
		}
	}
	return nil
}

// CreateVolumeType writes a new type (t.ID set by the caller) with its extra specs. A live
// type of the same name is resource.ErrVolumeTypeExists.
func (s *Store) CreateVolumeType(ctx context.Context, t *resource.VolumeType) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO volume_types (id, name, description, is_public, created_at, deleted) VALUES (?, ?, ?, ?, ?, 0)",
			t.ID, t.Name, nullString(t.Description), t.IsPublic, dbTime(now)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("volume type %s: %w", t.Name, resource.ErrVolumeTypeExists)
			}
			return err
		}
		return upsertExtraSpecs(ctx, tx, t.ID, t.ExtraSpecs, now)
	})
	if err != nil {
		return fmt.Errorf("create volume type %s: %w", t.Name, err)
	}
	return nil
}

// UpdateVolumeType changes name, description and/or visibility of type id and returns it. A
// name another live type has is resource.ErrVolumeTypeExists.
func (s *Store) UpdateVolumeType(ctx context.Context, id string, u resource.VolumeTypeUpdate) (*resource.VolumeType, error) {
	var out *resource.VolumeType
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, args := []string{"updated_at = ?"}, []any{dbTime(s.now())}
		if u.Name != nil {
			set, args = append(set, "name = ?"), append(args, *u.Name)
		}
		if u.Description != nil {
			set, args = append(set, "description = ?"), append(args, *u.Description)
		}
		if u.IsPublic != nil {
			set, args = append(set, "is_public = ?"), append(args, *u.IsPublic)
		}
		res, err := tx.ExecContext(ctx, "UPDATE volume_types SET "+strings.Join(set, ", ")+" WHERE id = ? AND deleted = 0", append(args, id)...)
		if err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("volume type %s: %w", *u.Name, resource.ErrVolumeTypeExists)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &resource.NotFoundError{Kind: "VolumeType", ID: id}
		}
		out, err = s.getVolumeType(ctx, tx, "id", id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update volume type %s: %w", id, err)
	}
	return out, nil
}

// DeleteVolumeType soft-deletes type id unless a volume that is not deleted uses it
// (resource.ErrVolumeTypeInUse) or a project has it as its default
// (resource.ErrVolumeTypeIsDefault). The deleted row gives up its name (it takes its id as
// name) so that a new type may be called the same; its access list and extra specs go.
func (s *Store) DeleteVolumeType(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM default_volume_types WHERE volume_type_id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return resource.ErrVolumeTypeIsDefault
		}
		now := dbTime(s.now())
		res, err := tx.ExecContext(ctx,
			"UPDATE volume_types SET deleted = 1, deleted_at = ?, updated_at = ?, name = id, qos_specs_id = NULL"+
				" WHERE id = ? AND deleted = 0 AND NOT EXISTS (SELECT 1 FROM volumes v WHERE v.volume_type_id = ? AND v.deleted = 0)",
			now, now, id, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := s.getVolumeType(ctx, tx, "id", id); err != nil {
				return err
			}
			return resource.ErrVolumeTypeInUse
		}
		for _, q := range []string{
			"DELETE FROM volume_type_projects WHERE volume_type_id = ?",
			"DELETE FROM volume_type_extra_specs WHERE volume_type_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return softDeleteTypeEncryption(ctx, tx, id, now)
	})
	if err != nil {
		return fmt.Errorf("delete volume type %s: %w", id, err)
	}
	return nil
}

// VolumeTypeInUse reports whether a volume that is not deleted uses type id.
func (s *Store) VolumeTypeInUse(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.ro.QueryRowContext(ctx, "SELECT 1 FROM volumes WHERE volume_type_id = ? AND deleted = 0 LIMIT 1", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("volume type %s in use: %w", id, err)
	}
	return true, nil
}

// SetVolumeTypeExtraSpecs creates or replaces the given extra specs of type id.
func (s *Store) SetVolumeTypeExtraSpecs(ctx context.Context, id string, specs map[string]string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVolumeType(ctx, tx, "id", id); err != nil {
			return err
		}
		return upsertExtraSpecs(ctx, tx, id, specs, now)
	})
	if err != nil {
		return fmt.Errorf("set extra specs of volume type %s: %w", id, err)
	}
	return nil
}

// DeleteVolumeTypeExtraSpec removes extra spec key of type id; a missing key is
// resource.ErrNotFound.
func (s *Store) DeleteVolumeTypeExtraSpec(ctx context.Context, id, key string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM volume_type_extra_specs WHERE volume_type_id = ? AND `key` = ?", id, key)
	if err != nil {
		return fmt.Errorf("delete extra spec %s of volume type %s: %w", key, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete extra spec %s of volume type %s: %w", key, id, err)
	} else if n == 0 {
		return fmt.Errorf("delete extra spec %s of volume type %s: %w", key, id, resource.ErrNotFound)
	}
	return nil
}

// upsertExtraSpecs writes specs of type id, replacing the values of existing keys.
func upsertExtraSpecs(ctx context.Context, q querier, id string, specs map[string]string, now time.Time) error {
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a fixed order keeps concurrent writers from deadlocking
	for _, k := range keys {
		res, err := q.ExecContext(ctx, "UPDATE volume_type_extra_specs SET `value` = ?, updated_at = ? WHERE volume_type_id = ? AND `key` = ?",
			specs[k], dbTime(now), id, k)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO volume_type_extra_specs (volume_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
			id, k, specs[k], dbTime(now)); err != nil {
			return err
		}
	}
	return nil
}
