package volume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// The volume service's part of backups: the device a backup service reads
// (get_backup_device, remove_backup_device: the volume itself, or a temporary volume cloned
// from an in-use volume or made from a snapshot, as Cinder's _create_temp_cloned_volume and
// _create_temp_volume_from_snapshot), and a volume made from a backup (3.47), which the
// backup service fills in by a restore.

// backupStore is what the volume service needs of the database for backups.
type backupStore interface {
	GetBackup(ctx context.Context, id string) (*resource.Backup, error)
	VolumePreviousStatus(ctx context.Context, id string) (string, error)
	VolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string) (map[string]string, error)
	CreateBackupTempVolume(ctx context.Context, backupID string, v *resource.Volume) (string, error)
	DestroyBackupTempVolume(ctx context.Context, backupID, volumeID string) error
	StartNewVolumeRestore(ctx context.Context, backupID, volumeID, host string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	EndNewVolumeRestore(ctx context.Context, backupID, volumeID string, ok bool, msg *resource.Message) error
	ListBackups(ctx context.Context, f resource.BackupFilter) ([]*resource.Backup, error)
	ListServices(ctx context.Context, f resource.ServiceFilter) ([]*resource.Service, error)
}

// defaultServiceDownTime is service_down_time's default, used when Manager.ServiceDownTime
// is not set.
const defaultServiceDownTime = 60 * time.Second

// GetBackupDevice answers get_backup_device for backup a.BackupID of volume a.VolumeID:
// the volume itself, or, for a backup of a snapshot or of an in-use volume (forced), a
// temporary volume made from it on this backend. The temporary volume's row is recorded in
// the backup's temp_volume_id before its storage is made, so that a crash leaves it
// findable; asked again, the same temporary volume is answered (made now if it is still
// creating).
func (m *Manager) GetBackupDevice(ctx context.Context, a rpcapi.BackupDeviceArgs) (*rpcapi.BackupDevice, error) {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "backup_id": a.BackupID, "volume_id": a.VolumeID})
	b, err := m.Store.GetBackup(ctx, a.BackupID)
	if err != nil {
		return nil, fmt.Errorf("get backup device: %w", err)
	}
	if b.Status != resource.BackupCreating {
		return nil, fmt.Errorf("get backup device of backup %s: %w", b.ID,
			&resource.InvalidStateError{Kind: "Backup", ID: b.ID, Status: b.Status, Want: []string{resource.BackupCreating}})
	}
	v, err := m.Store.GetVolume(ctx, b.VolumeID)
	if err != nil {
		return nil, fmt.Errorf("get backup device of backup %s: %w", b.ID, err)
	}
	if !m.ours(v.Host) {
		return nil, fmt.Errorf("get backup device of backup %s: volume %s is on %s, not %s", b.ID, v.ID, v.Host, m.Host)
	}
	temp := &resource.Volume{ID: uuid.NewString(), ProjectID: v.ProjectID, UserID: v.UserID, Size: v.Size,
		Name: "backup-vol-" + v.ID, AvailabilityZone: v.AvailabilityZone, Host: v.Host, VolumeTypeID: v.VolumeTypeID}
	switch {
	case b.SnapshotID != "":
		sn, err := m.Store.GetSnapshot(ctx, b.SnapshotID)
		if err != nil {
			return nil, fmt.Errorf("get backup device of backup %s: %w", b.ID, err)
		}
		temp.SnapshotID, temp.Size = sn.ID, sn.Size
	default:
		prev, err := m.Store.VolumePreviousStatus(ctx, v.ID)
		if err != nil {
			return nil, fmt.Errorf("get backup device of backup %s: %w", b.ID, err)
		}
		if prev != resource.StatusInUse {
			log.Info("backup device: the volume itself")
			return &rpcapi.BackupDevice{VolumeID: v.ID}, nil
		}
		temp.SourceVolID = v.ID
	}
	id, err := m.Store.CreateBackupTempVolume(ctx, b.ID, temp)
	if err != nil {
		return nil, fmt.Errorf("get backup device of backup %s: %w", b.ID, err)
	}
	defer m.locks.lock(id)()
	tv, err := m.Store.GetVolume(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get backup device of backup %s: temporary volume: %w", b.ID, err)
	}
	if tv.Status == resource.StatusCreating {
		if err := m.makeTempVolume(ctx, tv); err != nil {
			log.WithError(err).WithField("temp_volume_id", id).Error("could not make the temporary volume of the backup")
			return nil, err
		}
	}
	log.WithField("temp_volume_id", id).Info("backup device: a temporary volume")
	return &rpcapi.BackupDevice{VolumeID: id, IsTemp: true}, nil
}

