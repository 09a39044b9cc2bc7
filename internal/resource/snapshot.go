package resource

import "time"

// Snapshot statuses, as Cinder names them (fields.SnapshotStatus).
const (
	SnapshotCreating      = "creating"
	SnapshotAvailable     = "available"
	SnapshotDeleting      = "deleting"
	SnapshotError         = "error"
	SnapshotErrorDeleting = "error_deleting"
	SnapshotRestoring     = "restoring"
	SnapshotUnmanaging    = "unmanaging"
	SnapshotBackingUp     = "backing-up"
	SnapshotDeleted       = "deleted"
)

// Snapshot is one snapshot row with its metadata.
type Snapshot struct {
	ID           string
	ProjectID    string
	UserID       string
	VolumeID     string
	Name         string
	Description  string
	Size         int // GiB: the volume's size when the snapshot was taken
	Status       string
	Progress     string // "0%" … "100%", as Cinder shows it
	VolumeTypeID string // the volume's type when the snapshot was taken
	// Host is the volume's host@backend#pool when the snapshot was taken: the backend that
	// holds it and that volumes created from it are placed on.
	Host      string
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt *time.Time
	DeletedAt *time.Time
}

// SnapshotFilter selects snapshots for a list, newest first (created_at DESC, id DESC);
// Marker is the id of the last snapshot of the previous page.
type SnapshotFilter struct {
	ProjectID string // "" lists every project's snapshots
	VolumeID  string
	Name      string
	Status    string
	Limit     int // 0 means no limit
	Marker    string
}
