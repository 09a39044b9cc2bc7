// Package nfs is the NFS volume driver, Cinder's NfsDriver: each volume is a file volume-<id>
// on one of the backend's NFS shares, which the volume service mounts under
// nfs_mount_point_base; it registers itself as volume_driver "nfs" and
// "cinder.volume.drivers.nfs.NfsDriver" with Cinder's options (options.go, register.go).
//
// It holds: the shares as Cinder reads them — the nfs_shares_config file ("host:/export
// [mount options]" per line) or nas_host with nas_share_path — and the mount point os-brick
// gives each (shares.go); the mount behind a small interface (Mounter, mount.go):
// SystemMounter runs `mount -t nfs` in production, BindMounter is the TEST STAND-IN for
// machines without a kernel NFS client, which bind-mounts the exported directory of a real
// NFS server after the server has answered MOUNT (bindmount.go); a share's capacity measured as
// Cinder measures it (capacity.go); the driver (driver.go): placement on the scheduler's pool
// (one pool per share, named by its address) or Cinder's _find_share, sparse, regular or qcow2
// files written under a temporary name, per-share pools reported down with the reason while a
// share does not answer; clones, volumes from snapshots and extends (copies.go); Cinder's qcow2
// snapshot chain with its .info file, delete by commit/rebase resumable after a crash, and
// revert to the latest snapshot (snapshots.go, chain.go); the nfs connection info os-brick's
// RemoteFS connector reads and the inventory the reconciler lists (connection.go); Glance
// images written into a volume's file in its format and volumes read out as images
// (images.go, driver.ImageCopier); qemu-img (image.go).
package nfs
