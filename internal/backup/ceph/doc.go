// Package ceph is Cinder's ceph backup driver (cinder/backup/drivers/ceph.py): backups kept as
// RBD images in a pool (backup_ceph_pool) of a Ceph cluster (backup_ceph_conf,
// backup_ceph_user), incremental by snapshot diff when the volume is itself an RBD image.
//
// It holds:
//   - Options (backup_ceph_* and restore_discard_excess_bytes) and NewDriver, the Driver
//     (a backup.Driver); a build without the ceph tag has a Driver whose NewDriver answers
//     why it is missing (missing.go);
//   - Cinder's names (names.go): the base image of a chain "volume-<volume>.backup.<full
//     backup>" (the legacy "volume-<volume>.backup.base" is still read), a backup snapshot
//     "backup.<backup>.snap.<unix time>", service_metadata {"base": "<base image>"}.
//
// An RBD volume (a volumeio.RBDDevice) is backed up by snapshot diff: a source snapshot
// backup.<id>.snap.<t> is made, the extents that changed since the parent backup's snapshot
// (present on the source and on the base image) are read from it and written into the
// chain's base image, and only then the same-named snapshot is made on the base image: a
// backup is in the store if and only if its snapshot is. A full backup of an RBD volume
// starts a new base image, diffed from nothing; so does an incremental one whose parent's
// snapshot is gone from the base image (Cinder fails it). When only the source lost the
// parent's snapshot, the base head is emptied and the source diffed from nothing into it.
// The source keeps only the newest backup snapshot. Any other volume is copied whole into volume-<volume>.backup.<id>, chunk by
// chunk, zero chunks skipped; the copy is written under <name>.tmp and renamed when whole.
//
// A restore reads the backup's snapshot of its base image (or its full image) into the
// volume: by diff (only allocated extents) when the volume is an RBD image without data
// that is not the backup's own volume, else by a chunked copy; bytes of the volume beyond the
// backup are zeroed when restore_discard_excess_bytes. A delete removes the backup's
// snapshot, and the base image with the last one.
package ceph
