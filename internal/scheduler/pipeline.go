package scheduler

import (
	"fmt"
	"strings"

	"github.com/scoria/scoria/internal/rpcapi"
)

// Options chooses the filters and weighers of a Pipeline: Cinder's scheduler_default_filters,
// scheduler_default_weighers and the weighers' multipliers.
type Options struct {
	Filters                           []string // default AvailabilityZoneFilter, CapacityFilter, CapabilitiesFilter
	Weighers                          []string // default CapacityWeigher
	CapacityWeightMultiplier          float64  // capacity_weight_multiplier
	AllocatedCapacityWeightMultiplier float64  // allocated_capacity_weight_multiplier
	VolumeNumberMultiplier            float64  // volume_number_multiplier
}

// DefaultOptions are Cinder's defaults.
func DefaultOptions() Options {
	return Options{
		Filters:                           []string{"AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter"},
		Weighers:                          []string{"CapacityWeigher"},
		CapacityWeightMultiplier:          1.0,
		AllocatedCapacityWeightMultiplier: -1.0,
		VolumeNumberMultiplier:            -1.0,
	}
}

// OptionError is a filter or weigher name the pipeline does not know.
type OptionError struct {
	Option string // scheduler_default_filters or scheduler_default_weighers
	Reason string
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Reason }

// filterNames are the filters Scoria implements. IgnoreAttemptedHostsFilter is accepted and
// does nothing more: Scoria always skips the pools a create already failed on.
var filterNames = []string{"AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter", "DriverFilter",
	"JsonFilter", "SameBackendFilter", "DifferentBackendFilter", "IgnoreAttemptedHostsFilter"}

var weigherNames = []string{"CapacityWeigher", "AllocatedCapacityWeigher", "ChanceWeigher", "VolumeNumberWeigher", "GoodnessWeigher"}

// Pipeline is the scheduler's placement: candidates → filters → weighers → the best pool.
type Pipeline struct {
	filters  []Filter
	weighers []weighted
}

type weighted struct {
	Weigher
	multiplier float64
}

// NewPipeline builds the pipeline o names, in its order.
func NewPipeline(o Options) (*Pipeline, error) {
	pl := &Pipeline{}
	seen := map[string]bool{}
	for _, name := range o.Filters {
		if seen[name] {
			continue
		}
		seen[name] = true
		var f Filter
		switch name {
		case "AvailabilityZoneFilter":
			f = AvailabilityZoneFilter{}
		case "CapacityFilter":
			f = CapacityFilter{}
		case "CapabilitiesFilter":
			f = CapabilitiesFilter{}
		case "DriverFilter":
			f = DriverFilter{}
		case "JsonFilter":
			f = JsonFilter{}
		case "SameBackendFilter":
			f = SameBackendFilter{}
		case "DifferentBackendFilter":
			f = DifferentBackendFilter{}
		case "IgnoreAttemptedHostsFilter":
			continue
		default:
			return nil, &OptionError{Option: "scheduler_default_filters",
				Reason: fmt.Sprintf("%q is not a filter Scoria knows; choose from %s", name, strings.Join(filterNames, ", "))}
		}
		pl.filters = append(pl.filters, f)
	}
	for _, name := range o.Weighers {
		if seen[name] {
			continue
		}
		seen[name] = true
		var w weighted
		switch name {
		case "CapacityWeigher":
			w = weighted{CapacityWeigher{Multiplier: o.CapacityWeightMultiplier}, o.CapacityWeightMultiplier}
		case "AllocatedCapacityWeigher":
			w = weighted{AllocatedCapacityWeigher{}, o.AllocatedCapacityWeightMultiplier}
		case "ChanceWeigher":
			w = weighted{ChanceWeigher{}, 1}
		case "VolumeNumberWeigher":
			w = weighted{VolumeNumberWeigher{}, o.VolumeNumberMultiplier}
		case "GoodnessWeigher":
			w = weighted{GoodnessWeigher{}, 1}
		default:
			return nil, &OptionError{Option: "scheduler_default_weighers",
				Reason: fmt.Sprintf("%q is not a weigher Scoria knows; choose from %s", name, strings.Join(weigherNames, ", "))}
		}
		pl.weighers = append(pl.weighers, w)
	}
	return pl, nil
}

// Uses reports whether the pipeline has the filter or weigher name, e.g. to look up volume
// counts only for the VolumeNumberWeigher.
func (pl *Pipeline) Uses(name string) bool {
	for _, f := range pl.filters {
		if f.Name() == name {
			return true
		}
	}
	for _, w := range pl.weighers {
		if w.Name() == name {
			return true
		}
	}
	return false
}

