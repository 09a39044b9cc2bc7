package scheduler

import (
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

func TestCapacityFilter(t *testing.T) {
	reserved := func(pct int) func(*driver.Pool) { return func(p *driver.Pool) { p.ReservedPercentage = pct } }
	tests := []struct {
		name     string
		p        driver.Pool
		consumed float64
		size     float64
		specs    map[string]string
		ok       bool
		why      string // part of the phrase when rejected
	}{
		{"thick fits", pool("a", 100, 50, 0, false, ""), 0, 10, nil, true, ""},
		{"thick exactly fits", pool("a", 100, 10, 0, false, ""), 0, 10, nil, true, ""},
		{"thick too small", pool("a", 100, 9, 0, false, ""), 0, 10, nil, false, "needs 10 GiB, 9 GiB free"},
		{"thick consumed since report", pool("a", 100, 15, 0, false, ""), 10, 10, nil, false, "5 GiB free"},
		{"reserved is floor(total × pct)", with(pool("a", 100, 20, 0, false, ""), reserved(15)), 0, 10, nil, false, "5 GiB free"},
		{"reserved floor rounds down", with(pool("a", 99, 10.5, 0, false, ""), reserved(1)), 0, 10, nil, true, ""},
		{"thin over-subscribes", pool("a", 100, 10, 150, true, "20.0"), 0, 50, nil, true, ""},
		{"thin provisioned ratio exactly at the limit", pool("a", 10, 10, 190, true, "20.0"), 0, 10, nil, true, ""},
		{"thin ratio exceeded", pool("a", 10, 10, 195, true, "20.0"), 0, 10, nil, false, "5 GiB virtual free"},
		{"thin consumed counts as provisioned", pool("a", 10, 10, 190, true, "20.0"), 5, 10, nil, false, "lacks capacity"},
		{"thin adjusted free × ratio too small", pool("a", 1000, 1, 0, true, "2.0"), 0, 3, nil, false, "2 GiB virtual free"},
		{"thin with provisioning:type thick uses free", pool("a", 100, 5, 0, true, "20.0"), 0, 10, map[string]string{"provisioning:type": "thick"}, false, "5 GiB free"},
		{"thin ratio below 1 is invalid", pool("a", 100, 50, 0, true, "0.5"), 0, 10, nil, false, `invalid max_over_subscription_ratio ("0.5"`},
		{"thin ratio not a number is invalid", pool("a", 100, 50, 0, true, "lots"), 0, 10, nil, false, "invalid max_over_subscription_ratio"},
		{"thin ratio empty is 20", pool("a", 10, 10, 0, true, ""), 0, 150, nil, true, ""},
		{"thin auto with nothing provisioned is 20", pool("a", 10, 10, 0, true, "auto"), 0, 150, nil, true, ""},
		{"thin auto is 1 + provisioned/(used+1)", pool("a", 100, 91, 18, true, "auto"), 0, 263, nil, false, "lacks capacity"}, // ratio 2.8: (18+263)/100 > 2.8
		{"thin auto fits under it", pool("a", 100, 91, 18, true, "auto"), 0, 150, nil, true, ""},
		{"zero total never fits", pool("a", 0, 0, 0, true, "20.0"), 0, 1, nil, false, "no total capacity"},
		{"size 0 (manage) always fits", pool("a", 0, 0, 0, true, "20.0"), 0, 0, nil, true, ""},
		{"infinite free fits", pool("a", 100, 0, 0, false, ""), 0, 1e6, nil, true, ""},
		{"unknown free fits", pool("a", 100, 0, 0, false, ""), 0, 1e6, nil, true, ""},
		{"infinite total without reserved fits", pool("a", 0, 10, 0, false, ""), 0, 1e6, nil, true, ""},
		{"infinite total with reserved does not", with(pool("a", 0, 10, 0, false, ""), reserved(5)), 0, 1, nil, false, "reports infinite total capacity with a reserved_percentage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			switch {
			case strings.HasPrefix(tc.name, "infinite free"):
				p.FreeCapacityGB = driver.Infinite
			case strings.HasPrefix(tc.name, "unknown free"):
				p.FreeCapacityGB = driver.Unknown
			case strings.HasPrefix(tc.name, "infinite total"):
				p.TotalCapacityGB = driver.Infinite
			}
			pl := one(p)
			pl.consumed = tc.consumed
			ok, why := CapacityFilter{}.Fit(req(tc.size, tc.specs), pl)
			if ok != tc.ok {
				t.Fatalf("Fit = %v (%+v), want %v", ok, why, tc.ok)
			}
			if !ok {
				if got := (bucket{code: why.Code, detail: why.Detail, gib: why.GiB, n: 1}).phrase(tc.size); !strings.Contains(got, tc.why) {
					t.Fatalf("phrase %q lacks %q", got, tc.why)
				}
			}
		})
	}
}

