package resource

// What the group API, scheduler and volume service exchange with the store beyond the
// domain types of group.go: list filters, the refusals of a group delete, and the statuses
// Cinder allows.

// GroupFilter selects groups for a list.
type GroupFilter struct {
	ProjectID string // "" lists every project's groups
	Name      string
	Status    string
	// Equal holds exact matches on other columns, by Cinder's names (availability_zone,
	// group_type_id, host, user_id, description, id).
	Equal  map[string]string
	Limit  int // 0 means no limit
	Offset int
	Marker string
	// Sort orders the list (empty: created_at DESC); id breaks ties.
	Sort []GroupSort
}

// GroupSort is one key of a group list's order.
type GroupSort struct {
	Key  string
	Desc bool
}

// GroupSortKeys are the columns a group list may be sorted by.
var GroupSortKeys = []string{"id", "created_at", "updated_at", "project_id", "user_id", "name",
	"description", "availability_zone", "status", "group_type_id", "host"}

// GroupFilterKeys are the exact filters of a group list besides name and status.
var GroupFilterKeys = []string{"id", "availability_zone", "group_type_id", "host", "user_id", "description"}

// GroupStatuses are the statuses an administrator's reset_status may set (Cinder's
// fields.GroupStatus.ALL).
var GroupStatuses = []string{GroupStatusError, GroupStatusAvailable, GroupStatusCreating,
	GroupStatusDeleting, GroupStatusDeleted, GroupStatusUpdating, GroupStatusInUse, GroupStatusErrorDeleting}

// Group membership rules of Cinder's group API.
var (
	// GroupAddVolumeStatuses are the statuses a volume may be added to a group in.
	GroupAddVolumeStatuses = []string{StatusAvailable, StatusInUse}
	// GroupRemoveVolumeStatuses are the statuses a volume may be removed from a group in.
	GroupRemoveVolumeStatuses = []string{StatusAvailable, StatusInUse, StatusError, StatusErrorDeleting}
)

// MessageResourceGroup is the resource type of a user message about a group.
const MessageResourceGroup = "GROUP"

// GroupDeleteError is why the store refused to start a group delete; Reason is Cinder's
// sentence.
type GroupDeleteError struct{ Reason string }

func (e *GroupDeleteError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidState) true.
func (e *GroupDeleteError) Unwrap() error { return ErrInvalidState }
