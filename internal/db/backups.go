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

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// Backups (issue 18), as Cinder's backup API and manager keep their rows: a create takes the
// backup row, its metadata, its quota, the source (the volume to backing-up, or the
// snapshot), the parent's dependent count and the cast in one transaction; the backup
// service ends it with one transaction that sets the backup's status and gives the source
// back. Restores and deletes go the same way. Locks are taken volume first, then snapshot,
// then backups, in every transaction that takes more than one.
//
// num_dependent_backups counts a backup's live children, whatever their status: it goes up
// in the create of an incremental backup (Cinder counts a child when it finishes; counting
// it from its create keeps its parent from being deleted while the child is read against
// it) and down in the destroy of a child, so it always equals the children's rows.

const backupColumns = `b.id, b.volume_id, b.user_id, b.project_id, b.host, b.availability_zone, b.display_name,
	b.display_description, b.container, b.status, b.fail_reason, b.service_metadata, b.service, b.size,
	b.object_count, b.parent_id, b.temp_volume_id, b.temp_snapshot_id, b.num_dependent_backups, b.snapshot_id,
	b.data_timestamp, b.restore_volume_id, b.encryption_key_id, b.created_at, b.updated_at, b.deleted_at, b.progress`

// maxFailReason is the length of Cinder's fail_reason column, to which it cuts reasons.
const maxFailReason = 255

func scanBackup(sc scanner) (*resource.Backup, error) {
	var (
		b                                                       resource.Backup
		user, host, az, name, desc, container, fail, smeta, svc sql.NullString
		parent, tempVol, tempSnap, snap, restore, key           sql.NullString
		dataTS, created, updated, deleted                       nullTime
	)
	if err := sc.Scan(&b.ID, &b.VolumeID, &user, &b.ProjectID, &host, &az, &name, &desc, &container, &b.Status,
		&fail, &smeta, &svc, &b.Size, &b.ObjectCount, &parent, &tempVol, &tempSnap, &b.NumDependentBackups, &snap,
		&dataTS, &restore, &key, &created, &updated, &deleted, &b.Progress); err != nil {
		return nil, err
	}
	b.UserID, b.Host, b.AvailabilityZone, b.Name, b.Description = user.String, host.String, az.String, name.String, desc.String
	b.Container, b.FailReason, b.ServiceMetadata, b.Service = container.String, fail.String, smeta.String, svc.String
	b.ParentID, b.TempVolumeID, b.TempSnapshotID, b.SnapshotID = parent.String, tempVol.String, tempSnap.String, snap.String
	b.RestoreVolumeID, b.EncryptionKeyID = restore.String, key.String
	b.DataTimestamp, b.CreatedAt, b.UpdatedAt, b.DeletedAt = dataTS.Ptr(), created.Time, updated.Ptr(), deleted.Ptr()
	return &b, nil
}

// queryBackups runs a query of backupColumns and loads the metadata of what it found.
func queryBackups(ctx context.Context, q querier, query string, args ...any) ([]*resource.Backup, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*resource.Backup
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close() // before the next query: a SQLite pool may have a single connection
	return out, loadBackupMetadata(ctx, q, out)
}

func loadBackupMetadata(ctx context.Context, q querier, backups []*resource.Backup) error {
	ids := make([]string, len(backups))
	for i, b := range backups {
		ids[i] = b.ID
	}
	md, err := keyValuesOf(ctx, q, "backup_metadata", "backup_id", ids)
	if err != nil {
		return err
	}
	for _, b := range backups {
		if b.Metadata = md[b.ID]; b.Metadata == nil {
			b.Metadata = map[string]string{}
		}
	}
	return nil
}

func insertBackupMetadata(ctx context.Context, q querier, id string, md map[string]string, now time.Time) error {
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := q.ExecContext(ctx,
			"INSERT INTO backup_metadata (backup_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
			id, k, md[k], dbTime(now)); err != nil {
			return err
		}
	}
	return nil
}

// GetBackup returns backup id with its metadata; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetBackup(ctx context.Context, id string) (*resource.Backup, error) {
	return getBackup(ctx, s.ro, id)
}