// Result is the outcome of a placement: the chosen pool, or nil and the metrics that say why.
type Result struct {
	Pool       *Pool
	Candidates int // pools that passed the filters
	Metrics    Metrics
}

// Place runs the pipeline over pools and returns the best one. It reads the pools and does
// not change them: the caller consumes the chosen pool's capacity.
//
//	pools ─▶ not tried ─▶ backend up ─▶ filter 1 ─▶ … ─▶ filter n ─▶ weigher 1 … m (normalized, × multiplier, summed) ─▶ best
//
// Every pool a step removes is counted with the reason (Result.Metrics). A pool whose backend
// reports itself down (backend_state 'down') is never a candidate, whatever the filters: its
// capacity is 'unknown', which the CapacityFilter would let through (as Cinder does, to fail
// the create on the backend).
func (pl *Pipeline) Place(r *Request, pools []*Pool) Result {
	r.prepare()
	res := Result{Metrics: Metrics{Total: len(pools)}}
	fit := make([]*Pool, 0, len(pools))
	for _, p := range pools {
		if r.tried[p.Name] {
			res.Metrics.reject(-1, Reason{Code: reasonTried})
			continue
		}
		if p.down {
			res.Metrics.reject(-1, Reason{Code: reasonBackendDown, Detail: p.Backend})
			continue
		}
		if why, ok := r.full[p.Name]; ok {
			at := pl.capacityIndex()
			if why.Code == reasonBackendDown {
				at = -1
			}
			res.Metrics.reject(at, why)
			continue
		}
		if pl.fits(r, p, &res.Metrics) {
			fit = append(fit, p)
		}
	}
	res.Candidates = len(fit)
	if len(fit) > 0 {
		res.Pool = pl.best(r, fit)
	}
	return res
}

// capacityIndex is where the pools whose claim failed are counted: with the CapacityFilter's
// rejections, or after every filter when it is not configured.
func (pl *Pipeline) capacityIndex() int {
	for i, f := range pl.filters {
		if f.Name() == "CapacityFilter" {
			return i
		}
	}
	return len(pl.filters)
}

// MarkFull excludes pool from the rest of r's placement: the database refused its capacity
// claim, which left unclaimedGB. It is counted as lacking capacity.
func (r *Request) MarkFull(pool string, unclaimedGB float64) {
	if r.full == nil {
		r.full = map[string]Reason{}
	}
	r.full[pool] = Reason{Code: reasonCapacity, Detail: "unclaimed", GiB: unclaimedGB}
}

// MarkDown excludes pool from the rest of r's placement: the database refused its claim
// because the pool's backend reports itself down (a report newer than the snapshot). It is
// counted as on a backend that is down.
func (r *Request) MarkDown(pool string) {
	if r.full == nil {
		r.full = map[string]Reason{}
	}
	r.full[pool] = Reason{Code: reasonBackendDown, Detail: rpcapi.BackendHost(pool)}
}

// fits runs the filters in order; the first that rejects p counts it.
func (pl *Pipeline) fits(r *Request, p *Pool, m *Metrics) bool {
	for i, f := range pl.filters {
		if ok, why := f.Fit(r, p); !ok {
			if m != nil {
				m.reject(i, why)
			}
			return false
		}
	}
	return true
}

// best weighs the candidates and returns the heaviest. Ties (equal total weight) go to the
// pool with the highest hash of volume id and pool name: deterministic for one volume (a
// redelivered request lands where the first did), spread across volumes.
func (pl *Pipeline) best(r *Request, pools []*Pool) *Pool {
	if len(pools) == 1 {
		return pools[0]
	}
	total := make([]float64, len(pools))
	raw := make([]float64, len(pools))
	for _, w := range pl.weighers {
		if w.multiplier == 0 {
			continue
		}
		for i, p := range pools {
			raw[i] = w.Weigh(r, p)
		}
		normalize(raw)
		for i, x := range raw {
			total[i] += w.multiplier * x
		}
	}
	best := 0
	for i := 1; i < len(pools); i++ {
		if total[i] > total[best] || (total[i] == total[best] && tieBreak(r.VolumeID, pools[i], pools[best])) {
			best = i
		}
	}
	return pools[best]
}

// tieBreak reports whether a wins a tie with b for volume id.
func tieBreak(id string, a, b *Pool) bool {
	ha, hb := tieHash(id, a.Name), tieHash(id, b.Name)
	if ha != hb {
		return ha > hb
	}
	return a.Name < b.Name
}

// tieHash is FNV-1a of id, a zero byte and pool, without allocating.
func tieHash(id, pool string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	h *= prime // the zero byte
	for i := 0; i < len(pool); i++ {
		h = (h ^ uint64(pool[i])) * prime
	}
	return h
}
