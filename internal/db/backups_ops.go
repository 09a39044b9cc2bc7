package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// Changes of backups beyond their create and its end: restores, deletes, an
// administrator's status reset, a user's update, and the import of a backup record.

// StartRestore starts the restore of a backup to an existing volume, after Cinder's checks
// (the backup available, the volume available and at least the backup's size): the backup
// to restoring with restore_volume_id (and host, when r.Host is set), the volume to
// restoring-backup, and msgs, in one transaction. A missing backup or volume is a
// *resource.NotFoundError, a refusal a *resource.BackupRefusedError in Cinder's words.
func (s *Store) StartRestore(ctx context.Context, r resource.BackupRestore, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		status, size, volErr := s.lockVolumeStatus(ctx, tx, r.VolumeID)
		if volErr != nil && !errors.Is(volErr, resource.ErrNotFound) {
			return volErr
		}
		b, err := s.lockBackup(ctx, tx, r.BackupID)
		if err != nil {
			return err
		}
		if b.status != resource.BackupAvailable {
			return &resource.BackupRefusedError{Kind: "Backup", Reason: "Backup status must be available"}
		}
		if volErr != nil {
			return volErr
		}
		if status != resource.StatusAvailable {
			return &resource.BackupRefusedError{Kind: "Volume", Reason: "Volume to be restored to must be available"}
		}
		if b.size > size {
			return &resource.BackupRefusedError{Kind: "Volume", Reason: fmt.Sprintf("volume size %d is too small to restore backup of size %d.", size, b.size)}
		}
		if err := s.conditional(ctx, tx, r.VolumeID, []string{resource.StatusAvailable},
			"UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.StatusRestoringBackup, dbTime(now), r.VolumeID, resource.StatusAvailable); err != nil {
			return err
		}
		set, args := "status = ?, restore_volume_id = ?, updated_at = ?", []any{resource.BackupRestoring, r.VolumeID, dbTime(now)}
		if r.Host != "" {
			set, args = set+", host = ?", append(args, r.Host)
		}
		if err := s.conditionalBackup(ctx, tx, r.BackupID, []string{resource.BackupAvailable},
			"UPDATE backups SET "+set+" WHERE id = ? AND deleted = 0 AND status = ?",
			append(args, r.BackupID, resource.BackupAvailable)...); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("restore backup %s to volume %s: %w", r.BackupID, r.VolumeID, err)
	}
	return out, nil
}

// FinishRestore ends the restore of backup id: the backup restoring → available, and its
// restore volume restoring-backup → available, in one transaction. A volume restored from
// another volume's backup (or that named another backup) gets the volume metadata
// src_backup_id, as Cinder writes it. A backup that is not restoring is a
// *resource.InvalidStateError, and nothing changes; a restore volume that is no longer
// restoring-backup (reset, deleted) is left as it is.
func (s *Store) FinishRestore(ctx context.Context, id string) error {
	return s.endRestore(ctx, id, resource.StatusAvailable, nil)
}

// FailRestore ends the restore of backup id in failure: the backup back to available, its
// restore volume restoring-backup → error_restoring, and msg (a user message, when non-nil),
// in one transaction. Recovery of a backup service that died mid-restore calls it too.
// Errors are those of FinishRestore.
func (s *Store) FailRestore(ctx context.Context, id string, msg *resource.Message) error {
	return s.endRestore(ctx, id, resource.StatusErrorRestoring, msg)
}

func (s *Store) endRestore(ctx context.Context, id, volumeStatus string, msg *resource.Message) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var volumeID string
		var restoreID sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT volume_id, restore_volume_id FROM backups WHERE id = ? AND deleted = 0", id).Scan(&volumeID, &restoreID)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Backup", ID: id}
		}
		if err != nil {
			return err
		}
		target := restoreID.String
		if target != "" {
			if err := s.lockRow(ctx, tx, "volumes", target); err != nil {
				return err
			}
		}
		if err := s.conditionalBackup(ctx, tx, id, []string{resource.BackupRestoring},
			"UPDATE backups SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.BackupAvailable, dbTime(now), id, resource.BackupRestoring); err != nil {
			return err
		}
		if target == "" {
			return nil
		}
		res, err := tx.ExecContext(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			volumeStatus, dbTime(now), target, resource.StatusRestoringBackup)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 && volumeStatus == resource.StatusAvailable {
			if err := markRestoredFrom(ctx, tx, target, volumeID, id, now); err != nil {
				return err
			}
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end restore of backup %s: %w", id, err)
	}
	return nil
}

// markRestoredFrom writes src_backup_id on a volume restored from backup id of volume
// sourceVolumeID, when Cinder does: the backup is another volume's, or the volume already
// names a backup.
func markRestoredFrom(ctx context.Context, tx *sql.Tx, target, sourceVolumeID, id string, now time.Time) error {
	if sourceVolumeID == target {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM volume_metadata WHERE volume_id = ? AND `key` = ?",
			target, resource.BackupMetadataKeySource).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
	return writeMetadata(ctx, tx, "volume_metadata", target, map[string]string{resource.BackupMetadataKeySource: id}, now)
}

