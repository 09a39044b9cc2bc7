// Package sheepdog is the Sheepdog volume driver, Cinder's SheepdogDriver (removed from Cinder
// in Ussuri) in Go: volumes are VDIs volume-<id> of a sheep cluster, snapshots are VDI
// snapshots tagged snapshot-<id>, reached through internal/sheep (the sheep wire protocol, no
// dog binary). It registers itself as volume_driver "sheepdog" and
// "cinder.volume.drivers.sheepdog.SheepdogDriver" with Cinder's options (options.go,
// register.go). It holds the driver (driver.go): create, delete, extend, snapshots, volumes
// from snapshots (clone, then resize), clones of volumes (a temporary snapshot, a clone of
// it, the snapshot removed, as Cinder did), revert, capacity from the cluster, the cluster's
// status as the backend's; volumes are attached over iSCSI by the target helper through tgt's
// sheepdog backing store (driver.TargetBacked), since hypervisors can no longer open sheepdog:
// URLs; images written into VDIs and read out of them through the sheep protocol, converted
// by qemu-img in temporary raw files (images.go, driver.ImageCopier); and the inventory the
// reconciler lists (inventory.go).
package sheepdog