func getBackup(ctx context.Context, q querier, id string) (*resource.Backup, error) {
	out, err := queryBackups(ctx, q, "SELECT "+backupColumns+" FROM backups b WHERE b.id = ? AND b.deleted = 0", id)
	if err != nil {
		return nil, fmt.Errorf("get backup %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, &resource.NotFoundError{Kind: "Backup", ID: id}
	}
	return out[0], nil
}

// lockedBackup is what the transactions of this file read of a backup, under its row lock.
type lockedBackup struct {
	id, volumeID, projectID, status, parentID, snapshotID, restoreVolumeID string
	size, dependents                                                       int
}

// lockBackup reads, and on MySQL locks, the row of backup id.
func (s *Store) lockBackup(ctx context.Context, q querier, id string) (*lockedBackup, error) {
	b := lockedBackup{id: id}
	var parent, snap, restore sql.NullString
	err := q.QueryRowContext(ctx, `SELECT volume_id, project_id, status, parent_id, snapshot_id, restore_volume_id,
		size, num_dependent_backups FROM backups WHERE id = ? AND deleted = 0`+s.forUpdate(), id).
		Scan(&b.volumeID, &b.projectID, &b.status, &parent, &snap, &restore, &b.size, &b.dependents)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "Backup", ID: id}
	}
	if err != nil {
		return nil, err
	}
	b.parentID, b.snapshotID, b.restoreVolumeID = parent.String, snap.String, restore.String
	return &b, nil
}