func TestAvailabilityZoneFilter(t *testing.T) {
	p := one(pool("p", 10, 10, 0, false, ""))
	for _, tc := range []struct {
		zone string
		ok   bool
	}{{"", true}, {"nova", true}, {"az1", false}} {
		r := req(1, nil)
		r.Zone = tc.zone
		if ok, _ := (AvailabilityZoneFilter{}).Fit(r, p); ok != tc.ok {
			t.Errorf("zone %q: Fit = %v, want %v", tc.zone, ok, tc.ok)
		}
	}
}

func TestCapabilitiesFilter(t *testing.T) {
	p := one(with(pool("p", 10, 10, 0, true, "20"), func(p *driver.Pool) {
		p.Extra = map[string]any{"cpu_info": map[string]any{"features": []any{"aes", "vmx"}}, "iops": float64(5000), "tiers": []any{"gold", "silver"}}
	}))
	tests := []struct {
		name  string
		specs map[string]string
		ok    bool
		why   string
	}{
		{"no specs", nil, true, ""},
		{"unscoped backend name", map[string]string{"volume_backend_name": "lvmbackend"}, true, ""},
		{"wrong backend name", map[string]string{"volume_backend_name": "other"}, false, "does not match volume_backend_name=other"},
		{"capabilities scope", map[string]string{"capabilities:storage_protocol": "iSCSI"}, true, ""},
		{"other scopes are ignored", map[string]string{"qos:maxIOPS": "100", "RESKEY:availability_zones": "az9", "vendor:x": "y"}, true, ""},
		{"nested keys", map[string]string{"capabilities:cpu_info:features": "<in> vmx"}, true, ""},
		{"nested key missing", map[string]string{"capabilities:cpu_info:flags": "<in> vmx"}, false, "has no capability cpu_info:flags"},
		{"nested below a scalar", map[string]string{"capabilities:iops:max": "1"}, false, "has no capability iops:max"},
		{"missing capability", map[string]string{"replication_enabled": "<is> True"}, false, "has no capability replication_enabled"},
		{"numeric at-least", map[string]string{"iops": "= 4000"}, true, ""},
		{"numeric at-least fails", map[string]string{"iops": "= 6000"}, false, "iops== 6000"},
		{"boolean needs <is>", map[string]string{"thin_provisioning_support": "True"}, false, `a boolean capability needs "<is> True"`},
		{"boolean with <is>", map[string]string{"thin_provisioning_support": "<is> True", "multiattach": "<is> False"}, true, ""},
		{"list: any element", map[string]string{"tiers": "silver"}, true, ""},
		{"list: no element", map[string]string{"tiers": "bronze"}, false, "does not match tiers=bronze"},
		{"every spec must hold", map[string]string{"volume_backend_name": "lvmbackend", "storage_protocol": "<or> FC <or> NFS"}, false, "storage_protocol=<or> FC <or> NFS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := CapabilitiesFilter{}.Fit(req(1, tc.specs), p)
			if ok != tc.ok {
				t.Fatalf("Fit = %v (%+v), want %v", ok, why, tc.ok)
			}
			if !ok {
				if got := (bucket{code: why.Code, detail: why.Detail, n: 1}).phrase(1); !strings.Contains(got, tc.why) {
					t.Fatalf("phrase %q lacks %q", got, tc.why)
				}
			}
		})
	}
}

func TestAffinityFilters(t *testing.T) {
	p := one(pool("p", 10, 10, 0, false, "")) // a@f#p
	tests := []struct {
		name       string
		r          Request
		same, diff bool
	}{
		{"no hints", Request{}, true, true},
		{"volume here", Request{SameHostSet: true, SameHost: []string{"a@f#p"}, DifferentHost: []string{"a@f#p"}}, true, false},
		{"volume elsewhere", Request{SameHostSet: true, SameHost: []string{"b@f#p"}, DifferentHost: []string{"b@f#p"}}, false, true},
		{"same pool only, not the backend", Request{SameHostSet: true, SameHost: []string{"a@f#q"}}, false, true},
		{"hint volumes not found", Request{SameHostSet: true}, false, true},
		{"bad hint", Request{HintError: "same_host hint: x is not a volume id"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			r.prepare()
			if ok, _ := (SameBackendFilter{}).Fit(&r, p); ok != tc.same {
				t.Errorf("SameBackendFilter = %v, want %v", ok, tc.same)
			}
			if ok, _ := (DifferentBackendFilter{}).Fit(&r, p); ok != tc.diff {
				t.Errorf("DifferentBackendFilter = %v, want %v", ok, tc.diff)
			}
		})
	}
}

