package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

func pool(name string, total, free, provisioned float64, thin bool, ratio string) driver.Pool {
	return driver.Pool{Name: name, TotalCapacityGB: total, FreeCapacityGB: free, ProvisionedCapacityGB: provisioned,
		ThinProvisioningSupport: thin, ThickProvisioningSupport: !thin, MaxOverSubscriptionRatio: ratio}
}

func TestFits(t *testing.T) {
	tests := []struct {
		name     string
		p        driver.Pool
		consumed float64
		size     float64
		ok       bool
		weight   float64
	}{
		{"thick fits", pool("a", 100, 50, 0, false, "1.0"), 0, 10, true, 50},
		{"thick exactly fits", pool("a", 100, 10, 0, false, "1.0"), 0, 10, true, 10},
		{"thick too small", pool("a", 100, 9, 0, false, "1.0"), 0, 10, false, 0},
		{"thick consumed since report", pool("a", 100, 15, 0, false, "1.0"), 10, 10, false, 0},
		{"thick reserved", func() driver.Pool { p := pool("a", 100, 20, 0, false, "1.0"); p.ReservedPercentage = 15; return p }(), 0, 10, false, 0},
		{"thin over-subscribes", pool("a", 100, 10, 150, true, "20.0"), 0, 50, true, 100*20 - 150},
		{"thin ratio exceeded", pool("a", 10, 10, 195, true, "20.0"), 0, 10, false, 0},
		{"thin consumed counts as provisioned", pool("a", 10, 10, 190, true, "20.0"), 5, 10, false, 0},
		{"thin ratio below 1 is thick math", pool("a", 100, 5, 0, true, "0.5"), 0, 10, false, 0},
		{"zero total never fits", pool("a", 0, 0, 0, true, "20.0"), 0, 1, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := fits(tc.p, tc.consumed, tc.size)
			if ok != tc.ok || (ok && w != tc.weight) {
				t.Fatalf("fits = %v, %v; want %v, %v", w, ok, tc.weight, tc.ok)
			}
		})
	}
}

func newScheduler(now time.Time) *Scheduler {
	return &Scheduler{Log: logrus.New(), ServiceDownTime: time.Minute, Now: func() time.Time { return now }}
}

func svc(host string, updated time.Time, disabled bool) *resource.Service {
	return &resource.Service{Binary: resource.BinaryVolume, Host: host, UpdatedAt: &updated, CreatedAt: updated, Disabled: disabled}
}

func report(host, zone string, pools ...driver.Pool) message.CapabilitiesArgs {
	return message.CapabilitiesArgs{Host: host, AvailabilityZone: zone, Stats: driver.Stats{Pools: pools}, ReportedAt: time.Now()}
}

func TestPlace(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	fresh, stale := now.Add(-10*time.Second), now.Add(-2*time.Minute)
	tests := []struct {
		name     string
		services []*resource.Service
		reports  []message.CapabilitiesArgs
		req      request
		want     string   // chosen pool, "" for none
		because  []string // substrings of the reason when none
	}{
		{
			name:     "most free wins",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports:  []message.CapabilitiesArgs{report("a@f", "nova", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 60, 0, false, "1"))},
			req:      request{size: 5},
			want:     "b@f#p",
		},
		{
			name:     "zone filters",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports:  []message.CapabilitiesArgs{report("a@f", "az1", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 60, 0, false, "1"))},
			req:      request{size: 5, zone: "az1"},
			want:     "a@f#p",
		},
		{
			name:     "down and disabled services are not candidates",
			services: []*resource.Service{svc("a@f", stale, false), svc("b@f", fresh, true)},
			reports:  []message.CapabilitiesArgs{report("a@f", "nova", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 60, 0, false, "1"))},
			req:      request{size: 5},
			because:  []string{"0/0 pools fit", "a@f down", "b@f disabled"},
		},
		{
			name:     "tried pools are skipped",
			services: []*resource.Service{svc("a@f", fresh, false)},
			reports:  []message.CapabilitiesArgs{report("a@f", "nova", pool("p", 100, 10, 0, false, "1"))},
			req:      request{size: 5, tried: []string{"a@f#p"}},
			because:  []string{"0/1 pools fit", "1 already failed this volume"},
		},
		{
			name:     "says why nothing fits",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports:  []message.CapabilitiesArgs{report("a@f", "az1", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 3, 0, false, "1"))},
			req:      request{size: 5, zone: "nova"},
			because:  []string{"0/2 pools fit", "1 in another availability zone than nova", "1 lack capacity for 5 GiB"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScheduler(now)
			for _, r := range tc.reports {
				s.UpdateCapabilities(r)
			}
			got, why := s.place(tc.req, tc.services)
			if got != tc.want {
				t.Fatalf("place = %q (%s), want %q", got, why, tc.want)
			}
			for _, b := range tc.because {
				if !strings.Contains(why, b) {
					t.Errorf("reason %q lacks %q", why, b)
				}
			}
		})
	}
}

func TestPlaceConsumesUntilNextReport(t *testing.T) {
	now := time.Now().UTC()
	s := newScheduler(now)
	services := []*resource.Service{svc("a@f", now, false)}
	s.UpdateCapabilities(report("a@f", "nova", pool("p", 100, 25, 0, false, "1")))
	placed := 0
	for i := 0; i < 5; i++ {
		if h, _ := s.place(request{size: 10}, services); h != "" {
			placed++
		}
	}
	if placed != 2 {
		t.Fatalf("placed %d volumes of 10 GiB in 25 GiB free, want 2", placed)
	}
	s.release("a@f#p", 10)
	if h, _ := s.place(request{size: 10}, services); h == "" {
		t.Fatal("released capacity was not available again")
	}
	// A newer report replaces what was consumed; an older one arriving late is ignored.
	r := report("a@f", "nova", pool("p", 100, 100, 0, false, "1"))
	s.UpdateCapabilities(r)
	old := report("a@f", "nova", pool("p", 100, 0, 0, false, "1"))
	old.ReportedAt = r.ReportedAt.Add(-time.Minute)
	s.UpdateCapabilities(old)
	if h, _ := s.place(request{size: 90}, services); h == "" {
		t.Fatal("a late older report overwrote the newer one")
	}
}

func TestWaitForReports(t *testing.T) {
	now := time.Now().UTC()
	services := []*resource.Service{svc("a@f", now, false), svc("b@f", now, true)} // b is disabled: not waited for
	tests := []struct {
		name     string
		started  time.Time
		report   bool // a@f reports 100 ms after the wait begins
		wantWait bool
	}{
		{"in the start-up window, waits for the report", now, true, true},
		{"after the window, does not wait", now.Add(-time.Hour), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Scheduler{Log: logrus.New(), ServiceDownTime: time.Minute, Started: tc.started, StartupWait: 10 * time.Second}
			if tc.report {
				go func() {
					time.Sleep(100 * time.Millisecond)
					s.UpdateCapabilities(report("a@f", "nova", pool("p", 10, 10, 0, false, "1")))
				}()
			}
			begin := time.Now()
			s.waitForReports(context.Background(), services)
			waited := time.Since(begin)
			if tc.wantWait && (waited < 100*time.Millisecond || s.Reported() != 1) {
				t.Fatalf("returned after %v with %d reports; want to wait for a@f", waited, s.Reported())
			}
			if !tc.wantWait && waited > 50*time.Millisecond {
				t.Fatalf("waited %v outside the start-up window", waited)
			}
		})
	}
}
