package backup

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// recoveryReason is the fail reason of a backup left creating by a backup service that
// stopped, as Cinder's cleanup writes it.
const recoveryReason = "incomplete backup reset on manager restart"

// Recover ends what this host left in flight when its service stopped, as Cinder's
// _cleanup_incomplete_backup_operations: a backup creating ends error and its volume goes
// back (an import ends error); a backup restoring goes back to available and its volume to
// error_restoring (a volume made from it to error); a backup deleting is deleted again; and
// the temporary volumes of backups that ended are removed. The backups and volumes are
// ended first, the temporary volumes after, so that a volume service that does not answer
// leaves nothing transitional. Every step may run again: an error is returned for the
// caller to retry.
func (m *Manager) Recover(ctx context.Context) error {
	if err := m.recoverInFlight(ctx); err != nil {
		return err
	}
	return m.removeTemps(ctx)
}

// recoverInFlight ends the backups of this host left creating, restoring or deleting.
func (m *Manager) recoverInFlight(ctx context.Context) error {
	backups, err := m.Store.ListBackupsByHost(ctx, m.Host, []string{resource.BackupCreating, resource.BackupRestoring, resource.BackupDeleting})
	if err != nil {
		return fmt.Errorf("list backups of %s: %w", m.Host, err)
	}
	var errs []error
	for _, b := range backups {
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: b.UserID, ProjectID: b.ProjectID})
		log := m.opLog(rctx, b.ID).WithField("status", b.Status)
		if err := m.recoverOne(rctx, log, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTemps removes the temporary volumes of the backups of this host that ended.
func (m *Manager) removeTemps(ctx context.Context) error {
	ended, err := m.Store.ListBackupsByHost(ctx, m.Host, []string{resource.BackupAvailable, resource.BackupError,
		resource.BackupErrorDeleting})
	if err != nil {
		return fmt.Errorf("list backups of %s: %w", m.Host, err)
	}
	var errs []error
	for _, b := range ended {
		if b.TempVolumeID == "" {
			continue
		}
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: b.UserID, ProjectID: b.ProjectID})
		if err := m.removeTemp(rctx, b); err != nil {
			errs = append(errs, err)
			continue
		}
		m.opLog(rctx, b.ID).WithField("temp_volume_id", b.TempVolumeID).Info("recovery: temporary volume removed")
	}
	return errors.Join(errs...)
}

func (m *Manager) recoverOne(ctx context.Context, log logrus.FieldLogger, b *resource.Backup) error {
	switch b.Status {
	case resource.BackupCreating:
		var err error
		if b.VolumeID == resource.ImportVolumeID {
			reason := recoveryReason
			_, err = m.Store.TransitionBackup(ctx, b.ID, []string{resource.BackupCreating},
				resource.BackupChange{Status: resource.BackupError, FailReason: &reason})
		} else {
			err = m.Store.FailBackup(ctx, b.ID, recoveryReason, backupMessage(ctx, b, resource.ActionBackupCreate, errors.New(recoveryReason)))
		}
		if err != nil && !gone(err) {
			return fmt.Errorf("recover backup %s: %w", b.ID, err)
		}
		log.Warn("recovery: backup left creating set to error")
	case resource.BackupRestoring:
		isNew := false
		if b.RestoreVolumeID != "" {
			v, err := m.Store.GetVolume(ctx, b.RestoreVolumeID)
			if err != nil && !errors.Is(err, resource.ErrNotFound) {
				return fmt.Errorf("recover backup %s: %w", b.ID, err)
			}
			isNew = err == nil && v.Status == resource.StatusCreating
		}
		if err := m.endRestore(ctx, b, b.RestoreVolumeID, isNew, errors.New("the backup service stopped during the restore")); err != nil {
			return err
		}
		log.Warn("recovery: restore left running ended in failure; backup available")
	case resource.BackupDeleting:
		if err := m.DeleteBackup(ctx, b.ID); err != nil {
			return err
		}
		log.Info("recovery: delete finished")
	}
	return nil
}

// removeTemp asks the volume service that holds the temporary volume of backup b to remove
// it (the service of b's volume when the temporary row is gone).
func (m *Manager) removeTemp(ctx context.Context, b *resource.Backup) error {
	host := ""
	if tv, err := m.Store.GetVolume(ctx, b.TempVolumeID); err == nil {
		host = tv.Host
	} else if !errors.Is(err, resource.ErrNotFound) {
		return err
	}
	if host == "" {
		v, err := m.Store.GetVolume(ctx, b.VolumeID)
		if err != nil {
			return fmt.Errorf("temporary volume %s of backup %s: no volume service to remove it: %w", b.TempVolumeID, b.ID, err)
		}
		host = v.Host
	}
	return m.call(ctx, rpcapi.BackendHost(host), rpcapi.RemoveBackupDevice, deviceCallTimeout,
		rpcapi.BackupDeviceArgs{BackupID: b.ID, VolumeID: b.TempVolumeID}, nil)
}