// makeTempVolume makes the storage of temporary volume tv (creating) from its source — a
// clone of the volume, or a volume from the snapshot — whatever the source's status (it is
// backing-up), and makes it available with the driver's data.
func (m *Manager) makeTempVolume(ctx context.Context, tv *resource.Volume) error {
	dv, err := m.driverVolume(ctx, tv)
	if err != nil {
		return err
	}
	var d driver.Data
	if tv.SnapshotID != "" {
		restorer, ok := m.Driver.(driver.SnapshotRestorer)
		if !ok {
			return fmt.Errorf("temporary volume %s: the backend cannot create volumes from snapshots", tv.ID)
		}
		sn, err := m.Store.GetSnapshot(ctx, tv.SnapshotID)
		if err != nil {
			return fmt.Errorf("temporary volume %s: %w", tv.ID, err)
		}
		if d, err = restorer.CreateVolumeFromSnapshot(ctx, dv, driverSnapshot(sn)); err != nil {
			return fmt.Errorf("temporary volume %s from snapshot %s: %w", tv.ID, sn.ID, err)
		}
	} else {
		cloner, ok := m.Driver.(driver.Cloner)
		if !ok {
			return fmt.Errorf("temporary volume %s: the backend cannot clone volumes", tv.ID)
		}
		src, err := m.Store.GetVolume(ctx, tv.SourceVolID)
		if err != nil {
			return fmt.Errorf("temporary volume %s: %w", tv.ID, err)
		}
		srcv, err := m.driverVolume(ctx, src)
		if err != nil {
			return err
		}
		if d, err = cloner.CreateClonedVolume(ctx, dv, srcv); err != nil {
			return fmt.Errorf("temporary volume %s as a clone of %s: %w", tv.ID, src.ID, err)
		}
	}
	p, err := providerData(d)
	if err != nil {
		return fmt.Errorf("temporary volume %s: %w", tv.ID, err)
	}
	if _, err := m.Store.TransitionVolume(ctx, tv.ID, []string{resource.StatusCreating},
		resource.VolumeChange{Status: resource.StatusAvailable, Provider: &p}); err != nil {
		return fmt.Errorf("temporary volume %s available: %w", tv.ID, err)
	}
	return nil
}

// RemoveBackupDevice answers remove_backup_device: the temporary volume a.VolumeID of
// backup a.BackupID (or, without a.VolumeID, the backup's temp_volume_id) loses its storage
// and its row, and the backup its temp_volume_id. A volume already gone is not an error; a
// volume that is not marked temporary is refused, never deleted.
func (m *Manager) RemoveBackupDevice(ctx context.Context, a rpcapi.BackupDeviceArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "backup_id": a.BackupID, "temp_volume_id": a.VolumeID})
	id := a.VolumeID
	if id == "" {
		b, err := m.Store.GetBackup(ctx, a.BackupID)
		if errors.Is(err, resource.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("remove backup device: %w", err)
		}
		if id = b.TempVolumeID; id == "" {
			return nil
		}
	}
	defer m.locks.lock(id)()
	tv, err := m.Store.GetVolume(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return m.Store.DestroyBackupTempVolume(ctx, a.BackupID, id) // clears temp_volume_id
	}
	if err != nil {
		return fmt.Errorf("remove backup device %s: %w", id, err)
	}
	admin, err := m.Store.VolumeMetadata(ctx, resource.AdminMetadata, id)
	if err != nil {
		return fmt.Errorf("remove backup device %s: %w", id, err)
	}
	if admin["temporary"] != "True" {
		return fmt.Errorf("remove backup device: volume %s is not a temporary volume; it is kept", id)
	}
	if !m.ours(tv.Host) {
		return fmt.Errorf("remove backup device: volume %s is on %s, not %s", id, tv.Host, m.Host)
	}
	dv, err := m.driverVolume(ctx, tv)
	if err != nil {
		return err
	}
	if err := m.unexportForDelete(ctx, dv); err != nil {
		return fmt.Errorf("remove backup device %s: %w", id, err)
	}
	if err := m.Driver.Delete(ctx, dv); err != nil {
		return fmt.Errorf("remove backup device %s: %w", id, err)
	}
	if err := m.Store.DestroyBackupTempVolume(ctx, a.BackupID, id); err != nil {
		return err
	}
	log.Info("temporary volume of the backup removed")
	return nil
}