// lockRow takes, on MySQL, the lock of the row of id in table (volumes, snapshots), so that
// the locks of a transaction are taken in the order of CreateBackup's; a missing row is no
// error.
func (s *Store) lockRow(ctx context.Context, tx *sql.Tx, table, id string) error {
	if s.dialect != DialectMySQL {
		return nil // SQLite's write transactions run one at a time
	}
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = ? FOR UPDATE", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// lockVolumeStatus reads, and on MySQL locks, a volume's status and size.
func (s *Store) lockVolumeStatus(ctx context.Context, q querier, id string) (status string, size int, err error) {
	err = q.QueryRowContext(ctx, "SELECT status, size FROM volumes WHERE id = ? AND deleted = 0"+s.forUpdate(), id).Scan(&status, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, &resource.NotFoundError{Kind: "Volume", ID: id}
	}
	return status, size, err
}

// CreateBackup inserts backup b of volume b.VolumeID (of its snapshot b.SnapshotID when set)
// and writes msgs, in one transaction, after Cinder's checks: the volume available, or in-use
// with opts.Force; a snapshot of that volume, available. It charges backups +1 and
// backup_gigabytes + the volume's size, moves the volume to backing-up keeping its status in
// previous_status (or the snapshot to backing-up), and for opts.Incremental picks the parent
// as Cinder does — the volume's available backup (of b.ProjectID) with the latest
// DataTimestamp, before the snapshot's creation for a backup of a snapshot — and counts the
// new backup among its dependents. A parent written by the posix driver also gives its host,
// when b.Host is "" (the incremental must run where its parent's files are).
//
// It fills in ID (when ""), Status (creating), Size, ParentID, DataTimestamp (the snapshot's
// created_at, else the backup's) and CreatedAt. A missing volume or snapshot is a
// *resource.NotFoundError, a refusal a *resource.BackupRefusedError in Cinder's words, over
// quota a *resource.OverQuotaError; then nothing is written.
func (s *Store) CreateBackup(ctx context.Context, b *resource.Backup, opts resource.BackupCreate, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if b.VolumeID == "" || b.ProjectID == "" {
		return nil, errors.New("create backup: volume and project are required")
	}
	if b.ID == "" {
		b.ID = uuid.NewString()
	}
	b.Status = resource.BackupCreating
	now := s.now()
	host := b.Host
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b.ParentID, b.DataTimestamp, b.Host = "", nil, host // a deadlock's retry starts again
		status, size, err := s.lockVolumeStatus(ctx, tx, b.VolumeID)
		if err != nil {
			return err
		}
		var snapCreated *time.Time
		if b.SnapshotID != "" {
			var (
				snapVolume, snapStatus string
				created                nullTime
			)
			err := tx.QueryRowContext(ctx, "SELECT volume_id, status, created_at FROM snapshots WHERE id = ? AND deleted = 0"+s.forUpdate(), b.SnapshotID).
				Scan(&snapVolume, &snapStatus, &created)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return &resource.NotFoundError{Kind: "Snapshot", ID: b.SnapshotID}
			case err != nil:
				return err
			case snapVolume != b.VolumeID:
				return &resource.BackupRefusedError{Kind: "Volume", Reason: fmt.Sprintf("Volume %s does not match with snapshot.volume_id %s.", b.VolumeID, snapVolume)}
			case snapStatus != resource.SnapshotAvailable:
				return &resource.BackupRefusedError{Kind: "Snapshot", Reason: fmt.Sprintf("Snapshot to be backed up must be available, but the current status is \"%s\".", snapStatus)}
			}
			snapCreated = created.Ptr()
		} else {
			switch {
			case status != resource.StatusAvailable && status != resource.StatusInUse:
				return &resource.BackupRefusedError{Kind: "Volume", Reason: fmt.Sprintf("Volume to be backed up must be available or in-use, but the current status is \"%s\".", status)}
			case status == resource.StatusInUse && !opts.Force:
				return &resource.BackupRefusedError{Kind: "Volume", Reason: "Backing up an in-use volume must use the force flag."}
			}
		}
		b.Size = size
		if opts.Incremental {
			parent, err := s.latestBackup(ctx, tx, b.VolumeID, b.ProjectID, snapCreated)
			if err != nil {
				return err
			}
			b.ParentID = parent.ID
			if b.Host == "" && strings.Contains(parent.Service, "posix") {
				b.Host = parent.Host
			}
			// A delete of the parent that won the race leaves it deleting: refused as if it
			// had not been there (the read above cannot see past its snapshot on MySQL).
			switch err := s.conditionalBackup(ctx, tx, parent.ID, []string{resource.BackupAvailable},
				"UPDATE backups SET num_dependent_backups = num_dependent_backups + 1, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
				dbTime(now), parent.ID, resource.BackupAvailable); {
			case errors.Is(err, resource.ErrInvalidState), errors.Is(err, resource.ErrNotFound):
				return errNoParent
			case err != nil:
				return err
			}
		}
		// The quota after the parent, unlike Cinder (which reserves first): locks go volume,
		// backups, quota usage, in every transaction here.
		if err := s.chargeQuota(ctx, tx, quotaChange{ProjectID: b.ProjectID, Backups: 1, BackupGigabytes: size}); err != nil {
			return err
		}
		if b.SnapshotID != "" {
			if err := s.conditionalSnapshot(ctx, tx, b.SnapshotID, []string{resource.SnapshotAvailable},
				"UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
				resource.SnapshotBackingUp, dbTime(now), b.SnapshotID, resource.SnapshotAvailable); err != nil {
				return err
			}
			b.DataTimestamp = snapCreated
		} else {
			if err := s.conditional(ctx, tx, b.VolumeID, []string{status},
				"UPDATE volumes SET status = ?, previous_status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
				resource.StatusBackingUp, status, dbTime(now), b.VolumeID, status); err != nil {
				return err
			}
			b.DataTimestamp = &now
		}
		b.CreatedAt = now
		if _, err := tx.ExecContext(ctx, `INSERT INTO backups (id, volume_id, user_id, project_id, host,
			availability_zone, display_name, display_description, container, status, size, parent_id,
			snapshot_id, data_timestamp, encryption_key_id, num_dependent_backups, object_count, created_at, deleted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, 0)`,
			b.ID, b.VolumeID, nullString(b.UserID), b.ProjectID, nullString(b.Host), nullString(b.AvailabilityZone),
			nullString(b.Name), nullString(b.Description), nullString(b.Container), b.Status, b.Size,
			nullString(b.ParentID), nullString(b.SnapshotID), dbTimePtr(b.DataTimestamp), nullString(b.EncryptionKeyID),
			dbTime(now)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("id in use: %w", resource.ErrConflict)
			}
			return err
		}
		if err := insertBackupMetadata(ctx, tx, b.ID, b.Metadata, now); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create backup of volume %s: %w", b.VolumeID, err)
	}
	if b.Metadata == nil {
		b.Metadata = map[string]string{}
	}
	return out, nil
}

// errNoParent refuses an incremental backup of a volume without an available backup.
var errNoParent = &resource.BackupRefusedError{Kind: "Backup", Reason: "No backups available to do an incremental backup."}

