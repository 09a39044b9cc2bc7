package driver

import "context"

// GroupSnapshot is what a driver is told about a group snapshot: a snapshot of every volume
// of a group, taken together.
type GroupSnapshot struct {
	ID      string // the group snapshot's UUID
	Name    string // the storage name: "group-snapshot-<id>"
	GroupID string // the group it is a snapshot of
	// Members are the snapshots it is made of, one per volume of the group, each with the
	// volume it is a snapshot of.
	Members []GroupSnapshotMember
}

// GroupSnapshotMember is one snapshot of a group snapshot and its volume.
type GroupSnapshotMember struct {
	Snapshot Snapshot
	Volume   Volume
}

// GroupSnapshotStorageName returns the storage name of group snapshot id.
func GroupSnapshotStorageName(id string) string { return "group-snapshot-" + id }

// GroupSnapshotter takes consistent snapshots of several volumes at once (Cinder's
// create_group_snapshot and delete_group_snapshot): every member is captured at the same
// point in time. The volume service uses it when the group type asks for it
// (consistent_group_snapshot_enabled = "<is> True"); without it, or without that spec, it
// snapshots the members one by one through Snapshotter, as Cinder's generic path does.
// Like every driver method these are idempotent.
type GroupSnapshotter interface {
	// CreateGroupSnapshot makes gs. Afterwards every member's Snapshot is a snapshot like
	// one Snapshotter made: SnapshotExists reports it, SnapshotRestorer makes volumes from
	// it. It must not leave a partial group snapshot that could be mistaken for a complete
	// one; on failure it removes what it made. It returns the driver's data of the members
	// that have any, by member snapshot id (nil when none has: see Data).
	CreateGroupSnapshot(ctx context.Context, gs GroupSnapshot) (map[string]Data, error)
	// DeleteGroupSnapshot removes gs and every member's snapshot, however they were made
	// (together, or one by one through Snapshotter); what does not exist is not an error.
	DeleteGroupSnapshot(ctx context.Context, gs GroupSnapshot) error
}
