package scheduler

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/capability"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler/evaluator"
	"github.com/scoria/scoria/pkg/driver"
)

// Pool is what the scheduler knows of one pool (host@backend#pool): its report, turned once
// per report into typed capacity fields for the capacity math and into Cinder's merged
// capability dict for the CapabilitiesFilter, the JsonFilter, the evaluator and get_pools,
// plus the capacity placements consumed since that report (Cinder's consume_from_volume).
type Pool struct {
	Name    string // host@backend#pool
	Backend string // host@backend
	Zone    string // availability zone of its volume service
	// Caps is the pool's capabilities: pool keys, backend keys (volume_backend_name,
	// vendor_name, driver_version, storage_protocol, filter_function, goodness_function,
	// timestamp, backend_state) and custom keys, merged as Cinder's host manager does. It is
	// never written after the pool is built.
	Caps map[string]any

	total, free            driver.Capacity // as reported; infinite or unknown possible
	allocated, provisioned float64         // as reported
	reservedPercent        float64
	ratio                  float64 // max_over_subscription_ratio, 'auto' resolved
	ratioText              string  // as reported
	thin                   bool
	updated                time.Time
	// down is a backend that reports itself down (capability backend_state 'down'): it
	// cannot reach its storage, and its capacity is 'unknown'. It takes no volume.
	down bool

	filterFn, goodnessFn       *evaluator.Expr
	filterFnErr, goodnessFnErr error

	consumed float64 // GiB placed here since the report

	// std holds the values of Caps[stdKeys[i]], so that the CapabilitiesFilter reads the
	// common keys without a map lookup (the hot path over thousands of pools).
	std [len(stdKeys)]any
}

// stdKeys are the capabilities the extra specs name most, held beside the map.
var stdKeys = [...]string{"volume_backend_name", "storage_protocol", "vendor_name", "driver_version", "pool_name",
	"thin_provisioning_support", "thick_provisioning_support", "multiattach", "QoS_support"}

// stdIndex returns the position of key in stdKeys, or -1.
func stdIndex(key string) int {
	for i, k := range stdKeys {
		if k == key {
			return i
		}
	}
	return -1
}

// The capacity of a pool as the filters and weighers see it: the report plus what was placed
// since (allocated and provisioned grow; free shrinks only on a pool that is not thin).
//
// Unlike Cinder's consume_from_volume, a placement on a thin pool does not take free space:
// a new thin volume is provisioned, not written, and its growth shows in the next report.
// Cinder's rule refuses a burst of creates on a thin pool once their sizes add up to the
// free space (78 GiB free refused the 79th 1 GiB volume until the next report), although
// the over-subscription limit — which the database claim enforces — was far away.
func (p *Pool) freeGB() float64 {
	if p.thin {
		return float64(p.free)
	}
	return float64(p.free) - p.consumed
}

func (p *Pool) allocatedGB() float64   { return p.allocated + p.consumed }
func (p *Pool) provisionedGB() float64 { return p.provisioned + p.consumed }

// reservedGB is floor(total × reserved_percentage / 100), Cinder's reserved space.
func (p *Pool) reservedGB() float64 {
	return math.Floor(float64(p.total) * p.reservedPercent / 100)
}

// capacityUnknown reports whether total or free is 'infinite' or 'unknown'.
func (p *Pool) capacityUnknown() bool { return !p.total.Known() || !p.free.Known() }

// virtualFree is Cinder's calculate_virtual_free_capacity: for a thin request on a thin pool
// total × ratio − provisioned − reserved, otherwise free − reserved.
func (p *Pool) virtualFree(thin bool) float64 {
	if thin && p.thin {
		return float64(p.total)*p.ratio - p.provisionedGB() - p.reservedGB()
	}
	return p.freeGB() - p.reservedGB()
}

// capacity is what the claims table needs of the pool's report: the CapacityFilter's figures,
// with no total when the filter lets any size through ('infinite'/'unknown' free capacity, or
// total with no reserved_percentage) and a total of 0 when it lets none through (unknown total
// with a reserved_percentage).
func (p *Pool) capacity() resource.PoolCapacity {
	c := resource.PoolCapacity{Name: p.Name, Backend: p.Backend, ReservedPercentage: p.reservedPercent,
		Ratio: p.ratio, Thin: p.thin, ReportedAt: p.updated, Operations: operations(p.Caps), Down: p.down}
	switch {
	case !p.free.Known() || (!p.total.Known() && p.reservedPercent == 0):
	case !p.total.Known():
		c.TotalGB = new(float64)
	default:
		total := float64(p.total)
		c.TotalGB = &total
	}
	return c
}

