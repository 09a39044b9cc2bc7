// Package driver is the public interface between Scoria's volume service and a storage
// backend. A storage vendor implements Driver (and any optional capability interfaces) in its
// own module; Scoria's volume service calls it and never needs to know what is underneath.
// Optional capabilities (snapshots, clones, extend, revert, consistent group snapshots;
// attach exports; groups; images: ImageCopier, ImageCloner in images.go) are interfaces of
// their own; Object describes a driver's storage
// objects to the reconciler, which compares them with the database. A driver's package
// registers it (Register, RegisterAlias) with its declared options (Option); the host builds
// it from a backend section (Section, New) through the Options accessor (register.go,
// options.go). Data is a driver's own per-object data, which its creates return and the
// volume service keeps and hands back. Typed errors (ErrNotFound, ErrNoSpace, ErrBusy,
// ErrUnavailable, Mark; errors.go) let callers test failures with errors.Is. The package
// drivertest is the conformance suite every driver passes against its real backend.
package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// GiB is one gibibyte, the unit of every size in the Block Storage API.
const GiB = int64(1) << 30

// Volume is what a driver is told about the volume it acts on.
type Volume struct {
	ID      string // the volume's UUID
	Name    string // the storage name Cinder uses: "volume-<id>"
	SizeGiB int    // the size in GiB
	Pool    string // the pool the scheduler chose (the part after '#' in host@backend#pool)
	// ExtraSpecs are the extra specs of the volume's type (nil without a type): a driver reads
	// its own keys there, such as a provisioning type or a QoS tier.
	ExtraSpecs map[string]string
	// Metadata is the volume's user metadata, as the API shows it.
	Metadata map[string]string
	// Data is what the driver returned when it made the volume (zero before that).
	Data Data
	// Attached is whether the volume is attached to a host now (attach_status "attached"): a
	// driver whose files a hypervisor writes directly, such as NFS, refuses what it cannot
	// do safely under a running guest.
	Attached bool
}

// Data is a driver's own data about one of its volumes or snapshots, which the volume service
// keeps with it and hands back in Volume.Data or Snapshot.Data on every later call: Cinder's
// provider_location, provider_auth and provider_id. A driver whose objects are found by name
// alone returns the zero Data; one that must remember where it put an object (the share of an
// NFS backend, the LUN of an array) returns it from the call that made the object.
type Data struct {
	Location string // provider_location: where the object is, in the driver's own form
	Auth     string // provider_auth: the credentials an attach needs, e.g. "CHAP user secret"
	ID       string // provider_id: the backend's own identifier of the object
}

// IsZero reports whether d holds nothing.
func (d Data) IsZero() bool { return d == Data{} }

// StorageName returns the name Cinder gives a volume's storage object.
func StorageName(id string) string { return "volume-" + id }

// Pool is one capacity report of a pool, in Cinder's capability keys.
type Pool struct {
	Name                     string         `json:"pool_name"`
	TotalCapacityGB          Capacity       `json:"total_capacity_gb"`
	FreeCapacityGB           Capacity       `json:"free_capacity_gb"`
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
	// FilterFunction and GoodnessFunction are the backend's expressions for the scheduler's
	// DriverFilter and GoodnessWeigher (Cinder's filter_function and goodness_function). The
	// volume service fills them from the backend's options, which win over a driver's own.
	FilterFunction   string         `json:"filter_function,omitempty"`
	GoodnessFunction string         `json:"goodness_function,omitempty"`
	Extra            map[string]any `json:"extra,omitempty"` // custom capabilities of every pool
	Pools            []Pool         `json:"pools"`
}

// Capacity is a size in GiB as a capability report gives it: a number, Infinite or Unknown
// (Cinder's 'infinite' and 'unknown', for backends that cannot tell).
type Capacity float64

// The capacities that are not numbers. Test for Unknown with IsUnknown: it is a NaN.
var (
	Infinite = Capacity(math.Inf(1))
	Unknown  = Capacity(math.NaN())
)

// IsInfinite reports whether c is Infinite.
func (c Capacity) IsInfinite() bool { return math.IsInf(float64(c), 1) }

// IsUnknown reports whether c is Unknown.
func (c Capacity) IsUnknown() bool { return math.IsNaN(float64(c)) }

// Known reports whether c is a number of GiB.
func (c Capacity) Known() bool { return !c.IsInfinite() && !c.IsUnknown() }

// String returns "infinite", "unknown" or the number.
func (c Capacity) String() string {
	switch {
	case c.IsInfinite():
		return "infinite"
	case c.IsUnknown() || math.IsInf(float64(c), -1):
		return "unknown"
	}
	return strconv.FormatFloat(float64(c), 'f', -1, 64)
}

// MarshalJSON writes a number, or "infinite" or "unknown" as Cinder reports them.
func (c Capacity) MarshalJSON() ([]byte, error) {
	if !c.Known() || math.IsInf(float64(c), -1) {
		return []byte(`"` + c.String() + `"`), nil
	}
	return []byte(c.String()), nil
}

// UnmarshalJSON reads a number, "infinite", "unknown", or a number in a string.
func (c *Capacity) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*c = Capacity(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("capacity %s is neither a number nor a string", b)
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "infinite":
		*c = Infinite
	case "unknown":
		*c = Unknown
	default:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("capacity %q is not a number, infinite or unknown", s)
		}
		*c = Capacity(f)
	}
	return nil
}

// Driver is the minimum every backend implements. Every method must be idempotent: the
// volume service may call Create for a volume that already exists (a redelivered message)
// and Delete for one that is already gone.
type Driver interface {
	// Setup checks the backend is usable (binaries, directories, connectivity).
	Setup(ctx context.Context) error
	// Create makes the volume's storage and returns the driver's data for it (see Data). It
	// must not leave partial storage behind that Exists would report as complete.
	Create(ctx context.Context, v Volume) (Data, error)
	// Delete removes the volume's storage; a volume that does not exist is not an error.
	Delete(ctx context.Context, v Volume) error
	// Exists reports whether the volume's storage exists and is complete.
	Exists(ctx context.Context, v Volume) (bool, error)
	// Stats reports capacity and capabilities.
	Stats(ctx context.Context) (Stats, error)
}

// ErrInvalidConfig wraps configuration errors a driver finds in its options.
var ErrInvalidConfig = errors.New("invalid driver configuration")