func TestDriverFilter(t *testing.T) {
	mk := func(fn string) *Pool {
		r := report("a@f", "nova", with(pool("p", 500, 400, 0, false, ""), func(p *driver.Pool) { p.Extra = map[string]any{"utilization": 37.5} }))
		r.Stats.FilterFunction = fn
		return newPools(r)[0]
	}
	tests := []struct {
		fn    string
		size  float64
		specs map[string]string
		ok    bool
		why   string
	}{
		{"", 10, nil, true, ""},
		{"volume.size < 100", 10, nil, true, ""},
		{"volume.size < 100", 100, nil, false, `rejected by filter_function "volume.size < 100"`},
		{"stats.total_capacity_gb >= 500 and stats.free_capacity_gb > volume.size", 10, nil, true, ""},
		{"capabilities.utilization < 38", 1, nil, true, ""},
		{"capabilities.utilization == 37", 1, nil, true, ""}, // int() truncates, as in Cinder
		{"extra.tier == 'gold'", 1, map[string]string{"tier": "gold"}, true, ""},
		{"stats.volume_backend_name == 'lvmbackend' ? 1 : 0", 1, nil, true, ""},
		{"stats.nothing > 1", 1, nil, false, "filter_function that fails (unknown variable stats.nothing)"},
		{"volume.size / 0", 1, nil, false, "division by zero"},
		{"volume.size <", 1, nil, false, "does not parse"},
		{"qos.maxIOPS > 1", 1, nil, false, "unknown variable qos.maxIOPS"},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			r := req(tc.size, tc.specs)
			r.Volume["size"] = tc.size
			r.prepare()
			ok, why := DriverFilter{}.Fit(r, mk(tc.fn))
			if ok != tc.ok {
				t.Fatalf("Fit = %v (%+v), want %v", ok, why, tc.ok)
			}
			if !ok {
				if got := (bucket{code: why.Code, detail: why.Detail, n: 1}).phrase(1); !strings.Contains(got, tc.why) {
					t.Fatalf("phrase %q lacks %q", got, tc.why)
				}
			}
		})
	}
}

func TestJsonFilter(t *testing.T) {
	p := one(with(pool("p", 100, 60, 20, false, ""), func(p *driver.Pool) { p.Extra = map[string]any{"tier": "gold"} }))
	tests := []struct {
		query any
		ok    bool
	}{
		{nil, true},
		{"", true},
		{`[">=", "$free_capacity_gb", 50]`, true},
		{`[">=", "$free_capacity_gb", 70]`, false},
		{`["=", "$capabilities.tier", "gold"]`, true},
		{`["and", ["<", "$allocated_capacity_gb", 50], ["in", "$volume_backend_name", "a", "lvmbackend"]]`, true},
		{`["or", ["=", "$capabilities.tier", "silver"], ["=", "$service.availability_zone", "az1"]]`, false},
		{`["not", ["=", "$capabilities.tier", "silver"]]`, true},
		{`["=", "$capabilities.missing", "x"]`, false}, // a missing attribute is dropped: one argument left
		{[]any{"=", "$total_capacity_gb", float64(100)}, true},
	}
	for _, tc := range tests {
		r := req(1, nil)
		r.Hints = map[string]any{"query": tc.query}
		r.prepare()
		if ok, why := (JsonFilter{}).Fit(r, p); ok != tc.ok {
			t.Errorf("query %v: Fit = %v (%+v), want %v", tc.query, ok, why, tc.ok)
		}
	}
	for _, bad := range []any{`[">=", "$free`, `["frobnicate", 1, 2]`, `["<", "$capabilities.tier", 5]`, `{"a": 1}`} {
		r := req(1, nil)
		r.Hints = map[string]any{"query": bad}
		r.prepare()
		ok, why := (JsonFilter{}).Fit(r, p)
		if ok || why.Code != reasonQueryError {
			t.Errorf("query %v: Fit = %v (%+v), want a refusal that says why", bad, ok, why)
		}
	}
}

// TestConsumptionOnThinPools: placements since the last report take free space on a thick
// pool but only provisioned capacity on a thin one, so a burst of thin creates is limited by
// the over-subscription ratio, not by the free space they have not written yet.
func TestConsumptionOnThinPools(t *testing.T) {
	tests := []struct {
		name   string
		thin   bool
		placed int // 1 GiB volumes that fit in a row
	}{
		{"thick: free space", false, 10},
		{"thin: total × ratio", true, 40}, // 20 GiB total × 2.0
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := poolsOf(report("h@b", "nova", pool("p", 20, 10, 0, tc.thin, "2.0")))[0]
			r := req(1, nil)
			placed := 0
			for i := 0; i < 100; i++ {
				if ok, _ := (CapacityFilter{}).Fit(r, p); !ok {
					break
				}
				p.consumed += 1
				placed++
			}
			if placed != tc.placed {
				t.Fatalf("placed %d volumes of 1 GiB, want %d", placed, tc.placed)
			}
		})
	}
}
