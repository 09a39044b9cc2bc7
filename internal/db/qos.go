package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// QoS specs: a row in quality_of_service_specs (name, consumer) and one row per key in
// quality_of_service_spec_values. A volume type names its specs in volume_types.qos_specs_id.

// CreateQoSSpecs writes new specs (q.ID set by the caller); a name other specs have is
// resource.ErrQoSSpecsExists.
func (s *Store) CreateQoSSpecs(ctx context.Context, q *resource.QoSSpecs) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO quality_of_service_specs (id, name, consumer, created_at) VALUES (?, ?, ?, ?)",
			q.ID, q.Name, q.Consumer, dbTime(now)); err != nil {
			if isDuplicate(err) {
				return resource.ErrQoSSpecsExists
			}
			return err
		}
		return upsertQoSValues(ctx, tx, q.ID, q.Specs, now)
	})
	if err != nil {
		return fmt.Errorf("create qos specs %s: %w", q.Name, err)
	}
	q.CreatedAt = now
	return nil
}

// GetQoSSpecs returns specs id; missing ones are a *resource.NotFoundError.
func (s *Store) GetQoSSpecs(ctx context.Context, id string) (*resource.QoSSpecs, error) {
	return getQoSSpecs(ctx, s.ro, id)
}

func getQoSSpecs(ctx context.Context, q querier, id string) (*resource.QoSSpecs, error) {
	list, err := queryQoSSpecs(ctx, q, " WHERE q.id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("get qos specs %s: %w", id, err)
	}
	if len(list) == 0 {
		return nil, &resource.NotFoundError{Kind: "QoSSpecs", ID: id}
	}
	return list[0], nil
}

// ListQoSSpecs returns one page of QoS specs in f's order (newest first by default, as
// Cinder's). A marker that names no specs is a *resource.NotFoundError of kind "QoSSpecs";
// a sort key outside resource.QoSSpecsSortKeys wraps resource.ErrInvalidState. QoS specs are
// an administrator's short catalogue, so the page is cut from the whole ordered list here
// rather than in SQL (which would have to page over the joined rows of their values).
func (s *Store) ListQoSSpecs(ctx context.Context, f resource.QoSSpecsFilter) ([]*resource.QoSSpecs, error) {
	keys := slices.Clone(f.Sort)
	if len(keys) == 0 {
		keys = []resource.SortKey{{Field: "created_at", Desc: true}}
	}
	if !slices.ContainsFunc(keys, func(k resource.SortKey) bool { return k.Field == "id" }) {
		keys = append(keys, resource.SortKey{Field: "id", Desc: keys[0].Desc})
	}
	for _, k := range keys {
		if !slices.Contains(resource.QoSSpecsSortKeys, k.Field) {
			return nil, fmt.Errorf("list qos specs: sort key %q: %w", k.Field, resource.ErrInvalidState)
		}
	}
	list, err := queryQoSSpecs(ctx, s.ro, "")
	if err != nil {
		return nil, fmt.Errorf("list qos specs: %w", err)
	}
	slices.SortStableFunc(list, func(a, b *resource.QoSSpecs) int { return compareQoS(a, b, keys) })
	if f.Marker != "" {
		i := slices.IndexFunc(list, func(q *resource.QoSSpecs) bool { return q.ID == f.Marker })
		if i < 0 {
			return nil, &resource.NotFoundError{Kind: "QoSSpecs", ID: f.Marker}
		}
		list = list[i+1:]
	}
	list = list[min(max(f.Offset, 0), len(list)):]
	if f.Limit > 0 && len(list) > f.Limit {
		list = list[:f.Limit]
	}
	return list, nil
}

