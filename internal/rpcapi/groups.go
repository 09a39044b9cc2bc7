package rpcapi

// Methods of generic volume groups: API → scheduler (create_group: place a new group), then
// scheduler → the volume service of the chosen backend (create_group: make it); API → the
// volume service of the group's backend (create_group of a group made from a source,
// update_group, delete_group).
const (
	// CreateGroup asks the scheduler to place a group in creating, or a volume service to
	// make it (and, for a group made from a source, its member volumes).
	CreateGroup = "create_group"
	// DeleteGroup asks to delete a group in deleting, with its volumes (in deleting).
	DeleteGroup = "delete_group"
	// UpdateGroup asks to add volumes to and remove volumes from a group in updating.
	UpdateGroup = "update_group"
)

// GroupArgs name the group of create_group and delete_group.
type GroupArgs struct {
	GroupID string `json:"group_id"`
}

// UpdateGroupArgs are the arguments of update_group: the volumes that join and leave.
type UpdateGroupArgs struct {
	GroupID       string   `json:"group_id"`
	AddVolumes    []string `json:"add_volumes,omitempty"`
	RemoveVolumes []string `json:"remove_volumes,omitempty"`
}
