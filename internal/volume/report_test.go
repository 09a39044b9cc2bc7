package volume

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// TestReportBackendDown: the real local-file driver loses its directory after a good report
// (a disk unmounted, a Ceph cluster gone): the schedulers are told the backend is down, with
// the last report's pools at unknown capacity, and each failed read logs one line saying why.
// When the directory is back, the normal report (up, with capacity) resumes.
func TestReportBackendDown(t *testing.T) {
	f := newFixture(t)
	hook := logtest.NewLocal(f.m.Log.(*logrus.Logger))

	up := f.nextReport()
	if len(up.Stats.Pools) != 1 || !up.Stats.Pools[0].TotalCapacityGB.Known() || isDown(up) {
		t.Fatalf("first report %+v, want one pool with known capacity, not down", up.Stats)
	}

	gone := f.drv.Dir + ".unmounted"
	if err := os.Rename(f.drv.Dir, gone); err != nil {
		t.Fatal(err)
	}
	hook.Reset()
	down := f.nextReport()
	if !isDown(down) {
		t.Errorf("report while Stats fails: backend_state %v / pool %v, want down",
			down.Stats.Extra[resource.CapBackendState], down.Stats.Pools[0].Extra[resource.CapBackendState])
	}
	if len(down.Stats.Pools) != 1 || down.Stats.Pools[0].Name != up.Stats.Pools[0].Name {
		t.Fatalf("pools while down %+v, want the last report's", down.Stats.Pools)
	}
	p := down.Stats.Pools[0]
	if !p.TotalCapacityGB.IsUnknown() || !p.FreeCapacityGB.IsUnknown() {
		t.Errorf("capacity while down: total %s free %s, want unknown", p.TotalCapacityGB, p.FreeCapacityGB)
	}
	// The rest is the last good report's: who the backend is and what it can do.
	if down.Stats.VolumeBackendName != up.Stats.VolumeBackendName || p.ThinProvisioningSupport != up.Stats.Pools[0].ThinProvisioningSupport ||
		down.Stats.Extra[resource.CapSupportedOperations] == nil {
		t.Errorf("report while down %+v lost the last report's capabilities %+v", down.Stats, up.Stats)
	}
	if !down.ReportedAt.After(up.ReportedAt) {
		t.Errorf("down report at %s, not after the good one at %s: the scheduler would drop it", down.ReportedAt, up.ReportedAt)
	}
	failures := 0
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel {
			failures++
			if err, _ := e.Data[logrus.ErrorKey].(error); err == nil || !strings.Contains(err.Error(), f.drv.Dir) ||
				!strings.Contains(e.Message, "reporting the backend down") {
				t.Errorf("failure logged as %q %v, want the reason (the directory) and what was reported", e.Message, e.Data)
			}
		}
	}
	if failures == 0 {
		t.Error("the failed read was not logged")
	}

	if err := os.Rename(gone, f.drv.Dir); err != nil {
		t.Fatal(err)
	}
	again := f.nextReport()
	if isDown(again) || !again.Stats.Pools[0].TotalCapacityGB.Known() || !again.Stats.Pools[0].FreeCapacityGB.Known() {
		t.Errorf("report after recovery %+v, want up with known capacity", again.Stats)
	}
	if !hasEntry(hook, logrus.InfoLevel, "reporting the backend up") {
		t.Error("recovery not logged")
	}
}

// TestReportNothingBeforeFirstGoodStats: a backend whose Stats never worked since the service
// started reports nothing (the schedulers do not know it, so place nothing there).
func TestReportNothingBeforeFirstGoodStats(t *testing.T) {
	f := newFixture(t)
	hook := logtest.NewLocal(f.m.Log.(*logrus.Logger))
	if err := os.Rename(f.drv.Dir, f.drv.Dir+".unmounted"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := f.listen(ctx)
	time.Sleep(100 * time.Millisecond) // the listener is serving
	for range 3 {
		f.m.report(ctx)
	}
	select {
	case r := <-got:
		t.Fatalf("reported %+v before Stats ever worked, want nothing", r.Stats)
	case <-time.After(300 * time.Millisecond):
	}
	if !hasEntry(hook, logrus.ErrorLevel, "nothing to report") {
		t.Error("the failed read was not logged")
	}
}

func isDown(r rpcapi.CapabilitiesArgs) bool {
	if r.Stats.Extra[resource.CapBackendState] != resource.BackendStateDown {
		return false
	}
	for _, p := range r.Stats.Pools {
		if p.Extra[resource.CapBackendState] != resource.BackendStateDown {
			return false
		}
	}
	return true
}

func hasEntry(hook *logtest.Hook, level logrus.Level, text string) bool {
	for _, e := range hook.AllEntries() {
		if e.Level == level && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// TestDownStats: the down report overrides a pool's own backend_state (the RBD driver sets
// "up" on its pool), keeps the other custom capabilities, and leaves the last good report as
// it was.
func TestDownStats(t *testing.T) {
	tests := []struct {
		name string
		last driver.Stats
	}{
		{name: "RBD-like pool state", last: driver.Stats{VolumeBackendName: "ceph", Pools: []driver.Pool{{Name: "volumes",
			TotalCapacityGB: 100, FreeCapacityGB: 90, Extra: map[string]any{"backend_state": "up", "rbd_pool": "volumes"}}}}},
		{name: "no custom capabilities, two pools", last: driver.Stats{VolumeBackendName: "lvm",
			Pools: []driver.Pool{{Name: "a", TotalCapacityGB: 10, FreeCapacityGB: 5}, {Name: "b", TotalCapacityGB: driver.Infinite, FreeCapacityGB: driver.Infinite}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := json.Marshal(tc.last)
			got := downStats(tc.last, errors.New("sheep at 127.0.0.1:7000: unreachable"))
			if after, _ := json.Marshal(tc.last); string(after) != string(before) {
				t.Errorf("last good report changed:\n%s\n%s", before, after)
			}
			if got.Extra[resource.CapBackendState] != resource.BackendStateDown || got.VolumeBackendName != tc.last.VolumeBackendName {
				t.Errorf("backend: %+v", got)
			}
			for i, p := range got.Pools {
				if p.Name != tc.last.Pools[i].Name || !p.TotalCapacityGB.IsUnknown() || !p.FreeCapacityGB.IsUnknown() ||
					p.Extra[resource.CapBackendState] != resource.BackendStateDown || p.Extra[resource.CapBackendStateReason] != "sheep at 127.0.0.1:7000: unreachable" {
					t.Errorf("pool %d: %+v", i, p)
				}
				for k, v := range tc.last.Pools[i].Extra {
					if k != resource.CapBackendState && k != resource.CapBackendStateReason && p.Extra[k] != v {
						t.Errorf("pool %d lost %s=%v", i, k, v)
					}
				}
			}
		})
	}
}