// latestBackup picks the parent of an incremental backup of a volume, as Cinder's create
// does: of the project's backups of the volume, the available one with the latest
// data_timestamp (earlier than before, when before is not nil); ties go to the one created
// last. It reads without locks: the conditional UPDATE that counts the child on the parent
// (WHERE status = 'available') is what a concurrent delete of the parent races with.
func (s *Store) latestBackup(ctx context.Context, tx *sql.Tx, volumeID, projectID string, before *time.Time) (*resource.Backup, error) {
	cands, err := queryBackups(ctx, tx, "SELECT "+backupColumns+" FROM backups b WHERE b.volume_id = ? AND b.project_id = ? AND b.deleted = 0 ORDER BY b.created_at, b.id",
		volumeID, projectID)
	if err != nil {
		return nil, err
	}
	var best *resource.Backup
	for _, c := range cands {
		if c.Status != resource.BackupAvailable {
			continue
		}
		var ts time.Time
		if c.DataTimestamp != nil {
			ts = *c.DataTimestamp
		}
		if before != nil && !ts.Before(*before) {
			continue
		}
		if best == nil || best.DataTimestamp == nil || !ts.Before(*best.DataTimestamp) {
			best = c
		}
	}
	if best == nil {
		return nil, errNoParent
	}
	return best, nil
}

// conditionalBackup runs a conditional UPDATE of backup id; when it changed no row, it reads
// the backup (through q, inside the same transaction) to say why.
func (s *Store) conditionalBackup(ctx context.Context, q querier, id string, from []string, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	var status string
	switch err := q.QueryRowContext(ctx, "SELECT status FROM backups WHERE id = ? AND deleted = 0", id).Scan(&status); {
	case errors.Is(err, sql.ErrNoRows):
		return &resource.NotFoundError{Kind: "Backup", ID: id}
	case err != nil:
		return err
	}
	return &resource.InvalidStateError{Kind: "Backup", ID: id, Status: status, Want: slices.Clone(from)}
}

