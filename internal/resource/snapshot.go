package resource

import (
	"fmt"
	"time"
)

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
	Host string
	// GroupSnapshotID names the group snapshot it was taken as part of, "" if none.
	GroupSnapshotID string
	// Provider is what its backend's driver returned when it took the snapshot (zero before).
	Provider  ProviderData
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt *time.Time
	DeletedAt *time.Time
}

// SnapshotFilter selects snapshots for a list, newest first (created_at DESC, id DESC) unless
// Sort says otherwise; Marker is the id of the last snapshot of the previous page.
type SnapshotFilter struct {
	ProjectID string // "" lists every project's snapshots
	VolumeID  string
	Name      string
	// NameLike and DescriptionLike select snapshots whose name (description) contains them,
	// case-insensitively (the name~ and description~ filters of 3.34).
	NameLike        string
	DescriptionLike string
	Status          string
	Limit           int // 0 means no limit
	Offset          int // snapshots skipped after the marker (or from the start)
	Marker          string
	// Metadata selects snapshots that have every one of these items.
	Metadata map[string]string
	// Sort orders the list (empty: created_at DESC); id, in the direction of the first
	// key, breaks ties.
	Sort []SnapshotSort
}

// SnapshotStatuses are every status a snapshot may be given by an administrator's
// os-reset_status, as Cinder lists them (fields.SnapshotStatus.ALL).
var SnapshotStatuses = []string{
	SnapshotError, SnapshotAvailable, SnapshotCreating, SnapshotDeleting, SnapshotDeleted,
	"updating", SnapshotErrorDeleting, SnapshotUnmanaging, SnapshotBackingUp, SnapshotRestoring,
}

// SnapshotDeletableStatuses are the statuses a snapshot may be deleted from without force,
// as Cinder's delete_snapshot allows.
var SnapshotDeletableStatuses = []string{SnapshotAvailable, SnapshotError}

// SnapshotCascadeStatuses are the statuses a volume's snapshots may be in for a delete of
// the volume with cascade (without force) to take them along, as Cinder's
// volume_has_undeletable_snapshots_filter allows.
var SnapshotCascadeStatuses = []string{SnapshotAvailable, SnapshotError, SnapshotDeleting}

// SnapshotSort is one key of a snapshot list's order. Key is a column of the snapshots
// table (see SnapshotSortKeys).
type SnapshotSort struct {
	Key  string
	Desc bool
}

// SnapshotSortKeys are the keys a snapshot list may be sorted by: the columns of Cinder's
// snapshots table that Scoria keeps.
var SnapshotSortKeys = []string{
	"id", "created_at", "updated_at", "deleted_at", "project_id", "user_id", "volume_id",
	"display_name", "display_description", "volume_size", "status", "progress",
	"volume_type_id", "host",
}

// SnapshotUpdate is a user's change to a snapshot; nil fields stay as they are.
type SnapshotUpdate struct {
	Name        *string
	Description *string
}

// SnapshotMetadataNotFoundError says a snapshot has no metadata item of a key.
type SnapshotMetadataNotFoundError struct{ SnapshotID, Key string }

func (e *SnapshotMetadataNotFoundError) Error() string {
	return "Snapshot " + e.SnapshotID + " has no metadata with key " + e.Key + "."
}

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *SnapshotMetadataNotFoundError) Unwrap() error { return ErrNotFound }

// VolumeSnapshotsError refuses a delete of a volume because of its snapshots: it has some
// (a delete without cascade), or one of them is in a status a cascade may not delete from.
// It unwraps to the volume's *InvalidStateError, as Cinder answers both with the volume
// delete's one message.
type VolumeSnapshotsError struct {
	Snapshots  int    // how many snapshots the volume has
	SnapshotID string // with cascade: the snapshot that cannot be deleted
	Status     string // with cascade: its status
	State      *InvalidStateError
}

func (e *VolumeSnapshotsError) Error() string {
	if e.SnapshotID != "" {
		return "volume " + e.State.ID + ": snapshot " + e.SnapshotID + " is " + e.Status + " and cannot be deleted with it"
	}
	return fmt.Sprintf("volume %s has %d snapshots", e.State.ID, e.Snapshots)
}

// Unwrap gives the volume's *InvalidStateError.
func (e *VolumeSnapshotsError) Unwrap() error { return e.State }

// RevertError refuses a revert of a volume to a snapshot, in Cinder's words (Reason). Kind
// says which of Cinder's exceptions it is: "Volume" or "Snapshot" for a status that forbids
// it (409 in Cinder), "" for a request that can never succeed (400).
type RevertError struct {
	Kind   string
	Reason string
}

func (e *RevertError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidState) true.
func (e *RevertError) Unwrap() error { return ErrInvalidState }

// VolumeDelete is a delete of a volume that its volume service carries out.
type VolumeDelete struct {
	VolumeID string
	From     []string // the statuses the volume may be deleted from
	// Cascade deletes the volume's snapshots with it: they go to deleting in the same
	// transaction. Without it, a volume with snapshots is refused.
	Cascade bool
	// SnapshotFrom are the statuses the snapshots of a cascade may be in; nil allows any
	// (a force delete).
	SnapshotFrom []string
}
