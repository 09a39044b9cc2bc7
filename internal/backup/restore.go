package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/volumeio"
)

// RestoreBackup writes backup a.BackupID (restoring) over volume a.VolumeID: the chain of
// backups from the full one is read by the driver into the volume, attached read-write on
// this host. The backup ends available; the volume available, or error_restoring (error for
// a volume made from the backup, still creating) with a user message when the restore
// failed. a.VolumeIsNew (a volume that holds no data yet) lets the driver skip zeros.
func (m *Manager) RestoreBackup(ctx context.Context, a rpcapi.RestoreBackupArgs) error {
	log := m.opLog(ctx, a.BackupID).WithField("volume_id", a.VolumeID)
	b, err := m.Store.GetBackup(ctx, a.BackupID)
	if gone(err) {
		log.WithError(err).Warn("restore_backup of a backup that is gone; dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore backup %s: %w", a.BackupID, err)
	}
	if b.Status != resource.BackupRestoring || b.RestoreVolumeID != a.VolumeID {
		log.WithFields(logrus.Fields{"status": b.Status, "restore_volume_id": b.RestoreVolumeID}).Warn("restore_backup of a backup not restoring into this volume; dropped")
		return nil
	}
	if !m.ours(log, b, rpcapi.RestoreBackup) {
		return nil
	}
	release, err := m.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	// A volume made from the backup (3.47) is still creating; a new volume the API made for
	// the restore (VolumeIsNew too) is restoring-backup like an existing one, and ends as one.
	creating := false
	if a.VolumeIsNew {
		if v, verr := m.Store.GetVolume(ctx, a.VolumeID); verr == nil {
			creating = v.Status == resource.StatusCreating
		}
	}
	err = m.runRestore(ctx, log, b, a, creating)
	if err != nil && ctx.Err() != nil {
		return err // stopping: recovery of the next start ends it
	}
	if err != nil {
		log.WithError(err).Error("restore failed")
	}
	if eerr := m.endRestore(ctx, b, a.VolumeID, creating, err); eerr != nil {
		return eerr
	}
	if err == nil {
		log.WithField("duration", time.Since(start).Round(time.Millisecond)).Info("backup restored")
	}
	return nil
}

// endRestore ends the restore of b into volumeID, in failure when cause is not nil.
func (m *Manager) endRestore(ctx context.Context, b *resource.Backup, volumeID string, isNew bool, cause error) error {
	var msg *resource.Message
	if cause != nil {
		msg = backupMessage(ctx, b, resource.ActionBackupRestore, cause)
	}
	var err error
	switch {
	case isNew:
		err = m.Store.EndNewVolumeRestore(ctx, b.ID, volumeID, cause == nil, msg)
	case cause == nil:
		err = m.Store.FinishRestore(ctx, b.ID)
	default:
		err = m.Store.FailRestore(ctx, b.ID, msg)
	}
	if err != nil && !gone(err) {
		return fmt.Errorf("end restore of backup %s: %w", b.ID, err)
	}
	return nil
}

func (m *Manager) runRestore(ctx context.Context, log logrus.FieldLogger, b *resource.Backup, a rpcapi.RestoreBackupArgs, creating bool) error {
	v, err := m.Store.GetVolume(ctx, a.VolumeID)
	if err != nil {
		return step(resource.DetailVolumeInvalidState, fmt.Errorf("volume to restore: %w", err))
	}
	want := resource.StatusRestoringBackup
	if creating {
		want = resource.StatusCreating
	}
	if v.Status != want {
		return step(resource.DetailVolumeInvalidState, fmt.Errorf("volume %s is %s, not %s", v.ID, v.Status, want))
	}
	if b.Service != "" && b.Service != m.Driver.Service() {
		return step(detailBackupRestoreError, fmt.Errorf("Restore backup aborted, the backup service currently configured [%s] is not the backup service that was used to create this backup [%s].",
			m.Driver.Service(), b.Service))
	}
	chain, err := m.chain(ctx, b)
	if err != nil {
		return step(detailBackupInvalidState, err)
	}
	if err := m.Store.SetBackupProgress(ctx, b.ID, 0); err != nil {
		log.WithError(err).Debug("could not record the progress")
	}
	at, err := m.attach(ctx, rpcapi.BackendHost(v.Host), v.ID, volumeio.ReadWrite)
	if err != nil {
		return step(detailAttachError, err)
	}
	progress := m.progress(ctx, log, b.ID, "restore")
	if nr, ok := m.Driver.(newVolumeRestorer); ok && a.VolumeIsNew {
		err = nr.RestoreVolume(ctx, chain, v.ID, at.dev, progress, true)
	} else {
		err = m.Driver.Restore(ctx, chain, v.ID, at.dev, progress)
	}
	if err != nil {
		err = step(detailBackupRestoreError, err)
	}
	if derr := m.detach(ctx, at); derr != nil && err == nil {
		err = step(detailDetachError, derr)
	}
	return err
}

// chain is the backups from the full one b is based on to b (b last).
func (m *Manager) chain(ctx context.Context, b *resource.Backup) ([]*resource.Backup, error) {
	chain := []*resource.Backup{b}
	seen := map[string]bool{b.ID: true}
	for cur := b; cur.ParentID != ""; {
		if seen[cur.ParentID] {
			return nil, fmt.Errorf("backup %s: its parents loop at %s", b.ID, cur.ParentID)
		}
		p, err := m.Store.GetBackup(ctx, cur.ParentID)
		if err != nil {
			return nil, fmt.Errorf("parent %s of backup %s: %w", cur.ParentID, cur.ID, err)
		}
		seen[p.ID] = true
		chain = append([]*resource.Backup{p}, chain...)
		cur = p
	}
	return chain, nil
}

// newVolumeRestorer is a driver that restores into a new volume (Cinder's volume_is_new)
// differently: a new volume reads as zeros, so the backup's zero ranges need not be written
// and the volume stays sparse.
type newVolumeRestorer interface {
	RestoreVolume(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress ProgressFunc, volumeIsNew bool) error
}
