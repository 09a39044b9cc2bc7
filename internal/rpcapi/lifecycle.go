package rpcapi

// Methods of the volume lifecycle beyond create and delete: API → the volume service of the
// backend that holds the volume (or the snapshot), topic volume, server host@backend.
const (
	// CreateSnapshot asks for the storage of a snapshot in creating.
	CreateSnapshot = "create_snapshot"
	// DeleteSnapshot asks to remove the storage of a snapshot in deleting, then its row.
	DeleteSnapshot = "delete_snapshot"
	// ExtendVolume asks to grow a volume in extending to NewSize.
	ExtendVolume = "extend_volume"
	// RevertToSnapshot asks to roll a volume in reverting back to its snapshot in restoring.
	RevertToSnapshot = "revert_to_snapshot"
)

// SnapshotArgs name the snapshot of create_snapshot and delete_snapshot, and its volume.
type SnapshotArgs struct {
	SnapshotID string `json:"snapshot_id"`
	VolumeID   string `json:"volume_id"`
}

// ExtendVolumeArgs are the arguments of extend_volume: the size the volume grows to, which
// the API has already charged to quota and claimed on the pool.
type ExtendVolumeArgs struct {
	VolumeID string `json:"volume_id"`
	NewSize  int    `json:"new_size"`
}

// RevertArgs are the arguments of revert_to_snapshot.
type RevertArgs struct {
	VolumeID   string `json:"volume_id"`
	SnapshotID string `json:"snapshot_id"`
}
