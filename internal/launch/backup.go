package launch

import (
	"context"
	"fmt"

	"github.com/scoria/scoria/internal/backup"
)

// RunBackup runs scoria-backup, the backup service of this host ([DEFAULT] host), until ctx
// ends: the driver of backup_driver, backup_max_operations, in storage_availability_zone.
func (e *Env) RunBackup(ctx context.Context) error {
	d, b := e.Cfg.Default, e.Cfg.Backups
	log := e.Log.WithField("component", "backup")
	mounter, err := e.shareMounter()
	if err != nil {
		return fmt.Errorf("backup service: %w", err)
	}
	drv, err := e.backupDriver(ctx, mounter)
	if err != nil {
		return fmt.Errorf("backup service: %w", err)
	}
	at, err := e.volumeAttacher(mounter)
	if err != nil {
		return fmt.Errorf("backup service: %w", err)
	}
	m := &backup.Manager{
		Host: d.Host, Zone: d.StorageAvailabilityZone, Store: e.Store, Transport: e.Transport,
		Driver: drv, Attacher: at, MaxOperations: b.MaxOperations, ReportInterval: d.ReportInterval, Log: log,
	}
	return m.Run(ctx)
}
