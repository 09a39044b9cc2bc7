package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// metadataTables are the tables of a volume's metadata sets.
var metadataTables = map[resource.MetadataKind]string{
	resource.UserMetadata:   "volume_metadata",
	resource.AdminMetadata:  "volume_admin_metadata",
	resource.GlanceMetadata: "volume_glance_metadata",
}

func metadataTable(kind resource.MetadataKind) (string, error) {
	if t, ok := metadataTables[kind]; ok {
		return t, nil
	}
	return "", fmt.Errorf("no volume metadata of kind %q", kind)
}

// claimVolume stamps volume id's updated_at if its status passes rule, with one conditional
// UPDATE inside tx, so that the change that follows cannot race a status change.
func (s *Store) claimVolume(ctx context.Context, tx *sql.Tx, id string, rule resource.VolumeStatusRule, now time.Time, sets string, setArgs ...any) error {
	query := "UPDATE volumes SET updated_at = ?" + sets + " WHERE id = ? AND deleted = 0"
	args := append(append([]any{dbTime(now)}, setArgs...), id)
	if len(rule.Only) > 0 {
		query, args = query+" AND status IN ("+placeholders(len(rule.Only))+")", append(args, strArgs(rule.Only)...)
	}
	if len(rule.Not) > 0 {
		query, args = query+" AND status NOT IN ("+placeholders(len(rule.Not))+")", append(args, strArgs(rule.Not)...)
	}
	err := s.conditional(ctx, tx, id, rule.Only, query, args...)
	var ise *resource.InvalidStateError
	if errors.As(err, &ise) && len(rule.Only) == 0 {
		ise.Want = nil
	}
	return err
}

// metadataOf reads the rows of table for volume ids: volume id → key → value.
func metadataOf(ctx context.Context, q querier, table string, ids []string, keys ...string) (map[string]map[string]string, error) {
	return keyValuesOf(ctx, q, table, "volume_id", ids, keys...)
}

// keyValuesOf reads a key/value table (volume, snapshot or admin metadata, extra specs) for
// the objects ids, with one query per maxInList ids: idColumn value → key → value. With keys,
// only those keys are read.
func keyValuesOf(ctx context.Context, q querier, table, idColumn string, ids []string, keys ...string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, c := range chunks(len(ids)) {
		part := strArgs(ids[c[0]:c[1]])
		query := "SELECT " + idColumn + ", `key`, `value` FROM " + table + " WHERE " + idColumn + " IN (" + placeholders(len(part)) + ")"
		if len(keys) > 0 {
			query, part = query+" AND `key` IN ("+placeholders(len(keys))+")", append(part, strArgs(keys)...)
		}
		rows, err := q.QueryContext(ctx, query, part...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				rows.Close()
				return nil, err
			}
			if out[id] == nil {
				out[id] = map[string]string{}
			}
			out[id][k] = v
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeMetadata sets keys of md in table for volume id (replacing what those keys held).
func writeMetadata(ctx context.Context, q querier, table, id string, md map[string]string, now time.Time) error {
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := q.ExecContext(ctx, "DELETE FROM "+table+" WHERE volume_id = ? AND `key` = ?", id, k); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO "+table+" (volume_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
			id, k, md[k], dbTime(now)); err != nil {
			return err
		}
	}
	return nil
}

// VolumeMetadata returns the metadata of volume id of kind. A missing volume is a *resource.NotFoundError.
func (s *Store) VolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string) (map[string]string, error) {
	table, err := metadataTable(kind)
	if err != nil {
		return nil, err
	}
	var one int
	switch err := s.ro.QueryRowContext(ctx, "SELECT 1 FROM volumes WHERE id = ? AND deleted = 0", id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, &resource.NotFoundError{Kind: "Volume", ID: id}
	case err != nil:
		return nil, fmt.Errorf("read %s of volume %s: %w", table, id, err)
	}
	md, err := metadataOf(ctx, s.ro, table, []string{id})
	if err != nil {
		return nil, fmt.Errorf("read %s of volume %s: %w", table, id, err)
	}
	if md[id] == nil {
		return map[string]string{}, nil
	}
	return md[id], nil
}

