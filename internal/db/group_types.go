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

// DefaultCGSnapshotTypeID is the id migration 00015 gives Cinder's default_cgsnapshot_type
// group type (resource.DefaultCGSnapshotTypeName).
const DefaultCGSnapshotTypeID = "0bf7232b-6dbb-495c-9c02-60b6db769f68"

// groupTypeColumns are what a group type row is read as (see scanGroupType).
const groupTypeColumns = "t.id, t.name, t.description, t.is_public, t.created_at, t.updated_at"

// scanGroupType reads the columns of groupTypeColumns, then extra.
func scanGroupType(sc scanner, extra ...any) (*resource.GroupType, error) {
	var (
		t       resource.GroupType
		desc    sql.NullString
		created nullTime
		updated nullTime
	)
	if err := sc.Scan(append([]any{&t.ID, &t.Name, &desc, &t.IsPublic, &created, &updated}, extra...)...); err != nil {
		return nil, err
	}
	t.Description, t.CreatedAt, t.UpdatedAt = desc.String, created.Time, updated.Ptr()
	t.GroupSpecs = map[string]string{}
	return &t, nil
}

// GetGroupType returns group type id with its specs; a missing or deleted one is a
// *resource.NotFoundError. Whether the caller may see a private type is the API's concern
// (HasGroupTypeAccess).
func (s *Store) GetGroupType(ctx context.Context, id string) (*resource.GroupType, error) {
	return s.getGroupType(ctx, s.ro, "id", id)
}

// GetGroupTypeByName returns the live group type called name, such as
// resource.DefaultCGSnapshotTypeName, with its specs; none is a *resource.NotFoundError.
func (s *Store) GetGroupTypeByName(ctx context.Context, name string) (*resource.GroupType, error) {
	return s.getGroupType(ctx, s.ro, "name", name)
}

// getGroupType reads a live type and its specs in one statement (a row per spec).
func (s *Store) getGroupType(ctx context.Context, q querier, column, value string) (*resource.GroupType, error) {
	rows, err := q.QueryContext(ctx,
		"SELECT "+groupTypeColumns+", g.`key`, g.`value` FROM group_types t"+
			" LEFT JOIN group_type_specs g ON g.group_type_id = t.id"+
			" WHERE t."+column+" = ? AND t.deleted = 0", value)
	if err != nil {
		return nil, fmt.Errorf("get group type %s: %w", value, err)
	}
	defer rows.Close()
	var t *resource.GroupType
	for rows.Next() {
		var k, v sql.NullString
		row, err := scanGroupType(rows, &k, &v)
		if err != nil {
			return nil, fmt.Errorf("get group type %s: %w", value, err)
		}
		if t == nil {
			t = row
		}
		if k.Valid {
			t.GroupSpecs[k.String] = v.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get group type %s: %w", value, err)
	}
	if t == nil {
		return nil, &resource.NotFoundError{Kind: "GroupType", ID: value}
	}
	return t, nil
}

// groupTypeOrder is the ORDER BY of sort keys, with Cinder's created_at and id appended (in
// the first key's direction) unless named; no keys is newest first.
func groupTypeOrder(keys []resource.SortKey) (string, error) {
	if len(keys) == 0 {
		keys = []resource.SortKey{{Field: "created_at", Desc: true}}
	}
	firstDesc := keys[0].Desc
	for _, d := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(keys, func(k resource.SortKey) bool { return k.Field == d }) {
			keys = append(keys, resource.SortKey{Field: d, Desc: firstDesc})
		}
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(resource.GroupTypeSortKeys, k.Field) {
			return "", fmt.Errorf("sort key %q: %w", k.Field, resource.ErrInvalidState)
		}
		dir := " ASC"
		if k.Desc {
			dir = " DESC"
		}
		parts = append(parts, "t."+k.Field+dir)
	}
	return strings.Join(parts, ", "), nil
}