// createFromBackup makes volume v (creating) from backup backupID when the driver cannot
// itself: the raw volume is made and left creating, the backup moves to restoring into it
// on an up backup service (its own host when up, else one of its zone), and that service is
// asked to restore it (restore_backup, VolumeIsNew), which ends the volume available or
// error. Without an up backup service, or when the raw create fails, the volume ends error
// with a user message. Run again (a redelivered create), it picks up where it stopped.
func (m *Manager) createFromBackup(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, backupID string) error {
	log = log.WithField("backup_id", backupID)
	fail := func(detail, text string, cause error) error {
		log.WithError(cause).Error("could not create the volume from its backup; volume set to error")
		ch := resource.VolumeChange{Status: resource.StatusError, Message: userMessage(ctx, v.ProjectID,
			resource.MessageResourceVolume, v.ID, resource.ActionCreateVolumeFromBackend, detail, text)}
		if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, ch); err != nil && !lost(err) {
			return fmt.Errorf("set volume %s to error: %w", v.ID, err)
		}
		return nil
	}
	b, err := m.Store.GetBackup(ctx, backupID)
	if errors.Is(err, resource.ErrNotFound) {
		return fail(resource.DetailUnknownError, fmt.Sprintf("Backup %s no longer exists.", backupID), err)
	}
	if err != nil {
		return fmt.Errorf("load backup %s: %w", backupID, err)
	}
	restoring := b.Status == resource.BackupRestoring && b.RestoreVolumeID == v.ID
	if !restoring && b.Status != resource.BackupAvailable {
		return fail(resource.DetailUnknownError, fmt.Sprintf("Backup %s is %s.", b.ID, b.Status),
			fmt.Errorf("backup %s is in status %s", b.ID, b.Status))
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	p, err := m.create(ctx, dv)
	if err != nil {
		return fail(resource.DetailDriverFailedCreate, "", err)
	}
	if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating},
		resource.VolumeChange{Status: resource.StatusCreating, Provider: &p}); err != nil {
		if lost(err) {
			log.WithError(err).Warn("volume changed while its raw storage was made")
			return nil
		}
		return fmt.Errorf("record the raw volume %s: %w", v.ID, err)
	}
	host := b.Host
	if !restoring {
		if host, err = m.backupServiceHost(ctx, b); err != nil {
			return err
		}
		if host == "" {
			return fail(resource.DetailUnknownError, "No backup service is up to restore the backup into the volume.",
				fmt.Errorf("no %s service is up in zone %s", resource.BinaryBackup, b.AvailabilityZone))
		}
		if _, err := m.Store.StartNewVolumeRestore(ctx, b.ID, v.ID, host); err != nil {
			if lost(err) {
				return fail(resource.DetailUnknownError, fmt.Sprintf("Backup %s could not be restored: it changed meanwhile.", b.ID), err)
			}
			return err
		}
	}
	if err := m.Transport.Cast(ctx, rpc.Target{Topic: rpc.TopicBackup, Server: host}, rpcapi.RestoreBackup,
		rpcapi.RestoreBackupArgs{BackupID: b.ID, VolumeID: v.ID, VolumeIsNew: true}); err != nil {
		return fmt.Errorf("ask backup service %s to restore backup %s: %w", host, b.ID, err)
	}
	log.WithField("backup_host", host).Info("raw volume made; the backup service restores the backup into it")
	return nil
}

// backupServiceHost is the backup service to restore backup b: its own host when that
// service is up and enabled, else any up and enabled one of its availability zone, as
// Cinder's get_available_backup_service_host; "" when there is none.
func (m *Manager) backupServiceHost(ctx context.Context, b *resource.Backup) (string, error) {
	services, err := m.Store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryBackup})
	if err != nil {
		return "", fmt.Errorf("list backup services: %w", err)
	}
	down := m.ServiceDownTime
	if down <= 0 {
		down = defaultServiceDownTime
	}
	now := time.Now().UTC()
	other := ""
	for _, s := range services {
		if s.Disabled || !s.Up(now, down) {
			continue
		}
		if s.Host == b.Host {
			return s.Host, nil
		}
		if other == "" && (b.AvailabilityZone == "" || s.AvailabilityZone == b.AvailabilityZone) {
			other = s.Host
		}
	}
	return other, nil
}

// restoringInto reports whether a backup is being restored into volume id (a volume made
// from a backup, whose end belongs to the backup service).
func (m *Manager) restoringInto(ctx context.Context, id string) (bool, error) {
	bs, err := m.Store.ListBackups(ctx, resource.BackupFilter{Status: resource.BackupRestoring,
		Equal: map[string]string{"restore_volume_id": id}, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("backups restored into volume %s: %w", id, err)
	}
	return len(bs) > 0, nil
}