// StartBackupDelete moves a backup to deleting (and to host d.Host, when set) and writes
// msgs, in one transaction, after Cinder's checks: its status one of d.From, and no
// incremental backup based on it. A refusal is a *resource.BackupRefusedError in Cinder's
// words, a missing backup a *resource.NotFoundError.
func (s *Store) StartBackupDelete(ctx context.Context, d resource.BackupDelete, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(d.From) == 0 {
		return nil, fmt.Errorf("delete backup %s: no status to delete from", d.BackupID)
	}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b, err := s.lockBackup(ctx, tx, d.BackupID)
		if err != nil {
			return err
		}
		if !slices.Contains(d.From, b.status) {
			return &resource.BackupRefusedError{Kind: "Backup", Reason: "Backup status must be available or error"}
		}
		if b.dependents > 0 {
			return &resource.BackupRefusedError{Kind: "Backup", Reason: "Incremental backups exist for this backup."}
		}
		set, args := "status = ?, updated_at = ?", []any{resource.BackupDeleting, dbTime(now)}
		if d.Host != "" {
			set, args = set+", host = ?", append(args, d.Host)
		}
		if err := s.conditionalBackup(ctx, tx, d.BackupID, d.From,
			"UPDATE backups SET "+set+" WHERE id = ? AND deleted = 0 AND num_dependent_backups = 0 AND status IN ("+placeholders(len(d.From))+")",
			append(append(args, d.BackupID), strArgs(d.From)...)...); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete backup %s: %w", d.BackupID, err)
	}
	return out, nil
}

// DestroyBackup soft-deletes backup id if its status is one of from (status deleted,
// deleted=1, deleted_at now), gives its quota back and takes it from its parent's
// dependents, in one transaction. A backup with dependents is refused (a
// *resource.BackupRefusedError) whatever its status; other errors are those of
// TransitionBackup.
func (s *Store) DestroyBackup(ctx context.Context, id string, from []string) error {
	if len(from) == 0 {
		return fmt.Errorf("destroy backup %s: no status to delete from", id)
	}
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b, err := s.lockBackup(ctx, tx, id)
		if err != nil {
			return err
		}
		if b.dependents > 0 {
			return &resource.BackupRefusedError{Kind: "Backup", Reason: "Incremental backups exist for this backup."}
		}
		if err := s.conditionalBackup(ctx, tx, id, from,
			"UPDATE backups SET status = ?, deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status IN ("+placeholders(len(from))+")",
			append([]any{resource.BackupDeleted, now, now, id}, strArgs(from)...)...); err != nil {
			return err
		}
		if b.parentID != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE backups SET num_dependent_backups = num_dependent_backups - 1, updated_at = ?
				WHERE id = ? AND num_dependent_backups > 0`, now, b.parentID); err != nil {
				return err
			}
		}
		return s.chargeQuota(ctx, tx, quotaChange{ProjectID: b.projectID, Backups: -1, BackupGigabytes: -b.size})
	})
	if err != nil {
		return fmt.Errorf("destroy backup %s: %w", id, err)
	}
	return nil
}

// ResetBackupStatus sets the status of backup id, whatever it is now: an administrator's
// os-reset_status. A status that is not a backup's is an error wrapping
// resource.ErrInvalidState; a missing backup a *resource.NotFoundError.
func (s *Store) ResetBackupStatus(ctx context.Context, id, status string) error {
	if !slices.Contains(resource.BackupStatuses, status) {
		return fmt.Errorf("reset status of backup %s: %q is not a backup status: %w", id, status, resource.ErrInvalidState)
	}
	if err := s.backupExists(ctx, s.db, id, "UPDATE backups SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0",
		status, dbTime(s.now()), id); err != nil {
		return fmt.Errorf("reset status of backup %s to %s: %w", id, status, err)
	}
	return nil
}

// backupExists runs an UPDATE of backup id that touches its row whatever its status; no row
// touched means there is no such backup.
func (s *Store) backupExists(ctx context.Context, q querier, id, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return &resource.NotFoundError{Kind: "Backup", ID: id}
	}
	return nil
}

// UpdateBackup applies a user's change of name, description and metadata (a non-nil
// Metadata replaces all of it) to backup id, in one transaction, and returns the backup as
// it is now. A missing backup is a *resource.NotFoundError.
func (s *Store) UpdateBackup(ctx context.Context, id string, u resource.BackupUpdate) (*resource.Backup, error) {
	now := s.now()
	var out *resource.Backup
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, args := "updated_at = ?", []any{dbTime(now)}
		if u.Name != nil {
			set, args = set+", display_name = ?", append(args, nullString(*u.Name))
		}
		if u.Description != nil {
			set, args = set+", display_description = ?", append(args, nullString(*u.Description))
		}
		if err := s.backupExists(ctx, tx, id, "UPDATE backups SET "+set+" WHERE id = ? AND deleted = 0", append(args, id)...); err != nil {
			return err
		}
		if u.Metadata != nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM backup_metadata WHERE backup_id = ?", id); err != nil {
				return err
			}
			if err := insertBackupMetadata(ctx, tx, id, u.Metadata, now); err != nil {
				return err
			}
		}
		var err error
		out, err = getBackup(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update backup %s: %w", id, err)
	}
	return out, nil
}

// ImportBackup starts the import of a backup record (import_record), as Cinder's API does:
// the row of rec.ID, creating, of volume resource.ImportVolumeID, of rec.ProjectID and
// rec.UserID, charged to the project's quota (backups +1, backup_gigabytes + rec.Size), and
// msgs, in one transaction. A soft-deleted backup of that id is replaced (Cinder revives
// it); a live one is refused with a *resource.BackupRefusedError ("Backup already exists in
// database."). The backup service then calls FinishBackupImport, or FailBackup.
func (s *Store) ImportBackup(ctx context.Context, rec *resource.Backup, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if rec.ID == "" || rec.ProjectID == "" {
		return nil, errors.New("import backup: the record's id and the project are required")
	}
	if rec.Size < 0 {
		return nil, fmt.Errorf("import backup %s: size %d: %w", rec.ID, rec.Size, resource.ErrInvalidState)
	}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var deleted int
		err := tx.QueryRowContext(ctx, "SELECT deleted FROM backups WHERE id = ?"+s.forUpdate(), rec.ID).Scan(&deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case deleted == 0:
			return &resource.BackupRefusedError{Kind: "Backup", Reason: "Backup already exists in database."}
		default:
			if _, err := tx.ExecContext(ctx, "DELETE FROM backups WHERE id = ?", rec.ID); err != nil {
				return err
			}
		}
		if err := s.chargeQuota(ctx, tx, quotaChange{ProjectID: rec.ProjectID, Backups: 1, BackupGigabytes: rec.Size}); err != nil {
			return err
		}
		// Backups imported before it may name it their parent: they count from the start.
		var children int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM backups WHERE parent_id = ? AND deleted = 0", rec.ID).Scan(&children); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO backups (id, volume_id, user_id, project_id, status, size,
			num_dependent_backups, object_count, created_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0)`,
			rec.ID, resource.ImportVolumeID, nullString(rec.UserID), rec.ProjectID, resource.BackupCreating, rec.Size,
			children, dbTime(now)); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("import backup %s: %w", rec.ID, err)
	}
	rec.VolumeID, rec.Status, rec.CreatedAt, rec.Metadata = resource.ImportVolumeID, resource.BackupCreating, now, map[string]string{}
	return out, nil
}