// ListGroupTypes lists the live group types f selects, in f's order, with their specs.
func (s *Store) ListGroupTypes(ctx context.Context, f resource.GroupTypeFilter) ([]*resource.GroupType, error) {
	order, err := groupTypeOrder(f.Sort)
	if err != nil {
		return nil, fmt.Errorf("list group types: %w", err)
	}
	where, args := []string{"t.deleted = 0"}, []any{}
	if f.IsPublic != nil {
		switch {
		case !*f.IsPublic:
			where = append(where, "t.is_public = 0")
		case f.AccessProject != "":
			where = append(where, "(t.is_public = 1 OR EXISTS (SELECT 1 FROM group_type_projects p WHERE p.group_type_id = t.id AND p.project_id = ?))")
			args = append(args, f.AccessProject)
		default:
			where = append(where, "t.is_public = 1")
		}
	}
	// Group types are few: page them here, after one ordered read.
	rows, err := s.ro.QueryContext(ctx, "SELECT "+groupTypeColumns+" FROM group_types t WHERE "+strings.Join(where, " AND ")+" ORDER BY "+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list group types: %w", err)
	}
	var out []*resource.GroupType
	for rows.Next() {
		t, err := scanGroupType(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list group types: %w", err)
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list group types: %w", err)
	}
	if f.Marker != "" {
		if i := slices.IndexFunc(out, func(t *resource.GroupType) bool { return t.ID == f.Marker }); i >= 0 {
			out = out[i+1:]
		}
	}
	out = out[min(f.Offset, len(out)):]
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	ids := make([]string, len(out))
	for i, t := range out {
		ids[i] = t.ID
	}
	specs, err := keyValuesOf(ctx, s.ro, "group_type_specs", "group_type_id", ids)
	if err != nil {
		return nil, fmt.Errorf("list group types: %w", err)
	}
	for _, t := range out {
		if sp := specs[t.ID]; sp != nil {
			t.GroupSpecs = sp
		}
	}
	return out, nil
}

// CreateGroupType writes a new group type (t.ID set by the caller) with its specs, and stamps
// t.CreatedAt. A live type of the same name is resource.ErrGroupTypeExists.
func (s *Store) CreateGroupType(ctx context.Context, t *resource.GroupType) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO group_types (id, name, description, is_public, created_at, deleted) VALUES (?, ?, ?, ?, ?, 0)",
			t.ID, t.Name, nullString(t.Description), t.IsPublic, dbTime(now)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("group type %s: %w", t.Name, resource.ErrGroupTypeExists)
			}
			return err
		}
		return upsertGroupTypeSpecs(ctx, tx, t.ID, t.GroupSpecs, now)
	})
	if err != nil {
		return fmt.Errorf("create group type %s: %w", t.Name, err)
	}
	t.CreatedAt = now
	if t.GroupSpecs == nil {
		t.GroupSpecs = map[string]string{}
	}
	return nil
}

// UpdateGroupType changes name, description and/or visibility of live group type id and
// returns it. A name another live type has is resource.ErrGroupTypeExists.
func (s *Store) UpdateGroupType(ctx context.Context, id string, u resource.GroupTypeUpdate) (*resource.GroupType, error) {
	var out *resource.GroupType
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
		res, err := tx.ExecContext(ctx, "UPDATE group_types SET "+strings.Join(set, ", ")+" WHERE id = ? AND deleted = 0", append(args, id)...)
		if err != nil {
			if isDuplicate(err) && u.Name != nil {
				return fmt.Errorf("group type %s: %w", *u.Name, resource.ErrGroupTypeExists)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &resource.NotFoundError{Kind: "GroupType", ID: id}
		}
		out, err = s.getGroupType(ctx, tx, "id", id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update group type %s: %w", id, err)
	}
	return out, nil
}

// DeleteGroupType soft-deletes live group type id unless a group that is not deleted has it
// (resource.ErrGroupTypeInUse), as Cinder's group_type_destroy. The row keeps its name and
// specs, so groups and group snapshots deleted before still name what they were; only its
// access list goes.
func (s *Store) DeleteGroupType(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := dbTime(s.now())
		res, err := tx.ExecContext(ctx,
			"UPDATE group_types SET deleted = 1, deleted_at = ?, updated_at = ?"+
				" WHERE id = ? AND deleted = 0 AND NOT EXISTS (SELECT 1 FROM `groups` g WHERE g.group_type_id = ? AND g.deleted = 0)",
			now, now, id, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := s.getGroupType(ctx, tx, "id", id); err != nil {
				return err
			}
			return resource.ErrGroupTypeInUse
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM group_type_projects WHERE group_type_id = ?", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete group type %s: %w", id, err)
	}
	return nil
}

