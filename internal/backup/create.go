package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/volumeio"
)

// CreateBackup takes backup id (creating): the volume service of its volume names the
// device to read (the volume, or a temporary volume), this host attaches it read-only, the
// driver writes the backup (incremental against its parent), the device is detached and a
// temporary volume removed, and the backup ends available with what the driver wrote — or
// error with a user message, its volume given back either way (FinishBackup, FailBackup).
// Every step may run again after a crash or a redelivery.
func (m *Manager) CreateBackup(ctx context.Context, id string) error {
	log := m.opLog(ctx, id)
	b, err := m.Store.GetBackup(ctx, id)
	if gone(err) {
		log.WithError(err).Warn("create_backup of a backup that is gone; dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("create backup %s: %w", id, err)
	}
	if b.Status != resource.BackupCreating {
		log.WithField("status", b.Status).Warn("create_backup of a backup that is not creating; dropped")
		return nil
	}
	if !m.ours(log, b, rpcapi.CreateBackup) {
		return nil
	}
	release, err := m.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	res, err := m.runBackup(ctx, log, b)
	if err != nil {
		if ctx.Err() != nil { // stopping: recovery of the next start ends it
			return err
		}
		log.WithError(err).Error("backup failed")
		if ferr := m.Store.FailBackup(ctx, id, err.Error(), backupMessage(ctx, b, resource.ActionBackupCreate, err)); ferr != nil && !gone(ferr) {
			return fmt.Errorf("set backup %s to error: %w", id, ferr)
		}
		return nil
	}
	svc := m.Driver.Service()
	ch := resource.BackupChange{Service: &svc, ServiceMetadata: &res.ServiceMetadata, ObjectCount: &res.ObjectCount,
		Container: &res.Container, Host: &m.Host}
	if err := m.Store.FinishBackup(ctx, id, ch); err != nil {
		if gone(err) {
			log.WithError(err).Warn("backup changed while it was taken; left as it is")
			return nil
		}
		return fmt.Errorf("finish backup %s: %w", id, err)
	}
	if err := m.Store.SetBackupProgress(ctx, id, 100); err != nil {
		log.WithError(err).Debug("could not record the progress")
	}
	log.WithFields(logrus.Fields{"objects": res.ObjectCount, "duration": time.Since(start).Round(time.Millisecond)}).Info("backup created")
	return nil
}

// runBackup does the work of CreateBackup up to the end of the row.
func (m *Manager) runBackup(ctx context.Context, log logrus.FieldLogger, b *resource.Backup) (Result, error) {
	v, err := m.Store.GetVolume(ctx, b.VolumeID)
	if err != nil {
		return Result{}, step(resource.DetailVolumeInvalidState, fmt.Errorf("volume of the backup: %w", err))
	}
	host := rpcapi.BackendHost(v.Host)
	var parent *resource.Backup
	if b.ParentID != "" {
		if parent, err = m.Store.GetBackup(ctx, b.ParentID); err != nil {
			return Result{}, step(detailBackupInvalidState, fmt.Errorf("parent backup: %w", err))
		}
	}
	var dev rpcapi.BackupDevice
	if err := m.call(ctx, host, rpcapi.GetBackupDevice, deviceCallTimeout,
		rpcapi.BackupDeviceArgs{BackupID: b.ID, VolumeID: v.ID}, &dev); err != nil {
		// A temporary volume the call may have recorded is removed (it may have been made).
		m.removeDevice(ctx, log, host, b.ID, "")
		return Result{}, step(detailBackupCreateDeviceError, err)
	}
	res, err := m.readDevice(ctx, log, host, b, parent, dev.VolumeID)
	if dev.IsTemp {
		if rerr := m.call(ctx, host, rpcapi.RemoveBackupDevice, deviceCallTimeout,
			rpcapi.BackupDeviceArgs{BackupID: b.ID, VolumeID: dev.VolumeID}, nil); rerr != nil && err == nil {
			err = step(detailBackupCreateCleanupError, rerr)
		}
	}
	return res, err
}

// readDevice attaches volume id of host read-only, runs the driver's backup over it and
// detaches it.
func (m *Manager) readDevice(ctx context.Context, log logrus.FieldLogger, host string, b, parent *resource.Backup, id string) (Result, error) {
	a, err := m.attach(ctx, host, id, volumeio.ReadOnly)
	if err != nil {
		return Result{}, step(detailAttachError, err)
	}
	res, err := m.Driver.Backup(ctx, b, parent, a.dev, m.progress(ctx, log, b.ID, "backup"))
	if err != nil {
		err = step(detailBackupCreateDriverError, err)
	}
	if derr := m.detach(ctx, a); derr != nil && err == nil {
		err = step(detailDetachError, derr)
	}
	return res, err
}

// removeDevice asks the volume service of host to remove the temporary volume of backup id
// (tempID, or the one the backup records), logging a failure: recovery removes it later.
func (m *Manager) removeDevice(ctx context.Context, log logrus.FieldLogger, host, id, tempID string) {
	err := m.call(ctx, host, rpcapi.RemoveBackupDevice, deviceCallTimeout, rpcapi.BackupDeviceArgs{BackupID: id, VolumeID: tempID}, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.WithError(err).Warn("could not remove the temporary volume of the backup; recovery will")
	}
}
