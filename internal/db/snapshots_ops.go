package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/scoria/scoria/internal/resource"
)

// Changes of snapshots beyond create and the volume service's transitions: a user's update
// and metadata, an administrator's status reset, the deletes of a volume together with its
// snapshots, and the revert of a volume to its latest snapshot.

// UpdateSnapshot applies a user's change of name and description to snapshot id and
// returns the snapshot as it is now. A missing snapshot is a *resource.NotFoundError.
func (s *Store) UpdateSnapshot(ctx context.Context, id string, u resource.SnapshotUpdate) (*resource.Snapshot, error) {
	var out *resource.Snapshot
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, args := "updated_at = ?", []any{dbTime(s.now())}
		if u.Name != nil {
			set, args = set+", display_name = ?", append(args, nullString(*u.Name))
		}
		if u.Description != nil {
			set, args = set+", display_description = ?", append(args, nullString(*u.Description))
		}
		if err := s.snapshotExists(ctx, tx, id, "UPDATE snapshots SET "+set+" WHERE id = ? AND deleted = 0", append(args, id)...); err != nil {
			return err
		}
		var err error
		out, err = getSnapshot(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update snapshot %s: %w", id, err)
	}
	return out, nil
}

// snapshotExists runs an UPDATE of snapshot id that touches its row whatever its status;
// no row touched means there is no such snapshot.
func (s *Store) snapshotExists(ctx context.Context, q querier, id, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return &resource.NotFoundError{Kind: "Snapshot", ID: id}
	}
	return nil
}

// SetSnapshotMetadata writes metadata items of snapshot id: with replace, md becomes all of
// its metadata (Cinder's PUT); without, md's items are added or overwritten and the others
// kept (POST). It returns the snapshot's metadata as it is now.
func (s *Store) SetSnapshotMetadata(ctx context.Context, id string, md map[string]string, replace bool) (map[string]string, error) {
	var out map[string]string
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Touching the row locks it: concurrent metadata writes of one snapshot serialise.
		if err := s.snapshotExists(ctx, tx, id, "UPDATE snapshots SET updated_at = ? WHERE id = ? AND deleted = 0", dbTime(now), id); err != nil {
			return err
		}
		if replace {
			if _, err := tx.ExecContext(ctx, "DELETE FROM snapshot_metadata WHERE snapshot_id = ?", id); err != nil {
				return err
			}
		} else {
			for _, k := range slices.Sorted(maps.Keys(md)) {
				if _, err := tx.ExecContext(ctx, "DELETE FROM snapshot_metadata WHERE snapshot_id = ? AND `key` = ?", id, k); err != nil {
					return err
				}
			}
		}
		if err := insertSnapshotMetadata(ctx, tx, id, md, now); err != nil {
			return err
		}
		sn := &resource.Snapshot{ID: id}
		if err := loadSnapshotMetadata(ctx, tx, []*resource.Snapshot{sn}); err != nil {
			return err
		}
		out = sn.Metadata
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set metadata of snapshot %s: %w", id, err)
	}
	return out, nil
}

// DeleteSnapshotMetadata removes the metadata item key of snapshot id. A missing snapshot
// is a *resource.NotFoundError, a missing key a *resource.SnapshotMetadataNotFoundError.
func (s *Store) DeleteSnapshotMetadata(ctx context.Context, id, key string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.snapshotExists(ctx, tx, id, "UPDATE snapshots SET updated_at = ? WHERE id = ? AND deleted = 0", dbTime(s.now()), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM snapshot_metadata WHERE snapshot_id = ? AND `key` = ?", id, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &resource.SnapshotMetadataNotFoundError{SnapshotID: id, Key: key}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete metadata %q of snapshot %s: %w", key, id, err)
	}
	return nil
}

// ResetSnapshotStatus sets the status of snapshot id, whatever it is now: an
// administrator's os-reset_status. A missing snapshot is a *resource.NotFoundError.
func (s *Store) ResetSnapshotStatus(ctx context.Context, id, status string) error {
	if err := s.snapshotExists(ctx, s.db, id, "UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0",
		status, dbTime(s.now()), id); err != nil {
		return fmt.Errorf("reset status of snapshot %s to %s: %w", id, status, err)
	}
	return nil
}

// UpdateSnapshotStatus moves snapshot id from status from to status, and sets its progress
// when progress is not "" (os-update_snapshot_status), with one conditional UPDATE. Errors
// are those of TransitionSnapshot.
func (s *Store) UpdateSnapshotStatus(ctx context.Context, id, from, status, progress string) error {
	set, args := "status = ?, updated_at = ?", []any{status, dbTime(s.now())}
	if progress != "" {
		set, args = set+", progress = ?", append(args, progress)
	}
	if err := s.conditionalSnapshot(ctx, s.db, id, []string{from},
		"UPDATE snapshots SET "+set+" WHERE id = ? AND deleted = 0 AND status = ?", append(args, id, from)...); err != nil {
		return fmt.Errorf("snapshot %s to %s: %w", id, status, err)
	}
	return nil
}

