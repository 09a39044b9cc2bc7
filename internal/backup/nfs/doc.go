// Package nfs is Cinder's NFS backup driver (cinder/backup/drivers/nfs.py): the posix
// backup driver (package posix, Cinder's chunked format) on backup_share, an NFS export
// mounted under backup_mount_point_base, at "<base>/<md5 of the share in hex>" as
// os-brick's RemoteFsClient names it, so that a backup host moved from Cinder finds its
// mount where it was.
//
// It holds:
//   - Driver (NewDriver, DriverOptions): mounts the share at start, and again (reusing
//     the mount) at each call, so that a share that cannot be mounted is a clear error at
//     start and at every call rather than backups written under an empty mount point;
//     backups.service is cinder.backup.drivers.nfs.NFSBackupDriver;
//   - NewShareMounter (MounterOptions): the backup service's one volumeio.ShareMounter,
//     for backup_share and for the NFS volumes it backs up and restores. It is the NFS
//     volume driver's mount layer (internal/backend/nfs): SystemMounter (mount -t nfs) in
//     production, and, when scoria_test_nfs_exports is set, its BindMounter — the TEST
//     STAND-IN for the kernel NFS client on machines that lack one, which asks the real NFS
//     server for the share's MOUNT and then bind-mounts the directory the server exports.
package nfs
