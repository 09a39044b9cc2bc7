package scheduler

import (
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// TestExplain reproduces the example: seed 002's layout, a 100 GiB volume in az1 of a
// type with volume_backend_name=lvmbackend.
func TestExplain(t *testing.T) {
	b21 := report("block2@lvmdriver-b21", "az1", pool("lvmdriver-b21", 100, 37.5, 0, false, ""))
	b22 := report("block2@lvmdriver-b22", "az1", pool("lvmdriver-b22", 1000, 1000, 0, false, ""))
	b22.Stats.VolumeBackendName = "other"
	pools := poolsOf(
		report("block1@lvmdriver-b1", "nova", pool("lvmdriver-b1", 1000, 1000, 0, false, "")),
		b21, b22,
		report("network@lvmdriver-network", "nova", pool("lvmdriver-network", 1000, 1000, 0, false, "")),
	)
	pl, _ := NewPipeline(DefaultOptions())
	r := req(100, map[string]string{"volume_backend_name": "lvmbackend"})
	r.Zone = "az1"
	res := pl.Place(r, pools)
	if res.Pool != nil {
		t.Fatalf("placed on %s", res.Pool.Name)
	}
	got := Explain(&res.Metrics, r.Size, Unavailable{Down: []string{"block3@lvm"}})
	want := "No valid backend: 0/4 pools fit — 2 in another availability zone (az1), 1 lacks capacity (needs 100 GiB, 37.5 GiB free), 1 does not match volume_backend_name=lvmbackend; 1 service down (block3@lvm)"
	if got != want {
		t.Fatalf("explanation\n got %s\nwant %s", got, want)
	}
	if res.Metrics.Rejected(0) != 2 || res.Metrics.Rejected(1) != 1 || res.Metrics.Rejected(2) != 1 {
		t.Errorf("per-filter counts wrong: %+v", res.Metrics)
	}
}

func TestExplainPlural(t *testing.T) {
	pools := poolsOf(
		report("a@f", "nova", pool("p", 100, 10, 0, false, ""), pool("q", 100, 20, 0, false, "")),
		report("b@f", "nova", with(pool("p", 100, 5, 0, true, "0.5"), func(*driver.Pool) {})),
	)
	pl, _ := NewPipeline(DefaultOptions())
	r := req(50, nil)
	r.Tried = []string{"b@f#p"}
	res := pl.Place(r, pools)
	got := Explain(&res.Metrics, r.Size, Unavailable{Down: []string{"z@x", "y@x"}, Disabled: []string{"w@x"}})
	want := "No valid backend: 0/3 pools fit — 1 already failed this volume, 2 lack capacity (needs 50 GiB, at most 20 GiB free); 2 services down (y@x, z@x), 1 service disabled (w@x)"
	if got != want {
		t.Fatalf("explanation\n got %s\nwant %s", got, want)
	}
}