// backupSet is the SET clause of ch (status and updated_at first) and its arguments.
func backupSet(ch resource.BackupChange, now time.Time) (string, []any) {
	set, args := "status = ?, updated_at = ?", []any{ch.Status, dbTime(now)}
	str := func(col string, v *string) {
		if v != nil {
			set, args = set+", "+col+" = ?", append(args, nullString(*v))
		}
	}
	if ch.FailReason != nil {
		r := *ch.FailReason
		if len(r) > maxFailReason {
			r = truncateUTF8(r, maxFailReason)
		}
		set, args = set+", fail_reason = ?", append(args, nullString(r))
	}
	str("host", ch.Host)
	str("service", ch.Service)
	str("service_metadata", ch.ServiceMetadata)
	str("container", ch.Container)
	str("temp_volume_id", ch.TempVolumeID)
	str("temp_snapshot_id", ch.TempSnapshotID)
	str("encryption_key_id", ch.EncryptionKeyID)
	if ch.Size != nil {
		set, args = set+", size = ?", append(args, *ch.Size)
	}
	if ch.ObjectCount != nil {
		set, args = set+", object_count = ?", append(args, *ch.ObjectCount)
	}
	return set, args
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// TransitionBackup moves backup id from one of the statuses from to ch.Status, setting the
// fields ch sets, with one conditional UPDATE, and writes ch.Message and msgs in the same
// transaction if, and only if, it won. It leaves the backup's volume and snapshot alone: a
// create ends with FinishBackup or FailBackup, a restore with FinishRestore or FailRestore.
// A backup in another status is a *resource.InvalidStateError, a missing one a
// *resource.NotFoundError.
func (s *Store) TransitionBackup(ctx context.Context, id string, from []string, ch resource.BackupChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(from) == 0 || ch.Status == "" {
		return nil, fmt.Errorf("transition backup %s: no status to move from or to", id)
	}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, args := backupSet(ch, now)
		if err := s.conditionalBackup(ctx, tx, id, from,
			"UPDATE backups SET "+set+" WHERE id = ? AND deleted = 0 AND status IN ("+placeholders(len(from))+")",
			append(append(args, id), strArgs(from)...)...); err != nil {
			return err
		}
		if ch.Message != nil {
			if err := insertMessage(ctx, tx, now, ch.Message); err != nil {
				return err
			}
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("backup %s to %s: %w", id, ch.Status, err)
	}
	return out, nil
}

// FinishBackup ends the create of backup id: creating → available with the fields ch sets
// (its Status is ignored), and its source given back in the same transaction — the volume
// to its previous_status (previous_status then backing-up, as Cinder), or the snapshot to
// available. A backup that is no longer creating (a redelivered finish, a backup reset or
// force-deleted meanwhile) is left as it is and reported as a *resource.InvalidStateError,
// but its source is given back all the same, unless another backup is being taken of it.
func (s *Store) FinishBackup(ctx context.Context, id string, ch resource.BackupChange) error {
	ch.Status = resource.BackupAvailable
	return s.endBackup(ctx, id, ch, resource.StatusBackingUp)
}

// FailBackup ends the create of backup id in error: creating → error with reason (cut to
// 255 characters) and msg (a user message, when non-nil), its source given back as
// FinishBackup gives it (previous_status then error_backing-up, as Cinder). Recovery of a
// backup service that died mid-backup calls it too. Errors are those of FinishBackup.
func (s *Store) FailBackup(ctx context.Context, id, reason string, msg *resource.Message) error {
	return s.endBackup(ctx, id, resource.BackupChange{Status: resource.BackupError, FailReason: &reason, Message: msg},
		resource.PreviousStatusErrorBackingUp)
}

func (s *Store) endBackup(ctx context.Context, id string, ch resource.BackupChange, previous string) error {
	now := s.now()
	var stateErr error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stateErr = nil
		var volumeID string
		var snapshotID sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT volume_id, snapshot_id FROM backups WHERE id = ? AND deleted = 0", id).Scan(&volumeID, &snapshotID)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Backup", ID: id}
		}
		if err != nil {
			return err
		}
		// Volume, snapshot, then backups: the order of CreateBackup's locks.
		if err := s.giveBackSource(ctx, tx, id, volumeID, snapshotID.String, previous, now); err != nil {
			return err
		}
		set, args := backupSet(ch, now)
		switch err := s.conditionalBackup(ctx, tx, id, []string{resource.BackupCreating},
			"UPDATE backups SET "+set+" WHERE id = ? AND deleted = 0 AND status = ?",
			append(args, id, resource.BackupCreating)...); {
		case errors.Is(err, resource.ErrInvalidState):
			stateErr = err // the source is given back all the same
			return nil
		case err != nil:
			return err
		}
		if ch.Message != nil {
			return insertMessage(ctx, tx, now, ch.Message)
		}
		return nil
	})
	if err == nil {
		err = stateErr
	}
	if err != nil {
		return fmt.Errorf("backup %s to %s: %w", id, ch.Status, err)
	}
	return nil
}

// giveBackSource ends the backing-up of the source of backup id: the snapshot to available,
// or the volume to its previous_status (recording previous in its place), unless another
// backup of the same source is still being created.
func (s *Store) giveBackSource(ctx context.Context, tx *sql.Tx, id, volumeID, snapshotID, previous string, now time.Time) error {
	if snapshotID == "" {
		if err := s.lockRow(ctx, tx, "volumes", volumeID); err != nil {
			return err
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM backups WHERE volume_id = ? AND snapshot_id IS NULL
			AND status = ? AND deleted = 0 AND id <> ?`, volumeID, resource.BackupCreating, id).Scan(&others); err != nil {
			return err
		}
		if others > 0 {
			return nil
		}
		// A volume whose previous status is not one a backup starts from (an admin reset it
		// to backing-up) goes to available, the one a backup starts from without force.
		_, err := tx.ExecContext(ctx, `UPDATE volumes SET status = CASE WHEN previous_status IN (?, ?) THEN previous_status ELSE ? END,
			previous_status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?`,
			resource.StatusAvailable, resource.StatusInUse, resource.StatusAvailable, previous, dbTime(now), volumeID, resource.StatusBackingUp)
		return err
	}
	if err := s.lockRow(ctx, tx, "snapshots", snapshotID); err != nil {
		return err
	}
	var others int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM backups WHERE snapshot_id = ? AND status = ? AND deleted = 0 AND id <> ?",
		snapshotID, resource.BackupCreating, id).Scan(&others); err != nil {
		return err
	}
	if others > 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
		resource.SnapshotAvailable, dbTime(now), snapshotID, resource.SnapshotBackingUp)
	return err
}
