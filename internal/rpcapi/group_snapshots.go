package rpcapi

// Methods of group snapshots: API → the volume service of the backend that holds the group
// (topic volume, server host@backend).
const (
	// CreateGroupSnapshot asks for the storage of a group snapshot in creating and of its
	// member snapshots.
	CreateGroupSnapshot = "create_group_snapshot"
	// DeleteGroupSnapshot asks to remove the storage of a group snapshot in deleting and of
	// its member snapshots, then their rows.
	DeleteGroupSnapshot = "delete_group_snapshot"
)

// GroupSnapshotArgs name the group snapshot of create_group_snapshot and
// delete_group_snapshot.
type GroupSnapshotArgs struct {
	GroupSnapshotID string `json:"group_snapshot_id"`
}
