package scheduler

import (
	"github.com/scoria/scoria/internal/capability"
	"github.com/scoria/scoria/internal/scheduler/evaluator"
)

// Filter is one of Cinder's backend filters: it says whether a pool can take a request and,
// when it cannot, why. A filter does no I/O and keeps no state between calls: everything it
// needs is in the Request (prepared once) and the Pool.
type Filter interface {
	Name() string
	Fit(r *Request, p *Pool) (bool, Reason)
}

// Reason is why a filter rejected a pool: a code that chooses the phrase of the
// explanation, a detail (a zone, a spec, an error) and, for capacity, the GiB available.
type Reason struct {
	Code   reasonCode
	Detail string
	GiB    float64
}

var fits = Reason{}

// AvailabilityZoneFilter passes the pools in the requested availability zone.
type AvailabilityZoneFilter struct{}

func (AvailabilityZoneFilter) Name() string { return "AvailabilityZoneFilter" }

func (AvailabilityZoneFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	if r.Zone != "" && p.Zone != r.Zone {
		return false, Reason{Code: reasonZone, Detail: r.Zone}
	}
	return true, fits
}

// CapacityFilter passes the pools with room for the volume, with Cinder's math: free minus
// reserved for thick; for thin pools also the provisioned ratio ((provisioned + size) /
// total ≤ max_over_subscription_ratio) and (free − reserved) × ratio ≥ size. A pool whose
// free capacity is infinite or unknown passes (a failed create is retried elsewhere); one
// whose total is infinite or unknown passes only without reserved_percentage. A size of 0
// (manage) always passes. A provisioning:type=thick extra spec uses the thick math.
type CapacityFilter struct{}

func (CapacityFilter) Name() string { return "CapacityFilter" }

func (CapacityFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	size := r.Size
	if size == 0 || !p.free.Known() {
		return true, fits
	}
	if !p.total.Known() {
		if p.reservedPercent == 0 {
			return true, fits
		}
		return false, Reason{Code: reasonReservedOfUnknown, Detail: p.total.String()}
	}
	total := float64(p.total)
	if total <= 0 {
		return false, Reason{Code: reasonNoTotal}
	}
	free := p.freeGB() - p.reservedGB()
	thin := !r.thick
	switch {
	case thin && p.thin && p.ratio >= 1:
		if (p.provisionedGB()+size)/total > p.ratio {
			return false, Reason{Code: reasonCapacity, Detail: "virtual free", GiB: total*p.ratio - p.provisionedGB()}
		}
		if free*p.ratio < size {
			return false, Reason{Code: reasonCapacity, Detail: "virtual free", GiB: free * p.ratio}
		}
		return true, fits
	case thin && p.thin:
		return false, Reason{Code: reasonBadRatio, Detail: p.ratioText}
	case free < size:
		return false, Reason{Code: reasonCapacity, Detail: "free", GiB: free}
	}
	return true, fits
}

// CapabilitiesFilter passes the pools whose capabilities satisfy the volume type's extra
// specs: unscoped keys and keys scoped "capabilities:" (nested with ':'), with the operators
// of extra_specs_ops; keys of other scopes (qos:, RESKEY:, vendor:…) are not capabilities. A
// list capability matches when one of its elements does.
type CapabilitiesFilter struct{}

func (CapabilitiesFilter) Name() string { return "CapabilitiesFilter" }

func (CapabilitiesFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	for i := range r.specs {
		s := &r.specs[i]
		var (
			v  any
			ok bool
		)
		if s.std >= 0 {
			v = p.std[s.std]
			ok = v != nil
		} else {
			v, ok = capability.LookupPath(p.Caps, s.Path)
		}
		if fit, why := s.Check(v, ok); !fit {
			if why.Missing {
				return false, Reason{Code: reasonNoCapability, Detail: why.Detail}
			}
			return false, Reason{Code: reasonSpec, Detail: why.Detail}
		}
	}
	return true, fits
}

// SameBackendFilter passes the pools that hold one of the volumes of the same_host hint (as
// Cinder matches a pool's host, the pool itself).
type SameBackendFilter struct{}

func (SameBackendFilter) Name() string { return "SameBackendFilter" }

func (SameBackendFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	if r.HintError != "" {
		return false, Reason{Code: reasonBadHint, Detail: r.HintError}
	}
	if !r.SameHostSet {
		return true, fits
	}
	for _, h := range r.SameHost {
		if h == p.Name {
			return true, fits
		}
	}
	return false, Reason{Code: reasonNotSameHost}
}

// DifferentBackendFilter passes the pools that hold none of the volumes of the
// different_host hint.
type DifferentBackendFilter struct{}

func (DifferentBackendFilter) Name() string { return "DifferentBackendFilter" }

func (DifferentBackendFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	if r.HintError != "" {
		return false, Reason{Code: reasonBadHint, Detail: r.HintError}
	}
	for _, h := range r.DifferentHost {
		if h == p.Name {
			return false, Reason{Code: reasonDifferentHost}
		}
	}
	return true, fits
}

// DriverFilter passes the pools whose backend's filter_function is true for the request
// (no filter_function: passes). A function that does not parse or fails to evaluate rejects
// the pool, saying why.
type DriverFilter struct{}

func (DriverFilter) Name() string { return "DriverFilter" }

func (DriverFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	if p.filterFnErr != nil {
		return false, Reason{Code: reasonFilterFunctionError, Detail: "does not parse: " + p.filterFnErr.Error()}
	}
	if p.filterFn == nil {
		return true, fits
	}
	r.cur = p
	v, err := p.filterFn.Eval(r)
	if err != nil {
		return false, Reason{Code: reasonFilterFunctionError, Detail: err.Error()}
	}
	if !v.Truthy() {
		return false, Reason{Code: reasonFilterFunction, Detail: p.filterFn.String()}
	}
	return true, fits
}

// Lookup gives the evaluator the variables of Cinder's DriverFilter and GoodnessWeigher for
// the pool being looked at: stats.*, capabilities.*, extra.* (extra specs), volume.*; qos.*
// is empty (Scoria has no QoS specs yet).
func (r *Request) Lookup(object, name string) (evaluator.Value, bool) {
	p := r.cur
	switch object {
	case "stats":
		switch name {
		case "host":
			return evaluator.String(p.Name), true
		case "volume_backend_name", "vendor_name", "driver_version", "storage_protocol", "QoS_support":
			return evaluator.FromAny(p.Caps[name]), true
		case "total_capacity_gb":
			if !p.total.Known() {
				return evaluator.String(p.total.String()), true
			}
			return evaluator.Number(float64(p.total)), true
		case "free_capacity_gb":
			if !p.free.Known() {
				return evaluator.String(p.free.String()), true
			}
			return evaluator.Number(p.freeGB()), true
		case "allocated_capacity_gb":
			return evaluator.Number(p.allocatedGB()), true
		case "reserved_percentage":
			return evaluator.Number(p.reservedPercent), true
		case "updated":
			return evaluator.String(timestampFormat(p.updated)), true
		}
	case "capabilities":
		v, ok := p.Caps[name]
		return evaluator.FromAny(v), ok
	case "extra":
		v, ok := r.extraV[name]
		return v, ok
	case "volume":
		v, ok := r.volV[name]
		return v, ok
	}
	return evaluator.Value{}, false
}