// VolumesMetadata returns the metadata of kind of the volumes ids (only keys, when
// given): volume id → key → value; volumes without any are absent.
func (s *Store) VolumesMetadata(ctx context.Context, kind resource.MetadataKind, ids []string, keys ...string) (map[string]map[string]string, error) {
	table, err := metadataTable(kind)
	if err != nil {
		return nil, err
	}
	md, err := metadataOf(ctx, s.ro, table, ids, keys...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return md, nil
}

// UpdateVolumeMetadata sets md of kind for volume id, if its status passes rule, in one
// transaction: merged with what is there, or (replace) instead of it. It returns the
// metadata as it now is.
func (s *Store) UpdateVolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string, md map[string]string, replace bool, rule resource.VolumeStatusRule) (map[string]string, error) {
	table, err := metadataTable(kind)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out map[string]string
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claimVolume(ctx, tx, id, rule, now, ""); err != nil {
			return err
		}
		if replace {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE volume_id = ?", id); err != nil {
				return err
			}
		}
		if err := writeMetadata(ctx, tx, table, id, md, now); err != nil {
			return err
		}
		all, err := metadataOf(ctx, tx, table, []string{id})
		out = all[id]
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update %s of volume %s: %w", table, id, err)
	}
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// DeleteVolumeMetadataKey removes key of kind from volume id, if its status passes rule.
// A key the volume does not have is a *resource.NotFoundError of kind "MetadataKey".
func (s *Store) DeleteVolumeMetadataKey(ctx context.Context, kind resource.MetadataKind, id, key string, rule resource.VolumeStatusRule) error {
	table, err := metadataTable(kind)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claimVolume(ctx, tx, id, rule, s.now(), ""); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE volume_id = ? AND `key` = ?", id, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &resource.NotFoundError{Kind: "MetadataKey", ID: key}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %s %q of volume %s: %w", table, key, id, err)
	}
	return nil
}

// SetVolumeBootable sets the bootable flag of volume id, if its status passes rule.
func (s *Store) SetVolumeBootable(ctx context.Context, id string, bootable bool, rule resource.VolumeStatusRule) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.claimVolume(ctx, tx, id, rule, s.now(), ", bootable = ?", bootable)
	})
	if err != nil {
		return fmt.Errorf("set bootable of volume %s: %w", id, err)
	}
	return nil
}

// ResetVolumeState sets the status and/or attach status of volume id whatever they are now,
// as an admin's os-reset_status does. Resetting the attach status to detached also drops
// the attached_mode admin metadata, in the same transaction.
func (s *Store) ResetVolumeState(ctx context.Context, id string, r resource.VolumeReset) error {
	var sets []string
	var args []any
	if r.Status != "" {
		sets, args = append(sets, "status = ?"), append(args, r.Status)
	}
	if r.AttachStatus != "" {
		sets, args = append(sets, "attach_status = ?"), append(args, r.AttachStatus)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set := ""
		if len(sets) > 0 {
			set = ", " + strings.Join(sets, ", ")
		}
		if err := s.claimVolume(ctx, tx, id, resource.VolumeStatusRule{}, s.now(), set, args...); err != nil {
			return err
		}
		if r.AttachStatus == resource.AttachDetached {
			_, err := tx.ExecContext(ctx, "DELETE FROM volume_admin_metadata WHERE volume_id = ? AND `key` = 'attached_mode'", id)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset state of volume %s: %w", id, err)
	}
	return nil
}

// changeVolumeMetadata applies the metadata parts of a status change of volume id: its image
// metadata replaced (ch.ImageMetadata non-nil) and keys of its admin metadata set or removed.
func changeVolumeMetadata(ctx context.Context, q querier, id string, ch resource.VolumeChange, now time.Time) error {
	if ch.ImageMetadata != nil {
		if _, err := q.ExecContext(ctx, "DELETE FROM volume_glance_metadata WHERE volume_id = ?", id); err != nil {
			return err
		}
		if err := writeMetadata(ctx, q, "volume_glance_metadata", id, ch.ImageMetadata, now); err != nil {
			return err
		}
	}
	set := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(ch.AdminMetadata)) {
		if v := ch.AdminMetadata[k]; v != nil {
			set[k] = *v
			continue
		}
		if _, err := q.ExecContext(ctx, "DELETE FROM volume_admin_metadata WHERE volume_id = ? AND `key` = ?", id, k); err != nil {
			return err
		}
	}
	return writeMetadata(ctx, q, "volume_admin_metadata", id, set, now)
}
