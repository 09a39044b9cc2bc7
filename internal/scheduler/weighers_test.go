package scheduler

import (
	"math"
	"slices"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

func TestNormalize(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		in   []float64
		want []float64
	}{
		{"min-max to 0..1", []float64{10, 20, 30}, []float64{0, 0.5, 1}},
		{"all equal are 0", []float64{7, 7}, []float64{0, 0}},
		{"negative values", []float64{-1, 1}, []float64{0, 1}},
		// Cinder's CapacityWeigher: +∞ becomes max finite + (max − min) × 100.
		{"infinite above the rest", []float64{0, 10, inf}, []float64{0, 10.0 / 1010, 1}},
		{"infinite with one finite value: offset 10000", []float64{5, inf}, []float64{0, 1}},
		{"all infinite are 0", []float64{inf, inf}, []float64{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Clone(tc.in)
			normalize(got)
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Fatalf("normalize(%v) = %v, want %v", tc.in, got, tc.want)
				}
			}
		})
	}
}

func TestWeighers(t *testing.T) {
	thin := one(pool("thin", 100, 10, 150, true, "20.0")) // virtual free 100×20 − 150 = 1850
	thick := one(pool("thick", 100, 60, 0, false, ""))    // free 60
	inf := one(with(pool("inf", 0, 0, 0, false, ""), func(p *driver.Pool) { p.FreeCapacityGB = driver.Infinite }))
	reserved := one(with(pool("res", 100, 60, 0, false, ""), func(p *driver.Pool) { p.ReservedPercentage = 10 }))
	tests := []struct {
		name string
		w    Weigher
		r    *Request
		p    *Pool
		want float64
	}{
		{"capacity: thin is virtual free", CapacityWeigher{Multiplier: 1}, req(1, nil), thin, 1850},
		{"capacity: thin with provisioning:type thick is free", CapacityWeigher{Multiplier: 1}, req(1, map[string]string{"provisioning:type": "thick"}), thin, 10},
		{"capacity: thick is free", CapacityWeigher{Multiplier: 1}, req(1, nil), thick, 60},
		{"capacity: minus reserved", CapacityWeigher{Multiplier: 1}, req(1, nil), reserved, 50},
		{"capacity: infinite weighs least when spreading", CapacityWeigher{Multiplier: 1}, req(1, nil), inf, -1},
		{"capacity: infinite weighs most when stacking (then least after × -1)", CapacityWeigher{Multiplier: -1}, req(1, nil), inf, math.Inf(1)},
		{"allocated", AllocatedCapacityWeigher{}, req(1, nil), thin, 150},
		{"volume number", VolumeNumberWeigher{}, &Request{VolumeCounts: map[string]int{"a@f#thin": 7}}, thin, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.Weigh(tc.r, tc.p); got != tc.want {
				t.Fatalf("Weigh = %v, want %v", got, tc.want)
			}
		})
	}
	if w := (ChanceWeigher{}).Weigh(nil, thin); w < 0 || w >= 1 {
		t.Errorf("ChanceWeigher = %v, want [0, 1)", w)
	}
}

func TestGoodnessWeigher(t *testing.T) {
	mk := func(fn string) *Pool {
		r := report("a@f", "nova", pool("p", 100, 40, 0, false, ""))
		r.Stats.GoodnessFunction = fn
		return newPools(r)[0]
	}
	tests := []struct {
		fn   string
		want float64
		note bool
	}{
		{"", 0, false},
		{"50", 50, false},
		{"stats.free_capacity_gb / stats.total_capacity_gb * 100", 40, false},
		{"volume.size > 5 ? 100 : 20", 20, false},
		{"101", 0, true},
		{"-1", 0, true},
		{"'high'", 0, true},
		{"stats.nope", 0, true},
		{"1 +", 0, true},
		{"stats.free_capacity_gb > 10", 1, false}, // True is 1
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			r := req(1, nil)
			if got := (GoodnessWeigher{}).Weigh(r, mk(tc.fn)); got != tc.want || (len(r.Notes) > 0) != tc.note {
				t.Fatalf("Weigh = %v, notes %v; want %v, a note: %v", got, r.Notes, tc.want, tc.note)
			}
		})
	}
}

