package driver

import "context"

// Connector describes the host a volume is attached to, in os-brick's keys: "initiator"
// (the host's iSCSI IQN), "ip", "host", "multipath", "platform", "os_type", "do_local_attach",
// and any other a client sends, kept as sent.
type Connector map[string]any

// ConnectionInfo is what a hypervisor needs to reach a volume, in os-brick's format:
// {"driver_volume_type": "iscsi" | "rbd" | "local" | …, "data": {…}}. For iSCSI, Data holds
// target_portal(s), target_iqn(s), target_lun(s), target_discovered, auth_method,
// auth_username, auth_password, volume_id, access_mode, discard, encrypted, qos_specs.
type ConnectionInfo struct {
	DriverVolumeType string         `json:"driver_volume_type"`
	Data             map[string]any `json:"data"`
}

// Attacher is a backend that connects hosts to its volumes itself (Cinder's
// initialize_connection / terminate_connection), such as RBD, whose clients reach the cluster
// directly. Both must be idempotent.
type Attacher interface {
	InitializeConnection(ctx context.Context, v Volume, c Connector) (ConnectionInfo, error)
	TerminateConnection(ctx context.Context, v Volume, c Connector) error
}

// LocalDevice is a backend whose volumes are local block devices or files on the volume
// service's host; a target helper (internal/target, e.g. tgtadm over iSCSI) exports them.
type LocalDevice interface {
	// DevicePath is the block device or file that holds v.
	DevicePath(v Volume) string
}

// BackingStore is what a target helper exports a volume from: a local block device or file
// (Type "", tgt's default store), or a store of the backend's own kind that the target daemon
// reaches itself, named by tgt's --bstype (Type "sheepdog", Path "tcp:<addr>:<port>:<vdi>").
type BackingStore struct {
	Type string
	Path string
}

// TargetBacked is a backend whose volumes the target helper exports from a backing store the
// target daemon reaches itself (tgt's --bstype), such as Sheepdog's VDIs through tgt's
// sheepdog store: the volume service exports them over iSCSI (with CHAP) as it exports local
// devices.
type TargetBacked interface {
	BackingStore(v Volume) BackingStore
}