// StartVolumeDelete moves a volume to deleting, and with d.Cascade its snapshots too, and
// writes msgs, in one transaction; a transfer offered for the volume is removed with it. The
// volume's row is locked first, as CreateSnapshot locks it, so a snapshot is either created
// before (and seen here) or refused because the volume is deleting: none is orphaned. A
// volume with a live attachment gives a *resource.InvalidStateError whatever its status; one
// that has snapshots (without cascade), or one that cannot be deleted (with cascade), gives a
// *resource.VolumeSnapshotsError; other errors are those of TransitionVolume.
func (s *Store) StartVolumeDelete(ctx context.Context, d resource.VolumeDelete, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(d.From) == 0 {
		return nil, fmt.Errorf("delete volume %s: no status to delete from", d.VolumeID)
	}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, "SELECT status FROM volumes WHERE id = ? AND deleted = 0"+s.forUpdate(), d.VolumeID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Volume", ID: d.VolumeID}
		}
		if err != nil {
			return err
		}
		state := &resource.InvalidStateError{Kind: "Volume", ID: d.VolumeID, Status: status, Want: slices.Clone(d.From)}
		if !slices.Contains(d.From, status) {
			return state
		}
		// A live attachment holds the volume whatever its status says (an admin may have
		// reset it): its connection would outlive the storage.
		var attached int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM volume_attachment WHERE volume_id = ? AND deleted = 0 AND attach_status IN ("+
			placeholders(len(resource.LiveAttachStatuses))+")", append([]any{d.VolumeID}, strArgs(resource.LiveAttachStatuses)...)...).Scan(&attached); err != nil {
			return err
		}
		if attached > 0 {
			return state
		}
		snaps, err := volumeSnapshotStatuses(ctx, tx, d.VolumeID, s.forUpdate())
		if err != nil {
			return err
		}
		if len(snaps) > 0 && !d.Cascade {
			return &resource.VolumeSnapshotsError{Snapshots: len(snaps), State: state}
		}
		for _, sn := range snaps {
			if d.SnapshotFrom != nil && !slices.Contains(d.SnapshotFrom, sn[1]) {
				return &resource.VolumeSnapshotsError{Snapshots: len(snaps), SnapshotID: sn[0], Status: sn[1], State: state}
			}
		}
		if err := s.conditional(ctx, tx, d.VolumeID, d.From,
			"UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status IN ("+placeholders(len(d.From))+")",
			append([]any{resource.StatusDeleting, dbTime(now), d.VolumeID}, strArgs(d.From)...)...); err != nil {
			return err
		}
		if len(snaps) > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET status = ?, updated_at = ? WHERE volume_id = ? AND deleted = 0",
				resource.SnapshotDeleting, dbTime(now), d.VolumeID); err != nil {
				return err
			}
		}
		// A transfer offered for the volume (a force delete from awaiting-transfer) goes with
		// it, as Cinder's volume_destroy takes the volume's transfers.
		if _, err := tx.ExecContext(ctx, "UPDATE transfers SET deleted = 1, deleted_at = ?, updated_at = ? WHERE volume_id = ? AND deleted = 0",
			dbTime(now), dbTime(now), d.VolumeID); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete volume %s: %w", d.VolumeID, err)
	}
	return out, nil
}

// volumeSnapshotStatuses returns id and status of each snapshot of a volume, oldest first,
// read with lock (a locking read sees what other transactions committed meanwhile).
func volumeSnapshotStatuses(ctx context.Context, q querier, volumeID, lock string) ([][2]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, status FROM snapshots WHERE volume_id = ? AND deleted = 0 ORDER BY created_at, id"+lock, volumeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var sn [2]string
		if err := rows.Scan(&sn[0], &sn[1]); err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	return out, rows.Err()
}

// StartRevert moves volume volumeID to reverting and its snapshot snapshotID to restoring,
// and writes msgs, in one transaction, after Cinder's checks: the snapshot must be the
// volume's latest, of the volume's size, and both must be available. A refusal is a
// *resource.RevertError in Cinder's words; a missing volume or snapshot a
// *resource.NotFoundError.
func (s *Store) StartRevert(ctx context.Context, volumeID, snapshotID string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			status string
			size   int
		)
		err := tx.QueryRowContext(ctx, "SELECT status, size FROM volumes WHERE id = ? AND deleted = 0"+s.forUpdate(), volumeID).Scan(&status, &size)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Volume", ID: volumeID}
		}
		if err != nil {
			return err
		}
		var (
			latest, snapStatus string
			snapSize           int
		)
		err = tx.QueryRowContext(ctx, "SELECT id, status, volume_size FROM snapshots WHERE volume_id = ? AND deleted = 0 ORDER BY created_at DESC, id DESC LIMIT 1"+s.forUpdate(), volumeID).
			Scan(&latest, &snapStatus, &snapSize)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return &resource.RevertError{Reason: fmt.Sprintf("Volume %s doesn't have any snapshots.", volumeID)}
		case err != nil:
			return err
		case latest != snapshotID:
			shown := snapshotID
			if shown == "" {
				shown = "None"
			}
			return &resource.RevertError{Reason: fmt.Sprintf("Specified snapshot %s is None or not the latest one of volume %s.", shown, volumeID)}
		case size != snapSize:
			return &resource.RevertError{Reason: fmt.Sprintf("Can't revert volume %s to its latest snapshot %s. The volume size must be equal to the snapshot size.", volumeID, snapshotID)}
		case status != resource.StatusAvailable:
			return &resource.RevertError{Kind: "Volume", Reason: fmt.Sprintf("Can't revert volume %s to its latest snapshot %s. Volume's status must be 'available'.", volumeID, snapshotID)}
		case snapStatus != resource.SnapshotAvailable:
			return &resource.RevertError{Kind: "Snapshot", Reason: fmt.Sprintf("Can't revert volume %s to its latest snapshot %s. Snapshot's status must be 'available'.", volumeID, snapshotID)}
		}
		if err := s.conditional(ctx, tx, volumeID, []string{resource.StatusAvailable},
			"UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.StatusReverting, dbTime(now), volumeID, resource.StatusAvailable); err != nil {
			return err
		}
		if err := s.conditionalSnapshot(ctx, tx, snapshotID, []string{resource.SnapshotAvailable},
			"UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.SnapshotRestoring, dbTime(now), snapshotID, resource.SnapshotAvailable); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revert volume %s to snapshot %s: %w", volumeID, snapshotID, err)
	}
	return out, nil
}
