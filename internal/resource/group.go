package resource

import (
	"errors"
	"time"
)

// Group and group snapshot statuses, as Cinder names them (fields.GroupStatus and
// fields.GroupSnapshotStatus).
const (
	GroupStatusCreating      = "creating"
	GroupStatusAvailable     = "available"
	GroupStatusUpdating      = "updating"
	GroupStatusInUse         = "in-use"
	GroupStatusDeleting      = "deleting"
	GroupStatusDeleted       = "deleted"
	GroupStatusError         = "error"
	GroupStatusErrorDeleting = "error_deleting"
)

// GroupType is a group type: what a generic volume group is created as. Its specs tell the
// scheduler and the driver what the group needs (consistent_group_snapshot_enabled, …); a
// private type may only be used by the projects given access to it.
type GroupType struct {
	ID          string
	Name        string
	Description string
	IsPublic    bool
	GroupSpecs  map[string]string // never nil when read from the store
	CreatedAt   time.Time
	UpdatedAt   *time.Time
	DeletedAt   *time.Time
}

// DefaultCGSnapshotTypeName is the group type Cinder keeps for consistency groups and
// cgsnapshots (volume/group_types.py DEFAULT_CGSNAPSHOT_TYPE).
const DefaultCGSnapshotTypeName = "default_cgsnapshot_type"

// ConsistentGroupSnapshotSpec is the group spec that asks for consistent group snapshots.
const ConsistentGroupSnapshotSpec = "consistent_group_snapshot_enabled"

// Group is one generic volume group: volumes of the group's volume types, on one backend.
type Group struct {
	ID                string
	ProjectID         string
	UserID            string
	Name              string
	Description       string
	AvailabilityZone  string
	Host              string // host@backend#pool once placed, "" before
	GroupTypeID       string
	VolumeTypeIDs     []string // the volume types the group may hold
	Status            string
	GroupSnapshotID   string // the group snapshot it was created from, "" if none
	SourceGroupID     string // the group it was cloned from, "" if none
	ReplicationStatus string
	CreatedAt         time.Time
	UpdatedAt         *time.Time
	DeletedAt         *time.Time
}

// GroupSnapshot is a snapshot of every volume of a group, taken together; each member's
// snapshot is a Snapshot whose GroupSnapshotID names it.
type GroupSnapshot struct {
	ID          string
	GroupID     string
	ProjectID   string
	UserID      string
	Name        string
	Description string
	Status      string
	GroupTypeID string
	CreatedAt   time.Time
	UpdatedAt   *time.Time
	DeletedAt   *time.Time
}

// Errors of group type, group and group snapshot changes, wrapped by the store with the id
// or name concerned.
var (
	ErrGroupTypeExists       = errors.New("group type exists")
	ErrGroupTypeInUse        = errors.New("group type in use")
	ErrGroupTypeAccessExists = errors.New("group type access exists")
	ErrGroupNotFound         = errors.New("group not found")
	ErrGroupSnapshotNotFound = errors.New("group snapshot not found")
	// ErrGroupNoRoom: the pool of a group made from a source cannot hold its members (Cinder's
	// validate_host_capacity said no); the group and its members were written in error.
	ErrGroupNoRoom = errors.New("no room on the group's pool")
)