// timestampFormat is how Cinder shows a pool's timestamp: Python's isoformat() of a naive
// UTC datetime.
func timestampFormat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// newPools builds the pools of a report.
func newPools(r rpcapi.CapabilitiesArgs) []*Pool {
	st := r.Stats
	out := make([]*Pool, 0, len(st.Pools))
	filterFn, filterErr := compile(st.FilterFunction)
	goodnessFn, goodnessErr := compile(st.GoodnessFunction)
	for _, rp := range st.Pools {
		p := &Pool{
			Name:            r.Host + "#" + rp.Name,
			Backend:         r.Host,
			Zone:            r.AvailabilityZone,
			total:           rp.TotalCapacityGB,
			free:            rp.FreeCapacityGB,
			allocated:       rp.AllocatedCapacityGB,
			provisioned:     rp.ProvisionedCapacityGB,
			reservedPercent: float64(rp.ReservedPercentage),
			ratioText:       rp.MaxOverSubscriptionRatio,
			thin:            rp.ThinProvisioningSupport,
			updated:         r.ReportedAt,
			filterFn:        filterFn, filterFnErr: filterErr,
			goodnessFn: goodnessFn, goodnessFnErr: goodnessErr,
		}
		p.ratio = overSubscriptionRatio(rp)
		caps := make(map[string]any, 24+len(st.Extra)+len(rp.Extra))
		for k, v := range st.Extra {
			caps[k] = v
		}
		for k, v := range rp.Extra {
			caps[k] = v
		}
		caps["pool_name"] = rp.Name
		caps["total_capacity_gb"] = capValue(rp.TotalCapacityGB)
		caps["free_capacity_gb"] = capValue(rp.FreeCapacityGB)
		caps["allocated_capacity_gb"] = rp.AllocatedCapacityGB
		caps["provisioned_capacity_gb"] = rp.ProvisionedCapacityGB
		caps["reserved_percentage"] = float64(rp.ReservedPercentage)
		caps["max_over_subscription_ratio"] = rp.MaxOverSubscriptionRatio
		caps["thin_provisioning_support"] = rp.ThinProvisioningSupport
		caps["thick_provisioning_support"] = rp.ThickProvisioningSupport
		caps["multiattach"] = rp.Multiattach
		caps["QoS_support"] = rp.QoSSupport
		caps["volume_backend_name"] = st.VolumeBackendName
		caps["vendor_name"] = st.VendorName
		caps["driver_version"] = st.DriverVersion
		caps["storage_protocol"] = st.StorageProtocol
		caps["filter_function"] = nullable(st.FilterFunction)
		caps["goodness_function"] = nullable(st.GoodnessFunction)
		if _, ok := caps[resource.CapBackendState]; !ok {
			caps[resource.CapBackendState] = resource.BackendStateUp
		}
		p.down = capability.BackendDown(caps)
		caps["timestamp"] = timestampFormat(r.ReportedAt)
		p.Caps = caps
		for i, k := range stdKeys {
			p.std[i] = caps[k]
		}
		out = append(out, p)
	}
	return out
}

func compile(src string) (*evaluator.Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	return evaluator.Parse(src)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// capValue is a capacity as a capability: a number, or "infinite" / "unknown".
func capValue(c driver.Capacity) any {
	if c.Known() {
		return float64(c)
	}
	return c.String()
}

// defaultOverSubscriptionRatio is Cinder's max_over_subscription_ratio default, and its
// INITIAL_AUTO_MOSR: what 'auto' means while nothing is provisioned.
const defaultOverSubscriptionRatio = 20.0

// overSubscriptionRatio is Cinder's calculate_max_over_subscription_ratio: 1 for a pool that
// is not thin or whose capacity is infinite/unknown; 'auto' is 1 + provisioned/(used + 1)
// (20 while nothing is provisioned); "" is the default 20; a number is itself. A ratio that
// is not a number is NaN, which the CapacityFilter rejects as invalid.
func overSubscriptionRatio(p driver.Pool) float64 {
	if !p.ThinProvisioningSupport || !p.TotalCapacityGB.Known() || !p.FreeCapacityGB.Known() {
		return 1
	}
	r := strings.TrimSpace(p.MaxOverSubscriptionRatio)
	switch {
	case r == "":
		return defaultOverSubscriptionRatio
	case strings.EqualFold(r, "auto"):
		if p.ProvisionedCapacityGB == 0 {
			return defaultOverSubscriptionRatio
		}
		used := float64(p.TotalCapacityGB) - float64(p.FreeCapacityGB)
		return 1 + p.ProvisionedCapacityGB/(used+1)
	}
	f, err := strconv.ParseFloat(r, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}