// SetGroupTypeSpecs creates or replaces the given specs of live group type id; the others
// stay.
func (s *Store) SetGroupTypeSpecs(ctx context.Context, id string, specs map[string]string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock the type's row, so that a concurrent delete waits or is waited for.
		res, err := tx.ExecContext(ctx, "UPDATE group_types SET updated_at = ? WHERE id = ? AND deleted = 0", dbTime(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &resource.NotFoundError{Kind: "GroupType", ID: id}
		}
		return upsertGroupTypeSpecs(ctx, tx, id, specs, now)
	})
	if err != nil {
		return fmt.Errorf("set specs of group type %s: %w", id, err)
	}
	return nil
}

// DeleteGroupTypeSpec removes spec key of live group type id; a missing type is a
// *resource.NotFoundError of kind GroupType, a missing key one of kind GroupTypeSpec.
func (s *Store) DeleteGroupTypeSpec(ctx context.Context, id, key string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"DELETE FROM group_type_specs WHERE group_type_id = ? AND `key` = ?"+
				" AND EXISTS (SELECT 1 FROM group_types t WHERE t.id = ? AND t.deleted = 0)", id, key, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		if _, err := s.getGroupType(ctx, tx, "id", id); err != nil {
			return err
		}
		return &resource.NotFoundError{Kind: "GroupTypeSpec", ID: key}
	})
	if err != nil {
		return fmt.Errorf("delete spec %s of group type %s: %w", key, id, err)
	}
	return nil
}

// HasGroupTypeAccess reports whether project has been given access to group type id.
func (s *Store) HasGroupTypeAccess(ctx context.Context, id, project string) (bool, error) {
	var one int
	err := s.ro.QueryRowContext(ctx, "SELECT 1 FROM group_type_projects WHERE group_type_id = ? AND project_id = ?", id, project).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("access of project %s to group type %s: %w", project, id, err)
	}
	return true, nil
}

// AddGroupTypeAccess gives project access to private group type id (Cinder's
// group_type_access_add, which no API of Cinder's calls: there is no group type access
// API). An existing grant is resource.ErrGroupTypeAccessExists; a missing type not found.
func (s *Store) AddGroupTypeAccess(ctx context.Context, id, project string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getGroupType(ctx, tx, "id", id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO group_type_projects (group_type_id, project_id, created_at) VALUES (?, ?, ?)",
			id, project, dbTime(s.now()))
		if isDuplicate(err) {
			return resource.ErrGroupTypeAccessExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("add access of project %s to group type %s: %w", project, id, err)
	}
	return nil
}

// upsertGroupTypeSpecs writes specs of group type id, replacing the values of existing keys.
func upsertGroupTypeSpecs(ctx context.Context, q querier, id string, specs map[string]string, now time.Time) error {
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a fixed order keeps concurrent writers from deadlocking
	for _, k := range keys {
		res, err := q.ExecContext(ctx, "UPDATE group_type_specs SET `value` = ?, updated_at = ? WHERE group_type_id = ? AND `key` = ?",
			specs[k], dbTime(now), id, k)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO group_type_specs (group_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
			id, k, specs[k], dbTime(now)); err != nil {
			return err
		}
	}
	return nil
}
