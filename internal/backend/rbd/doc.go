// Package rbd is the Ceph RBD volume driver (Cinder's cinder.volume.drivers.rbd.RBDDriver)
// through go-ceph: volumes are format-2 images with layering in one pool, snapshots are
// protected image snapshots, volumes from snapshots and clones are copy-on-write clones
// within rbd_max_clone_depth, a consistent group snapshot is one rbd group snapshot
// (group_snapshots.go), a volume from a raw image Glance keeps in the same cluster is a clone
// of the image's snapshot and other images are copied in and out through librbd (images.go),
// and hosts reach the cluster themselves (driver_volume_type rbd). It needs cgo with librados-dev and librbd-dev, so everything but this file,
// options.go and register_missing.go is built only with the build tags `ceph` and the Ceph
// release's go-ceph tag (`pacific` for Debian 12's 16.2): `make build` adds them when
// pkg-config finds the libraries. The driver's options (options.go) are declared in every
// build: without the tags, register_missing.go registers "rbd" as unavailable, saying how to
// build it in; with them, register.go registers the driver.
package rbd
