package driver

import "context"

// Snapshot is what a driver is told about the snapshot it acts on.
type Snapshot struct {
	ID       string // the snapshot's UUID
	Name     string // the storage name Cinder uses: "snapshot-<id>"
	VolumeID string // the volume it is (or was) a snapshot of
	SizeGiB  int    // the volume's size when the snapshot was taken
	// GroupSnapshotID names the group snapshot it was taken with, "" if none: a driver
	// that took it as part of a consistent group snapshot finds it there.
	GroupSnapshotID string
	// Data is what the driver returned when it took the snapshot (zero before that).
	Data Data
}

// SnapshotStorageName returns the name Cinder gives a snapshot's storage object.
func SnapshotStorageName(id string) string { return "snapshot-" + id }

// The optional capabilities of a backend. A driver implements those it can; the API refuses
// an operation whose backend lacks it with a clear 400 before anything changes. Like the
// methods of Driver, every method must be idempotent: it may be called again for work that
// was done already (a redelivered message, a recovery after a crash).

// Snapshotter takes and removes point-in-time copies of volumes (Cinder's create_snapshot,
// delete_snapshot).
type Snapshotter interface {
	// CreateSnapshot makes snapshot s of volume v and returns the driver's data for it. It must
	// not leave a partial snapshot that SnapshotExists would report as complete.
	CreateSnapshot(ctx context.Context, s Snapshot, v Volume) (Data, error)
	// DeleteSnapshot removes snapshot s; one that does not exist is not an error.
	DeleteSnapshot(ctx context.Context, s Snapshot, v Volume) error
	// SnapshotExists reports whether snapshot s exists and is complete.
	SnapshotExists(ctx context.Context, s Snapshot) (bool, error)
}

// SnapshotRestorer makes new volumes from snapshots (create_volume_from_snapshot); v.SizeGiB
// may be larger than the snapshot, and the volume then has that size. It returns the new
// volume's data, as Driver.Create does.
type SnapshotRestorer interface {
	CreateVolumeFromSnapshot(ctx context.Context, v Volume, s Snapshot) (Data, error)
}

// Cloner makes a new volume v as a copy of volume src (create_cloned_volume); v.SizeGiB may
// be larger than src's. It returns the new volume's data, as Driver.Create does.
type Cloner interface {
	CreateClonedVolume(ctx context.Context, v Volume, src Volume) (Data, error)
}

// Extender grows a volume to newSizeGiB (extend_volume). Growing a volume that already has
// that size is not an error.
type Extender interface {
	ExtendVolume(ctx context.Context, v Volume, newSizeGiB int) error
}

// Reverter rolls volume v back to its snapshot s (revert_to_snapshot), keeping v's size.
type Reverter interface {
	RevertToSnapshot(ctx context.Context, v Volume, s Snapshot) error
}
