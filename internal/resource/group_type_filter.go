package resource

// GroupTypeFilter selects group types for a list (Cinder's group_type_get_all).
type GroupTypeFilter struct {
	// IsPublic, when set, lists only public (true) or only private (false) types. With
	// AccessProject set, "public" includes the private types that project has access to, as
	// Cinder's list does.
	IsPublic *bool
	// AccessProject, when set, is the project whose private types count as public.
	AccessProject string
	// Sort orders the list, each Field one of GroupTypeSortKeys; created_at and id follow
	// (in the first key's direction) unless named. Empty: newest first.
	Sort []SortKey
	// Marker is the id of the last type of the previous page (an unknown one is ignored, as
	// Cinder ignores it); Offset skips that many after it; Limit bounds the page (0: none).
	Marker string
	Offset int
	Limit  int
}

// GroupTypeSortKeys are the keys a group type list may be sorted by (the columns of Cinder's
// group_types table).
var GroupTypeSortKeys = []string{"id", "name", "description", "is_public", "created_at", "updated_at", "deleted_at", "deleted"}

// GroupTypeUpdate changes a group type; nil fields stay as they are.
type GroupTypeUpdate struct {
	Name        *string
	Description *string
	IsPublic    *bool
}