// TestPipelineRanking checks normalization, multipliers and sums across weighers.
func TestPipelineRanking(t *testing.T) {
	pools := poolsOf(
		report("a@f", "nova", pool("big", 1000, 900, 800, false, "")),   // most free, most allocated
		report("b@f", "nova", pool("small", 1000, 500, 100, false, "")), // less free, least allocated
	)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"capacity spreads", Options{Weighers: []string{"CapacityWeigher"}, CapacityWeightMultiplier: 1}, "a@f#big"},
		{"capacity stacks", Options{Weighers: []string{"CapacityWeigher"}, CapacityWeightMultiplier: -1}, "b@f#small"},
		{"least allocated", Options{Weighers: []string{"AllocatedCapacityWeigher"}, AllocatedCapacityWeightMultiplier: -1}, "b@f#small"},
		// Normalized, the two weighers cancel out at equal multipliers; the larger one wins.
		{"capacity ×2 beats allocated ×1", Options{Weighers: []string{"CapacityWeigher", "AllocatedCapacityWeigher"}, CapacityWeightMultiplier: 2, AllocatedCapacityWeightMultiplier: -1}, "a@f#big"},
		{"allocated ×2 beats capacity ×1", Options{Weighers: []string{"CapacityWeigher", "AllocatedCapacityWeigher"}, CapacityWeightMultiplier: 1, AllocatedCapacityWeightMultiplier: -2}, "b@f#small"},
		{"fewest volumes", Options{Weighers: []string{"VolumeNumberWeigher"}, VolumeNumberMultiplier: -1}, "b@f#small"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := NewPipeline(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			r := req(1, nil)
			r.VolumeCounts = map[string]int{"a@f#big": 9, "b@f#small": 1}
			if got := pl.Place(r, pools); got.Pool == nil || got.Pool.Name != tc.want {
				t.Fatalf("Place = %+v, want %s", got.Pool, tc.want)
			}
		})
	}
}

// TestTieBreak: equal pools go to a pool chosen by the volume id, the same one every time,
// and different volumes spread over them.
func TestTieBreak(t *testing.T) {
	var pools []*Pool
	for _, h := range []string{"a@f", "b@f", "c@f", "d@f"} {
		pools = append(pools, poolsOf(report(h, "nova", pool("p", 100, 100, 0, false, "")))...)
	}
	pl, _ := NewPipeline(DefaultOptions())
	chosen := map[string]int{}
	for i := range 200 {
		r := &Request{VolumeID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Size: 1}
		first := pl.Place(r, pools).Pool.Name
		reversed := slices.Clone(pools)
		slices.Reverse(reversed)
		if again := pl.Place(r, reversed).Pool.Name; again != first {
			t.Fatalf("volume %s: %s, then %s in another order", r.VolumeID, first, again)
		}
		chosen[first]++
	}
	if len(chosen) != 4 {
		t.Fatalf("ties went to %v, want all 4 pools", chosen)
	}
}

func TestNewPipelineRefusesUnknownNames(t *testing.T) {
	for _, o := range []Options{{Filters: []string{"CapacityFilter", "RetryFilterX"}}, {Weighers: []string{"StochasticWeigher"}}} {
		_, err := NewPipeline(o)
		oe, ok := err.(*OptionError)
		if !ok || oe.Option == "" || oe.Reason == "" {
			t.Errorf("NewPipeline(%+v) = %v, want an *OptionError", o, err)
		}
	}
	if _, err := NewPipeline(Options{Filters: filterNames, Weighers: weigherNames}); err != nil {
		t.Errorf("every known name: %v", err)
	}
}