// compareQoS orders a before b by keys; a NULL time sorts first, as on MySQL.
func compareQoS(a, b *resource.QoSSpecs, keys []resource.SortKey) int {
	for _, k := range keys {
		var c int
		switch k.Field {
		case "id":
			c = strings.Compare(a.ID, b.ID)
		case "created_at":
			c = a.CreatedAt.Compare(b.CreatedAt)
		case "updated_at":
			switch {
			case a.UpdatedAt == nil && b.UpdatedAt == nil:
			case a.UpdatedAt == nil:
				c = -1
			case b.UpdatedAt == nil:
				c = 1
			default:
				c = a.UpdatedAt.Compare(*b.UpdatedAt)
			}
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// GetVolumeTypeQoSSpecs returns the QoS specs associated with volume type typeID (consumer
// and specs), or nil when it has none. Connection info takes the front-end ones from here.
func (s *Store) GetVolumeTypeQoSSpecs(ctx context.Context, typeID string) (*resource.QoSSpecs, error) {
	list, err := queryQoSSpecs(ctx, s.ro, " WHERE q.id = (SELECT t.qos_specs_id FROM volume_types t WHERE t.id = ?)", typeID)
	if err != nil {
		return nil, fmt.Errorf("get qos specs of volume type %s: %w", typeID, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list[0], nil
}

func queryQoSSpecs(ctx context.Context, q querier, where string, args ...any) ([]*resource.QoSSpecs, error) {
	rows, err := q.QueryContext(ctx, "SELECT q.id, q.name, q.consumer, q.created_at, q.updated_at, v.`key`, v.`value` FROM quality_of_service_specs q"+
		" LEFT JOIN quality_of_service_spec_values v ON v.qos_specs_id = q.id"+where+" ORDER BY q.created_at DESC, q.id DESC", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*resource.QoSSpecs
	for rows.Next() {
		var (
			r         resource.QoSSpecs
			createdAt nullTime
			updatedAt nullTime
			k, v      sql.NullString
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.Consumer, &createdAt, &updatedAt, &k, &v); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != r.ID {
			r.CreatedAt, r.Specs = createdAt.Time, map[string]string{}
			if updatedAt.Valid {
				r.UpdatedAt = &updatedAt.Time
			}
			out = append(out, &r)
		}
		if k.Valid {
			out[len(out)-1].Specs[k.String] = v.String
		}
	}
	return out, rows.Err()
}

// UpdateQoSSpecs sets keys of specs id, and its consumer when consumer is not "".
func (s *Store) UpdateQoSSpecs(ctx context.Context, id, consumer string, specs map[string]string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getQoSSpecs(ctx, tx, id); err != nil {
			return err
		}
		if consumer != "" {
			if _, err := tx.ExecContext(ctx, "UPDATE quality_of_service_specs SET consumer = ?, updated_at = ? WHERE id = ?", consumer, dbTime(now), id); err != nil {
				return err
			}
		}
		return upsertQoSValues(ctx, tx, id, specs, now)
	})
	if err != nil {
		return fmt.Errorf("update qos specs %s: %w", id, err)
	}
	return nil
}

// DeleteQoSSpecsKeys removes keys from specs id, all or none: the first key it lacks is a
// *resource.NotFoundError of kind "QoSSpecsKey" naming the key.
func (s *Store) DeleteQoSSpecsKeys(ctx context.Context, id string, keys []string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getQoSSpecs(ctx, tx, id); err != nil {
			return err
		}
		for _, k := range keys {
			res, err := tx.ExecContext(ctx, "DELETE FROM quality_of_service_spec_values WHERE qos_specs_id = ? AND `key` = ?", id, k)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return &resource.NotFoundError{Kind: "QoSSpecsKey", ID: k}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete keys of qos specs %s: %w", id, err)
	}
	return nil
}

// DeleteQoSSpecs removes specs id. Specs associated with a type are resource.ErrQoSSpecsInUse
// unless force, which disassociates them first.
func (s *Store) DeleteQoSSpecs(ctx context.Context, id string, force bool) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getQoSSpecs(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM volume_types WHERE qos_specs_id = ? AND deleted = 0", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !force {
			return resource.ErrQoSSpecsInUse
		}
		if _, err := tx.ExecContext(ctx, "UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = ?", id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM quality_of_service_specs WHERE id = ?", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete qos specs %s: %w", id, err)
	}
	return nil
}

// AssociateQoSSpecs associates specs id with volume type typeID. A type associated with
// other specs is resource.ErrQoSAssociated; associating again is no error.
func (s *Store) AssociateQoSSpecs(ctx context.Context, id, typeID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, err := s.getVolumeType(ctx, tx, "id", typeID)
		if err != nil {
			return err
		}
		if _, err := getQoSSpecs(ctx, tx, id); err != nil {
			return err
		}
		if t.QoSSpecsID != "" && t.QoSSpecsID != id {
			return fmt.Errorf("type %s has qos specs %s: %w", typeID, t.QoSSpecsID, resource.ErrQoSAssociated)
		}
		_, err = tx.ExecContext(ctx, "UPDATE volume_types SET qos_specs_id = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND (qos_specs_id IS NULL OR qos_specs_id = ?)",
			id, dbTime(s.now()), typeID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("associate qos specs %s with volume type %s: %w", id, typeID, err)
	}
	return nil
}

// DisassociateQoSSpecs removes the association of specs id with volume type typeID, if any.
func (s *Store) DisassociateQoSSpecs(ctx context.Context, id, typeID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVolumeType(ctx, tx, "id", typeID); err != nil {
			return err
		}
		if _, err := getQoSSpecs(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE volume_types SET qos_specs_id = NULL, updated_at = ? WHERE id = ? AND qos_specs_id = ?", dbTime(s.now()), typeID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("disassociate qos specs %s from volume type %s: %w", id, typeID, err)
	}
	return nil
}

// DisassociateAllQoSSpecs removes every association of specs id.
func (s *Store) DisassociateAllQoSSpecs(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getQoSSpecs(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE volume_types SET qos_specs_id = NULL, updated_at = ? WHERE qos_specs_id = ?", dbTime(s.now()), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("disassociate qos specs %s: %w", id, err)
	}
	return nil
}

// ListQoSAssociations returns the live volume types specs id is associated with, by name.
func (s *Store) ListQoSAssociations(ctx context.Context, id string) ([]resource.QoSAssociation, error) {
	if _, err := getQoSSpecs(ctx, s.ro, id); err != nil {
		return nil, err
	}
	rows, err := s.ro.QueryContext(ctx, "SELECT id, name FROM volume_types WHERE qos_specs_id = ? AND deleted = 0 ORDER BY name", id)
	if err != nil {
		return nil, fmt.Errorf("list associations of qos specs %s: %w", id, err)
	}
	defer rows.Close()
	var out []resource.QoSAssociation
	for rows.Next() {
		var a resource.QoSAssociation
		if err := rows.Scan(&a.TypeID, &a.TypeName); err != nil {
			return nil, fmt.Errorf("list associations of qos specs %s: %w", id, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list associations of qos specs %s: %w", id, err)
	}
	return out, nil
}

// upsertQoSValues writes specs of QoS specs id, replacing the values of existing keys.
func upsertQoSValues(ctx context.Context, q querier, id string, specs map[string]string, now time.Time) error {
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ts := dbTime(now)
	for _, k := range keys {
		res, err := q.ExecContext(ctx, "UPDATE quality_of_service_spec_values SET `value` = ?, updated_at = ? WHERE qos_specs_id = ? AND `key` = ?", specs[k], ts, id, k)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO quality_of_service_spec_values (qos_specs_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)", id, k, specs[k], ts); err != nil {
			return err
		}
	}
	return nil
}
