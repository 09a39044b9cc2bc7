package backup

import (
	"context"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/volumeio"
)

// ProgressFunc is told how many bytes of the volume are done out of total.
type ProgressFunc func(done, total int64)

// Result is what a driver wrote for a backup, kept on its row.
type Result struct {
	Container       string // the container it wrote into (the default one when asked none)
	ServiceMetadata string // the driver's own data, at most 255 characters (backups.service_metadata)
	ObjectCount     int
}

// Driver keeps backups (Cinder's BackupDriver). Every method is idempotent: the manager
// calls it again after a crash.
type Driver interface {
	// Service is the driver's name as Cinder writes it in backups.service and
	// backup_service (e.g. cinder.backup.drivers.posix.PosixBackupDriver).
	Service() string
	// Backup reads the whole of src into backup b (b.Container is the container asked, ""
	// for the driver's default). parent is the backup an incremental b is based on (nil for
	// a full one); volumeID is the volume backed up (b.VolumeID).
	Backup(ctx context.Context, b *resource.Backup, parent *resource.Backup, src volumeio.Device, progress ProgressFunc) (Result, error)
	// Restore writes backup b over dst. chain is the backups from the full one to b (b
	// last), each with its row as stored; volumeID is the volume written.
	Restore(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress ProgressFunc) error
	// Delete removes what backup b holds in the store; a backup already gone is not an
	// error.
	Delete(ctx context.Context, b *resource.Backup) error
	// ExportRecord answers the driver's own part of b's export record (Cinder's
	// driver_info), JSON-encodable.
	ExportRecord(ctx context.Context, b *resource.Backup) (map[string]any, error)
	// ImportRecord checks that the store holds backup b, described by driverInfo from an
	// export record (of this or another Scoria, or of Cinder with the same driver).
	ImportRecord(ctx context.Context, b *resource.Backup, driverInfo map[string]any) error
}
