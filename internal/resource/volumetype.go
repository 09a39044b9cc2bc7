package resource

import (
	"errors"
	"time"
)

// VolumeType is a volume type: what a volume is created as. Extra specs steer the scheduler;
// a private type (IsPublic false) may only be used by the projects given access to it.
type VolumeType struct {
	ID          string
	Name        string
	Description string
	IsPublic    bool
	ExtraSpecs  map[string]string // never nil when read from the store
	QoSSpecsID  string            // "" when no QoS specs are associated
}

// DefaultVolumeTypeName is Cinder's built-in default type.
const DefaultVolumeTypeName = "__DEFAULT__"

// VolumeTypeFilter selects volume types for a list.
type VolumeTypeFilter struct {
	// IsPublic, when set, lists only public (true) or only private (false) types. With
	// AccessProject set, "public" includes the private types that project may use, as
	// Cinder's list does.
	IsPublic *bool
	// AccessProject, when set, is the project whose private types count as public.
	AccessProject string
	// SortKey is one of VolumeTypeSortKeys (default created_at); SortDesc orders downwards.
	SortKey  string
	SortDesc bool
	// Marker is the id of the last type of the previous page; Limit bounds the page (0: no
	// bound).
	Marker string
	Limit  int
	// ExtraSpecs, when set, lists only the types that have every one of these extra specs
	// (3.52's extra_specs filter); RESKEY:availability_zones matches when its value contains
	// the given one, as Cinder's LIKE does.
	ExtraSpecs map[string]string
}

// AvailabilityZonesSpec is the extra spec that names the zones a type may be used in.
const AvailabilityZonesSpec = "RESKEY:availability_zones"

// VolumeTypeSortKeys are the keys a type list may be sorted by.
var VolumeTypeSortKeys = []string{"created_at", "id", "name", "description", "is_public", "updated_at"}

// VolumeTypeUpdate changes a type; nil fields stay as they are.
type VolumeTypeUpdate struct {
	Name        *string
	Description *string
	IsPublic    *bool
}

// Errors of volume type changes, wrapped by the store with the id or name concerned.
var (
	// ErrVolumeTypeExists: another type already has that name.
	ErrVolumeTypeExists = errors.New("volume type exists")
	// ErrVolumeTypeInUse: a volume that is not deleted uses the type.
	ErrVolumeTypeInUse = errors.New("volume type in use")
	// ErrVolumeTypeIsDefault: the type is some project's default type.
	ErrVolumeTypeIsDefault = errors.New("volume type is a project default")
	// ErrAccessExists: the project already has access to the type.
	ErrAccessExists = errors.New("volume type access exists")
	// ErrQoSSpecsExists: other QoS specs already have that name.
	ErrQoSSpecsExists = errors.New("qos specs exist")
	// ErrQoSSpecsInUse: the QoS specs are associated with a volume type.
	ErrQoSSpecsInUse = errors.New("qos specs in use")
	// ErrQoSAssociated: the type is already associated with other QoS specs.
	ErrQoSAssociated = errors.New("volume type associated with other qos specs")
)

// QoS consumers: where the limits of QoS specs are enforced.
const (
	QoSConsumerFrontEnd = "front-end"
	QoSConsumerBackEnd  = "back-end"
	QoSConsumerBoth     = "both"
)

// QoSConsumers are the valid consumers, in Cinder's order.
var QoSConsumers = []string{QoSConsumerFrontEnd, QoSConsumerBackEnd, QoSConsumerBoth}

// QoSSpecs are named quality-of-service limits that volume types refer to.
type QoSSpecs struct {
	ID        string
	Name      string
	Consumer  string
	Specs     map[string]string // never nil when read from the store
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// QoSSpecsSortKeys are the fields a QoS specs list may be sorted by: the columns of Cinder's
// quality_of_service_specs model that Scoria keeps.
var QoSSpecsSortKeys = []string{"id", "created_at", "updated_at"}

// QoSSpecsFilter is one page of a QoS specs list.
type QoSSpecsFilter struct {
	Limit  int    // 0 means no limit
	Offset int    // specs skipped after the marker (or from the start)
	Marker string // the id of the last specs of the previous page
	// Sort orders the list (empty: created_at DESC); id, in the direction of the first key,
	// breaks ties.
	Sort []SortKey
}

// FrontEnd reports whether the hypervisor enforces these specs (consumer front-end or
// both): then they belong in a volume's connection info.
func (q *QoSSpecs) FrontEnd() bool {
	return q.Consumer == QoSConsumerFrontEnd || q.Consumer == QoSConsumerBoth
}

// QoSAssociation is one volume type that QoS specs are associated with.
type QoSAssociation struct {
	TypeID   string
	TypeName string
}

// ProjectDefaultType is a project's own default volume type (microversion 3.62).
type ProjectDefaultType struct {
	ProjectID    string
	VolumeTypeID string
}
