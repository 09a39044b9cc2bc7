package launch

import (
	"context"
	"fmt"
	"os"

	"github.com/scoria/scoria/internal/backup"
	"github.com/scoria/scoria/internal/volumeio"
	"github.com/scoria/scoria/pkg/driver"
)

// backupDriver is the backup driver backup_driver names. The posix, nfs and ceph drivers
// are not wired in yet: every name is refused.
func (e *Env) backupDriver(ctx context.Context) (backup.Driver, error) {
	return nil, fmt.Errorf("backup driver %s is not built in yet", e.Cfg.Backups.Driver)
}

// volumeAttacher is how the backup service opens volumes on this host. Until the full
// attacher is wired in, it opens "local" connections only (a file or block device of a
// volume service on this host).
func (e *Env) volumeAttacher() (backup.Attacher, error) {
	return localAttacher{}, nil
}

// localAttacher opens os-brick's "local" connections: device_path, a file or block device
// on this host.
type localAttacher struct{}

// localDevice is a file opened as a volumeio.Device.
type localDevice struct {
	*os.File
	size int64
}

func (d localDevice) Size() int64 { return d.size }

func (localAttacher) Open(ctx context.Context, info driver.ConnectionInfo, mode volumeio.Mode) (volumeio.Device, error) {
	path, _ := info.Data["device_path"].(string)
	if info.DriverVolumeType != "local" || path == "" {
		return nil, fmt.Errorf("open %s connection: %w", info.DriverVolumeType, volumeio.ErrUnsupported)
	}
	flag := os.O_RDONLY
	if mode == volumeio.ReadWrite {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open local device: %w", err)
	}
	size, err := f.Seek(0, 2) // a block device's size, as a file's
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("size of local device %s: %w", path, err)
	}
	return localDevice{File: f, size: size}, nil
}
