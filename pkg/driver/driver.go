// Package driver is the public interface between Scoria's volume service and a storage
// backend. A storage vendor implements Driver (and any optional capability interfaces) in its
// own module; Scoria's volume service calls it and never needs to know what is underneath.
package driver

import (
	"context"
	"errors"
)

// GiB is one gibibyte, the unit of every size in the Block Storage API.
const GiB = int64(1) << 30

// Volume is what a driver is told about the volume it acts on.
type Volume struct {
	ID      string // the volume's UUID
	Name    string // the storage name Cinder uses: "volume-<id>"
	SizeGiB int    // the size in GiB
	Pool    string // the pool the scheduler chose (the part after '#' in host@backend#pool)
}

// StorageName returns the name Cinder gives a volume's storage object.
func StorageName(id string) string { return "volume-" + id }

// Pool is one capacity report of a pool, in Cinder's capability keys.
type Pool struct {
	Name                     string         `json:"pool_name"`
	TotalCapacityGB          float64        `json:"total_capacity_gb"`
	FreeCapacityGB           float64        `json:"free_capacity_gb"`
	AllocatedCapacityGB      float64        `json:"allocated_capacity_gb"`
	ProvisionedCapacityGB    float64        `json:"provisioned_capacity_gb"`
	ReservedPercentage       int            `json:"reserved_percentage"`
	MaxOverSubscriptionRatio string         `json:"max_over_subscription_ratio"`
	ThinProvisioningSupport  bool           `json:"thin_provisioning_support"`
	ThickProvisioningSupport bool           `json:"thick_provisioning_support"`
	Multiattach              bool           `json:"multiattach"`
	QoSSupport               bool           `json:"QoS_support"`
	Extra                    map[string]any `json:"extra,omitempty"` // custom capabilities
}

// Stats is a backend's capability report: who it is and its pools.
type Stats struct {
	VolumeBackendName string `json:"volume_backend_name"`
	VendorName        string `json:"vendor_name"`
	DriverVersion     string `json:"driver_version"`
	StorageProtocol   string `json:"storage_protocol"`
	Pools             []Pool `json:"pools"`
}

// Driver is the minimum every backend implements. Every method must be idempotent: the
// volume service may call Create for a volume that already exists (a redelivered message)
// and Delete for one that is already gone.
type Driver interface {
	// Setup checks the backend is usable (binaries, directories, connectivity).
	Setup(ctx context.Context) error
	// Create makes the volume's storage. It must not leave partial storage behind that Exists
	// would report as complete.
	Create(ctx context.Context, v Volume) error
	// Delete removes the volume's storage; a volume that does not exist is not an error.
	Delete(ctx context.Context, v Volume) error
	// Exists reports whether the volume's storage exists and is complete.
	Exists(ctx context.Context, v Volume) (bool, error)
	// Stats reports capacity and capabilities.
	Stats(ctx context.Context) (Stats, error)
}

// ErrInvalidConfig wraps configuration errors a driver finds in its options.
var ErrInvalidConfig = errors.New("invalid driver configuration")
