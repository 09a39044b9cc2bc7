package driver

import "context"

// Group is what a driver is told about a generic volume group.
type Group struct {
	ID          string            // the group's UUID
	GroupTypeID string            // its group type
	GroupSpecs  map[string]string // the group type's specs
}

// GroupManager is the optional capability of a backend that keeps groups of its own (Cinder's
// create_group, delete_group, update_group driver calls). A driver without it gets Cinder's
// generic path: a group is rows in the database, and its volumes are created and deleted one
// by one. Like every driver method, each must be idempotent.
type GroupManager interface {
	// CreateGroup makes the backend's group g.
	CreateGroup(ctx context.Context, g Group) error
	// DeleteGroup removes group g, whose volumes are gone already; one that does not exist is
	// not an error.
	DeleteGroup(ctx context.Context, g Group) error
	// UpdateGroup puts volumes add into group g and takes volumes remove out of it.
	UpdateGroup(ctx context.Context, g Group, add, remove []Volume) error
}
