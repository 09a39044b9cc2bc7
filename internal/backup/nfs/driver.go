package nfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup"
	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/backup/posix"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/volumeio"
)

// ErrShareUnavailable is what the driver answers (wrapped) when backup_share is not set
// or cannot be mounted.
var ErrShareUnavailable = errors.New("backup_share cannot be reached")

// DriverOptions are the NFS driver's settings, under Cinder's option names.
type DriverOptions struct {
	// Share is backup_share: host:/path.
	Share string
	// MountOptions is backup_mount_options, as mount -o takes them.
	MountOptions string
	// Chunked are backup_file_size, backup_sha_block_size_bytes and
	// backup_compression_algorithm.
	Chunked chunked.Options
	// DefaultContainer is backup_container.
	DefaultContainer string
}

// Driver is Cinder's NFSBackupDriver: the posix driver on the mounted backup_share.
type Driver struct {
	opts    DriverOptions
	mounter volumeio.ShareMounter
	log     logrus.FieldLogger

	mu    sync.Mutex
	dir   string        // where the share is mounted
	posix *posix.Driver // the posix driver on dir
}

var _ backup.Driver = (*Driver)(nil)

// NewDriver mounts o.Share through m and answers the driver on it. A share that is not
// set, or cannot be mounted, is an error wrapping ErrShareUnavailable.
func NewDriver(o DriverOptions, m volumeio.ShareMounter, log logrus.FieldLogger) (*Driver, error) {
	if log == nil {
		log = logrus.StandardLogger()
	}
	if strings.TrimSpace(o.Share) == "" {
		return nil, fmt.Errorf("%w: invalid configuration value for option backup_share: it is not set", ErrShareUnavailable)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: no share mounter", ErrShareUnavailable)
	}
	if err := o.Chunked.Validate(); err != nil {
		return nil, err
	}
	d := &Driver{opts: o, mounter: m, log: log.WithField("backup_share", o.Share)}
	if _, err := d.mounted(context.Background()); err != nil {
		return nil, err
	}
	d.log.WithField("mount_point", d.dir).Info("NFS backup repository mounted")
	return d, nil
}

// mounted mounts the share (reusing its mount) and answers the posix driver on it; it
// fails clearly when the share cannot be mounted or its mount point is not a directory.
func (d *Driver) mounted(ctx context.Context) (*posix.Driver, error) {
	options := ""
	if mo := strings.TrimSpace(d.opts.MountOptions); mo != "" {
		options = "-o " + mo
	}
	dir, err := d.mounter.MountShare(ctx, d.opts.Share, options)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrShareUnavailable, d.opts.Share, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s mounted at %s, which is not a directory: %v", ErrShareUnavailable, d.opts.Share, dir, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.posix != nil && d.dir == dir {
		return d.posix, nil
	}
	p, err := posix.NewDriver(posix.DriverOptions{
		Path: dir, Chunked: d.opts.Chunked, DefaultContainer: d.opts.DefaultContainer, Service: config.BackupDriverNFS,
	}, d.log)
	if err != nil {
		return nil, err
	}
	d.dir, d.posix = dir, p
	return p, nil
}

// call answers the posix driver after making sure the share is mounted, logging a share
// that is not.
func (d *Driver) call(ctx context.Context, op string, b *resource.Backup) (*posix.Driver, error) {
	p, err := d.mounted(ctx)
	if err != nil {
		reqctx.Log(ctx, d.log).WithError(err).WithField("backup_id", b.ID).Errorf("NFS backup %s: share not mounted", op)
		return nil, err
	}
	return p, nil
}

// Service answers cinder.backup.drivers.nfs.NFSBackupDriver.
func (d *Driver) Service() string { return config.BackupDriverNFS }

// MountPoint answers where backup_share is mounted.
func (d *Driver) MountPoint() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dir
}

// Backup is the posix driver's Backup on the share.
func (d *Driver) Backup(ctx context.Context, b *resource.Backup, parent *resource.Backup, src volumeio.Device, progress backup.ProgressFunc) (backup.Result, error) {
	p, err := d.call(ctx, "backup", b)
	if err != nil {
		return backup.Result{}, err
	}
	return p.Backup(ctx, b, parent, src, progress)
}

// Restore is the posix driver's Restore from the share.
func (d *Driver) Restore(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress backup.ProgressFunc) error {
	return d.RestoreVolume(ctx, chain, volumeID, dst, progress, false)
}

// RestoreVolume is the posix driver's RestoreVolume (Restore with Cinder's volume_is_new).
func (d *Driver) RestoreVolume(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress backup.ProgressFunc, volumeIsNew bool) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: no backup to restore", chunked.ErrInvalid)
	}
	p, err := d.call(ctx, "restore", chain[len(chain)-1])
	if err != nil {
		return err
	}
	return p.RestoreVolume(ctx, chain, volumeID, dst, progress, volumeIsNew)
}

// Delete is the posix driver's Delete on the share.
func (d *Driver) Delete(ctx context.Context, b *resource.Backup) error {
	p, err := d.call(ctx, "delete", b)
	if err != nil {
		return err
	}
	return p.Delete(ctx, b)
}

// ExportRecord answers Cinder's (empty) driver_info.
func (d *Driver) ExportRecord(ctx context.Context, b *resource.Backup) (map[string]any, error) {
	return map[string]any{}, nil
}

// ImportRecord is the posix driver's ImportRecord on the share.
func (d *Driver) ImportRecord(ctx context.Context, b *resource.Backup, driverInfo map[string]any) error {
	p, err := d.call(ctx, "import", b)
	if err != nil {
		return err
	}
	return p.ImportRecord(ctx, b, driverInfo)
}
