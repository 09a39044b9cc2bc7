package resource

// The optional operations of a backend (the optional interfaces of pkg/driver), by the names a
// volume service reports them in its capability CapSupportedOperations and the pools table
// keeps them (pools.operations). The API refuses an operation the pool holding the object is
// known not to support.
const (
	OpSnapshot           = "snapshot"             // driver.Snapshotter: create/delete snapshots
	OpCreateFromSnapshot = "create_from_snapshot" // driver.SnapshotRestorer
	OpClone              = "clone"                // driver.Cloner
	OpExtend             = "extend"               // driver.Extender
	OpRevert             = "revert"               // driver.Reverter
)

// CapSupportedOperations is the backend-level capability (driver.Stats.Extra) in which a
// volume service lists the optional operations its driver implements, Op* names in this
// order; it shows in get_pools. A report without it (an older service) leaves them unknown.
const CapSupportedOperations = "supported_operations"

// CapBackendState is the capability (Cinder's backend_state) in which a backend says whether
// it can reach its storage: BackendStateUp (the default when a report does not say) or
// BackendStateDown, which Cinder's RBD driver reports when rados fails and Scoria's volume
// service reports for any driver whose stats fail after a good report. No volume is placed
// on, or grown in, a pool that is down (PoolCapacity.Down).
const (
	CapBackendState = "backend_state"
	// CapBackendStateReason says why a backend (or pool) reports backend_state "down" (Scoria's).
	CapBackendStateReason = "backend_state_reason"
	BackendStateUp        = "up"
	BackendStateDown      = "down"
)
