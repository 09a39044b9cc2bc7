package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Weigher is one of Cinder's weighers: a raw weight per pool, higher is better. The pipeline
// normalizes each weigher's weights to 0..1 over the candidates (min-max, as oslo's weights
// do), multiplies them by the weigher's multiplier and sums them.
type Weigher interface {
	Name() string
	Weigh(r *Request, p *Pool) float64
}

// CapacityWeigher weighs by virtual free capacity (thin pools: total × ratio − provisioned −
// reserved; thick pools or provisioning:type=thick: free − reserved). With a positive
// multiplier volumes spread; negative, they stack. A pool whose capacity is infinite or
// unknown weighs least: -1 with a positive multiplier, +∞ (then just above the largest
// finite weight) with a negative one.
type CapacityWeigher struct{ Multiplier float64 }

func (CapacityWeigher) Name() string { return "CapacityWeigher" }

func (w CapacityWeigher) Weigh(r *Request, p *Pool) float64 {
	if p.capacityUnknown() {
		if w.Multiplier > 0 {
			return -1
		}
		return math.Inf(1)
	}
	return p.virtualFree(!r.thick)
}

// AllocatedCapacityWeigher weighs by allocated capacity; its multiplier (default -1) makes
// the least allocated pool win.
type AllocatedCapacityWeigher struct{}

func (AllocatedCapacityWeigher) Name() string { return "AllocatedCapacityWeigher" }

func (AllocatedCapacityWeigher) Weigh(_ *Request, p *Pool) float64 { return p.allocatedGB() }

// ChanceWeigher weighs at random.
type ChanceWeigher struct{}

func (ChanceWeigher) Name() string { return "ChanceWeigher" }

func (ChanceWeigher) Weigh(*Request, *Pool) float64 { return rand.Float64() }

// VolumeNumberWeigher weighs by the number of volumes on the pool (Request.VolumeCounts,
// counted by the scheduler before the pipeline runs); its multiplier (default -1) makes the
// pool with the fewest volumes win.
type VolumeNumberWeigher struct{}

func (VolumeNumberWeigher) Name() string { return "VolumeNumberWeigher" }

func (VolumeNumberWeigher) Weigh(r *Request, p *Pool) float64 {
	return float64(r.VolumeCounts[p.Name])
}

// GoodnessWeigher weighs by the backend's goodness_function, 0 to 100. No function, one that
// fails, or a result outside 0..100 weighs 0, and the reason is noted for the log.
type GoodnessWeigher struct{}

func (GoodnessWeigher) Name() string { return "GoodnessWeigher" }

func (GoodnessWeigher) Weigh(r *Request, p *Pool) float64 {
	if p.goodnessFnErr != nil {
		r.note(p, "goodness_function does not parse: "+p.goodnessFnErr.Error())
		return 0
	}
	if p.goodnessFn == nil {
		return 0
	}
	r.cur = p
	v, err := p.goodnessFn.Eval(r)
	if err != nil {
		r.note(p, "goodness_function fails: "+err.Error())
		return 0
	}
	f, ok := v.Float()
	if !ok || f < 0 || f > 100 || math.IsNaN(f) {
		r.note(p, fmt.Sprintf("goodness_function gives %s, not a number from 0 to 100", v))
		return 0
	}
	return f
}

// maxNotes bounds the notes of one request.
const maxNotes = 10

// note records a problem worth a log line (a goodness_function that fails).
func (r *Request) note(p *Pool, msg string) {
	if len(r.Notes) < maxNotes {
		r.Notes = append(r.Notes, p.Name+": "+msg)
	}
}

// The offset Cinder's CapacityWeigher gives an infinite weight above the largest finite one.
const (
	infiniteOffsetMult = 100
	infiniteOffsetMin  = 10000
)

// normalize turns raw weights into 0..1 in place (all 0 when they are equal), as oslo's
// weights.normalize; +∞ first becomes the largest finite weight plus an offset, as Cinder's
// CapacityWeigher does, and NaN the smallest.
func normalize(w []float64) {
	lo, hi, hiFinite := math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, x := range w {
		if math.IsNaN(x) {
			continue
		}
		lo = math.Min(lo, x)
		hi = math.Max(hi, x)
		if !math.IsInf(x, 1) {
			hiFinite = math.Max(hiFinite, x)
		}
	}
	if math.IsInf(hi, 1) && !math.IsInf(hiFinite, -1) {
		offset := (hiFinite - lo) * infiniteOffsetMult
		if offset == 0 {
			offset = infiniteOffsetMin
		}
		hi = hiFinite + offset
	}
	span := hi - lo
	for i, x := range w {
		switch {
		case span == 0 || math.IsNaN(span) || math.IsInf(span, 0) || math.IsNaN(x):
			w[i] = 0
		case math.IsInf(x, 1):
			w[i] = 1
		default:
			w[i] = (x - lo) / span
		}
	}
}
