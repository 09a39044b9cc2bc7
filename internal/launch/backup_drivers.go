package launch

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/scoria/scoria/internal/backup"
	"github.com/scoria/scoria/internal/backup/ceph"
	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/backup/nfs"
	"github.com/scoria/scoria/internal/backup/posix"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/volumeio"
)

// backupDriverName is the driver class backup_driver names: Cinder's class path, or the
// module path alone as older Cinders wrote it; "" for a driver Scoria does not have.
func backupDriverName(v string) string {
	v = strings.TrimSpace(v)
	for _, name := range []string{config.BackupDriverPosix, config.BackupDriverNFS, config.BackupDriverCeph} {
		if v == name || v == name[:strings.LastIndex(name, ".")] {
			return name
		}
	}
	return ""
}

// shareMounter is the backup service's mount layer for NFS shares: backup_share, and the
// shares of the NFS volumes it backs up (the same mounts; the TEST STAND-IN for the kernel
// NFS client when scoria_test_nfs_exports is set).
func (e *Env) shareMounter() (volumeio.ShareMounter, error) {
	b := e.Cfg.Backups
	return nfs.NewShareMounter(nfs.MounterOptions{Base: b.MountPointBase, MountOptions: b.MountOptions,
		Attempts: b.MountAttempts, TestExports: b.TestNFSExports, Log: e.Log.WithField("component", "backup-mount")})
}

// backupDriver is the backup driver backup_driver names, built from the [DEFAULT] backup
// options.
func (e *Env) backupDriver(ctx context.Context, m volumeio.ShareMounter) (backup.Driver, error) {
	b := e.Cfg.Backups
	log := e.Log.WithField("component", "backup-driver")
	chunks := chunked.Options{FileSize: int64(b.FileSize), SHABlockSize: int64(b.SHABlockSize), CompressionAlgorithm: b.CompressionAlgorithm}
	name := backupDriverName(b.Driver)
	var (
		drv backup.Driver
		err error
	)
	switch name {
	case config.BackupDriverPosix:
		drv, err = posix.NewDriver(posix.DriverOptions{Path: b.PosixPath, Chunked: chunks, DefaultContainer: b.Container}, log)
	case config.BackupDriverNFS:
		drv, err = nfs.NewDriver(nfs.DriverOptions{Share: b.Share, MountOptions: b.MountOptions, Chunked: chunks, DefaultContainer: b.Container}, m, log)
	case config.BackupDriverCeph:
		drv, err = ceph.NewDriver(ceph.OptionsFrom(b), log)
	default:
		return nil, &config.Error{File: strings.Join(e.Cfg.Files, ", "), Section: "DEFAULT", Key: "backup_driver",
			Reason: b.Driver + " is not a backup driver Scoria has: use " + config.BackupDriverPosix + ", " + config.BackupDriverNFS + " or " + config.BackupDriverCeph}
	}
	if err != nil {
		return nil, &config.Error{File: strings.Join(e.Cfg.Files, ", "), Section: "DEFAULT", Key: "backup_driver", Reason: err.Error()}
	}
	return drv, nil
}

// volumeAttacher is how the backup service opens the volumes it reads and writes on this
// host (volumeio): local devices, RBD images, files on NFS shares, iSCSI LUNs; staged copies
// go under image_conversion_dir/backup, and those a dead service left are removed.
func (e *Env) volumeAttacher(m volumeio.ShareMounter) (backup.Attacher, error) {
	at := volumeio.New(volumeio.Options{ScratchDir: filepath.Join(e.Cfg.Images.ImageConversionDir, "backup"), Mounter: m,
		CephConf: e.Cfg.Backups.CephConf, Log: e.Log.WithField("component", "backup-attach")})
	if err := at.RemoveStale(); err != nil {
		e.Log.WithError(err).Warn("could not remove the staged copies a stopped backup service left")
	}
	return at, nil
}