// FinishBackupImport ends the import of backup id (creating → available) with the fields of
// the record its driver decoded, as Cinder's manager writes them: volume, name,
// description, container, size, service metadata, object count, parent, snapshot, data
// timestamp, availability zone, host, service and encryption key. In the same transaction
// a size other than the one ImportBackup charged is charged or given back, the backup counts
// the live backups that name it their parent (imported before it), and it counts itself
// among its parent's dependents when its parent is live. Errors are those of
// TransitionBackup.
func (s *Store) FinishBackupImport(ctx context.Context, id string, rec resource.Backup) error {
	if rec.Size < 0 {
		return fmt.Errorf("finish import of backup %s: size %d: %w", id, rec.Size, resource.ErrInvalidState)
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b, err := s.lockBackup(ctx, tx, id)
		if err != nil {
			return err
		}
		if rec.ParentID == id {
			return &resource.BackupRefusedError{Kind: "Backup", Reason: "A backup cannot be its own parent."}
		}
		var children int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM backups WHERE parent_id = ? AND deleted = 0", id).Scan(&children); err != nil {
			return err
		}
		volumeID := rec.VolumeID
		if volumeID == "" {
			volumeID = resource.ImportVolumeID
		}
		if err := s.conditionalBackup(ctx, tx, id, []string{resource.BackupCreating}, `UPDATE backups SET status = ?, volume_id = ?,
			display_name = ?, display_description = ?, container = ?, size = ?, service_metadata = ?, object_count = ?,
			parent_id = ?, snapshot_id = ?, data_timestamp = ?, availability_zone = ?, host = ?, service = ?,
			encryption_key_id = ?, num_dependent_backups = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?`,
			resource.BackupAvailable, volumeID, nullString(rec.Name), nullString(rec.Description), nullString(rec.Container),
			rec.Size, nullString(rec.ServiceMetadata), rec.ObjectCount, nullString(rec.ParentID), nullString(rec.SnapshotID),
			dbTimePtr(rec.DataTimestamp), nullString(rec.AvailabilityZone), nullString(rec.Host), nullString(rec.Service),
			nullString(rec.EncryptionKeyID), children, dbTime(now), id, resource.BackupCreating); err != nil {
			return err
		}
		if rec.ParentID != "" {
			if _, err := tx.ExecContext(ctx, "UPDATE backups SET num_dependent_backups = num_dependent_backups + 1, updated_at = ? WHERE id = ? AND deleted = 0",
				dbTime(now), rec.ParentID); err != nil {
				return err
			}
		}
		if d := rec.Size - b.size; d != 0 {
			return s.chargeQuota(ctx, tx, quotaChange{ProjectID: b.projectID, BackupGigabytes: d})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish import of backup %s: %w", id, err)
	}
	return nil
}
