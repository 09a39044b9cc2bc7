package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// What the backup service and the volume service do to backups beyond their create, restore
// and delete: the temporary volume a backup reads (of an in-use volume, or of a snapshot),
// and the restore of a backup into a new volume made from it (3.47).

// AdminMetadataTemporary is the admin metadata key Cinder marks its temporary volumes with
// (value "True").
const AdminMetadataTemporary = "temporary"

// CreateBackupTempVolume makes the row of v, the temporary volume backup backupID is to be
// read from, and records it as the backup's temp_volume_id, in one transaction, before any
// storage is made for it (so that recovery can find and remove it). The row is charged to no
// quota and carries the admin metadata temporary=True, as Cinder's. When the backup already
// has a live temporary volume, that volume's id is answered and nothing is written (a
// redelivered request). A backup that is not creating is a *resource.InvalidStateError, a
// missing one a *resource.NotFoundError.
func (s *Store) CreateBackupTempVolume(ctx context.Context, backupID string, v *resource.Volume) (string, error) {
	now := s.now()
	id := v.ID
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockBackup(ctx, tx, backupID); err != nil {
			return err
		}
		var temp sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT temp_volume_id FROM backups WHERE id = ?", backupID).Scan(&temp); err != nil {
			return err
		}
		if temp.String != "" {
			var live int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM volumes WHERE id = ? AND deleted = 0", temp.String).Scan(&live); err != nil {
				return err
			}
			if live > 0 {
				id = temp.String
				return nil
			}
		}
		if err := s.conditionalBackup(ctx, tx, backupID, []string{resource.BackupCreating},
			"UPDATE backups SET temp_volume_id = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			v.ID, dbTime(now), backupID, resource.BackupCreating); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO volumes (id, project_id, user_id, display_name, size, status,
			attach_status, availability_zone, host, volume_type_id, bootable, multiattach, created_at, snapshot_id,
			source_volid, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, 0)`,
			v.ID, v.ProjectID, v.UserID, nullString(v.Name), v.Size, resource.StatusCreating, resource.AttachDetached,
			nullString(v.AvailabilityZone), nullString(v.Host), nullString(v.VolumeTypeID), dbTime(now),
			nullString(v.SnapshotID), nullString(v.SourceVolID)); err != nil {
			return err
		}
		return writeMetadata(ctx, tx, "volume_admin_metadata", v.ID, map[string]string{AdminMetadataTemporary: "True"}, now)
	})
	if err != nil {
		return "", fmt.Errorf("temporary volume of backup %s: %w", backupID, err)
	}
	return id, nil
}

// DestroyBackupTempVolume soft-deletes temporary volume volumeID of backup backupID, whose
// storage the caller removed, and clears the backup's temp_volume_id (when it still names
// it), in one transaction; no quota moves, as none was charged. A volume or backup already
// gone is not an error.
func (s *Store) DestroyBackupTempVolume(ctx context.Context, backupID, volumeID string) error {
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "volumes", volumeID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE volumes SET status = ?, deleted = 1, deleted_at = ?, updated_at = ?
			WHERE id = ? AND deleted = 0`, resource.StatusDeleted, now, now, volumeID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE backups SET temp_volume_id = NULL, updated_at = ? WHERE id = ? AND temp_volume_id = ?",
			now, backupID, volumeID)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove temporary volume %s of backup %s: %w", volumeID, backupID, err)
	}
	return nil
}

// StartNewVolumeRestore starts the restore of backup backupID into volumeID, a volume being
// made from it (still creating, its raw storage made): the backup available → restoring
// with restore_volume_id and host (the backup service chosen), progress 0, in one
// transaction with msgs. A backup that is not available is a *resource.InvalidStateError; a
// volume no longer creating is one too, and nothing changes.
func (s *Store) StartNewVolumeRestore(ctx context.Context, backupID, volumeID, host string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		status, _, err := s.lockVolumeStatus(ctx, tx, volumeID)
		if err != nil {
			return err
		}
		if status != resource.StatusCreating {
			return &resource.InvalidStateError{Kind: "Volume", ID: volumeID, Status: status, Want: []string{resource.StatusCreating}}
		}
		if err := s.conditionalBackup(ctx, tx, backupID, []string{resource.BackupAvailable},
			`UPDATE backups SET status = ?, restore_volume_id = ?, host = ?, progress = 0, updated_at = ?
			WHERE id = ? AND deleted = 0 AND status = ?`,
			resource.BackupRestoring, volumeID, nullString(host), dbTime(now), backupID, resource.BackupAvailable); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("restore backup %s into new volume %s: %w", backupID, volumeID, err)
	}
	return out, nil
}

// EndNewVolumeRestore ends the restore of backup backupID into the new volume volumeID
// (VolumeIsNew): the backup restoring → available, and the volume creating → available
// (with src_backup_id when Cinder writes it) or, when !ok, → error with msg, in one
// transaction. A backup no longer restoring is a *resource.InvalidStateError and nothing
// changes; a volume no longer creating (deleted meanwhile) is left as it is.
func (s *Store) EndNewVolumeRestore(ctx context.Context, backupID, volumeID string, ok bool, msg *resource.Message) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "volumes", volumeID); err != nil {
			return err
		}
		var sourceVolume string
		err := tx.QueryRowContext(ctx, "SELECT volume_id FROM backups WHERE id = ? AND deleted = 0", backupID).Scan(&sourceVolume)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Backup", ID: backupID}
		}
		if err != nil {
			return err
		}
		if err := s.conditionalBackup(ctx, tx, backupID, []string{resource.BackupRestoring},
			"UPDATE backups SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.BackupAvailable, dbTime(now), backupID, resource.BackupRestoring); err != nil {
			return err
		}
		status := resource.StatusAvailable
		if !ok {
			status = resource.StatusError
		}
		res, err := tx.ExecContext(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			status, dbTime(now), volumeID, resource.StatusCreating)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 && ok {
			if err := markRestoredFrom(ctx, tx, volumeID, sourceVolume, backupID, now); err != nil {
				return err
			}
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end restore of backup %s into new volume %s: %w", backupID, volumeID, err)
	}
	return nil
}

// VolumePreviousStatus answers volumes.previous_status of volume id ("" when none): for a
// volume backing-up, the status its backup started from (in-use for a forced backup).
func (s *Store) VolumePreviousStatus(ctx context.Context, id string) (string, error) {
	var prev sql.NullString
	err := s.ro.QueryRowContext(ctx, "SELECT previous_status FROM volumes WHERE id = ? AND deleted = 0", id).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &resource.NotFoundError{Kind: "Volume", ID: id}
	}
	if err != nil {
		return "", fmt.Errorf("previous status of volume %s: %w", id, err)
	}
	return prev.String, nil
}
