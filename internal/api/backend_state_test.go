package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler"
	"github.com/scoria/scoria/pkg/driver"
)

// capabilityReport is the report a volume service fans out for backend with one pool of
// 100 GiB; storageDown makes it the report of a backend whose storage cannot be reached
// (internal/volume's downStats): capacity unknown, backend_state down.
func capabilityReport(backend, pool string, storageDown bool) rpcapi.CapabilitiesArgs {
	p := driver.Pool{Name: pool, TotalCapacityGB: 100, FreeCapacityGB: 100, ThickProvisioningSupport: true, MaxOverSubscriptionRatio: "1"}
	if storageDown {
		p.TotalCapacityGB, p.FreeCapacityGB = driver.Unknown, driver.Unknown
		p.Extra = map[string]any{resource.CapBackendState: resource.BackendStateDown}
	}
	return rpcapi.CapabilitiesArgs{Host: backend, AvailabilityZone: "nova", ReportedAt: time.Now().UTC(),
		Stats: driver.Stats{VolumeBackendName: "lvm", Pools: []driver.Pool{p}}}
}

// tell hands reports to the real scheduler sched as its RPC handler receives them: the
// claims table records them, then its snapshot.
func tell(t testing.TB, sched *scheduler.Scheduler, reports ...rpcapi.CapabilitiesArgs) {
	t.Helper()
	for _, r := range reports {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sched.Handle(context.Background(), &rpc.Message{Method: rpcapi.UpdateCapabilities, Args: b}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServicesBackendState: from 3.49 a volume service's backend_state is what the scheduler's
// pools say (Cinder's backend_state_map), with a real scheduler over the same database: "down"
// for a backend that reports it cannot reach its storage, "up" beside it, null for a service
// the scheduler has no pools of. Without a scheduler, or when none answers, the list falls
// back to the services' heartbeats instead of failing.
func TestServicesBackendState(t *testing.T) {
	var sched *scheduler.Scheduler
	e := newEnv(t, func(o *Options) {
		sched = &scheduler.Scheduler{Store: o.Store.(scheduler.Store), Log: logrus.New(), ServiceDownTime: time.Minute}
		o.Pools = sched
	})
	e.addService(resource.BinaryVolume, "host1@lvm", "nova", false, "", 0)
	e.addService(resource.BinaryVolume, "host2@rbd", "nova", false, "", 0)
	e.addService(resource.BinaryVolume, "host3@lvm", "nova", true, "maintenance", 0)
	e.addService(resource.BinaryVolume, "host4@lvm", "nova", false, "", 5*time.Minute)
	e.addService(resource.BinaryVolume, "host5@lvm", "nova", false, "", 0) // never reported
	tell(t, sched,
		capabilityReport("host1@lvm", "pool", false),
		capabilityReport("host2@rbd", "volumes", false),
		capabilityReport("host3@lvm", "pool", false),
		capabilityReport("host4@lvm", "pool", false))
	tell(t, sched, capabilityReport("host2@rbd", "volumes", true)) // its Ceph cluster is gone

	states := func(t *testing.T, e *env, version string) map[string]any {
		t.Helper()
		rec := e.do(call{method: "GET", path: "/v3/p1/os-services?binary=cinder-volume", version: version})
		wantStatus(t, rec, http.StatusOK)
		got := map[string]any{}
		for _, s := range member(t, obj(t, rec), "services").([]any) {
			if o := s.(*wire.Object); o.Has("backend_state") {
				got[str(t, s, "host")] = o.Vals["backend_state"]
			}
		}
		return got
	}
	check := func(t *testing.T, got, want map[string]any) {
		t.Helper()
		for host, w := range want {
			if g, ok := got[host]; !ok || g != w {
				t.Errorf("%s backend_state %s, want %s", host, wire.PyRepr(g), wire.PyRepr(w))
			}
		}
	}

	t.Run("3.49 from the scheduler's pools", func(t *testing.T) {
		check(t, states(t, e, "volume 3.49"), map[string]any{
			"host1@lvm": "up", "host2@rbd": "down", "host3@lvm": nil, "host4@lvm": nil, "host5@lvm": nil})
	})
	t.Run("3.48 has no backend_state", func(t *testing.T) {
		if got := states(t, e, "volume 3.48"); len(got) != 0 {
			t.Errorf("backend_state shown at 3.48: %v", got)
		}
	})
	t.Run("get_pools shows the pool down", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools?detail=true"})
		wantStatus(t, rec, http.StatusOK)
		seen := 0
		for _, p := range member(t, obj(t, rec), "pools").([]any) {
			want := "up"
			if str(t, p, "name") == "host2@rbd#volumes" {
				want = "down"
				seen++
				if got := str(t, p, "capabilities", "total_capacity_gb"); got != "unknown" {
					t.Errorf("total_capacity_gb of the down pool %q, want unknown", got)
				}
			}
			if got := str(t, p, "capabilities", "backend_state"); got != want {
				t.Errorf("%s backend_state %q, want %q", str(t, p, "name"), got, want)
			}
		}
		if seen != 1 {
			t.Errorf("the down pool listed %d times, want once (Cinder lists it)", seen)
		}
	})
	t.Run("up again", func(t *testing.T) {
		tell(t, sched, capabilityReport("host2@rbd", "volumes", false))
		check(t, states(t, e, "volume 3.49"), map[string]any{"host1@lvm": "up", "host2@rbd": "up"})
	})

	// Without the scheduler: today's computation, up for an up, enabled service.
	heartbeats := map[string]any{"host1@lvm": "up", "host2@rbd": "up", "host3@lvm": nil, "host4@lvm": nil, "host5@lvm": "up"}
	for _, tc := range []struct {
		name      string
		configure func(*Options)
	}{
		{"no scheduler connected", func(o *Options) { o.Pools = nil }},
		{"no scheduler answers", withSilentScheduler(t, 200*time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.configure)
			for _, host := range []string{"host1@lvm", "host2@rbd", "host5@lvm"} {
				e.addService(resource.BinaryVolume, host, "nova", false, "", 0)
			}
			e.addService(resource.BinaryVolume, "host3@lvm", "nova", true, "maintenance", 0)
			e.addService(resource.BinaryVolume, "host4@lvm", "nova", false, "", 5*time.Minute)
			start := time.Now()
			check(t, states(t, e, "volume 3.49"), heartbeats)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the list took %s without a scheduler", d)
			}
		})
	}
}

// TestBackendDownRefusesWork: a volume whose backend reports it cannot reach its storage is
// neither grown (the database refuses the claim, and the API says why instead of casting the
// extend to a dead backend) nor retyped against capabilities that backend cannot vouch for.
func TestBackendDownRefusesWork(t *testing.T) {
	e := sourcesEnv(t)
	sched := e.opts.Pools.(*scheduler.Scheduler)
	path := func(id string) string { return "/v3/p1/volumes/" + id + "/action" }
	id := e.claimedVolume(2, resource.StatusAvailable, "")
	tell(t, sched, capabilityReport("h@lvm", "pool", true))

	before := len(e.disp.got())
	// The extend is Cinder's 202 with a user message (its scheduler refuses it afterwards).
	wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": 3}}`}), http.StatusAccepted)
	if rec := e.do(call{method: "GET", path: "/v3/p1/messages?resource_uuid=" + id, version: "volume 3.3"}); !strings.Contains(rec.Body.String(),
		"extend volume:The backend h@lvm of volume "+id+" reports that it cannot reach its storage (backend_state down), so it cannot grow the volume; try again once it is up.") {
		t.Errorf("no user message for the refused extend: %s", rec.Body)
	}
	wantFault(t, e.do(call{method: "POST", path: path(id), body: `{"os-retype": {"new_type": "gold"}}`}), 400, "badRequest",
		"Invalid volume: the backend h@lvm of volume "+id+" reports that it cannot reach its storage (backend_state down), so type gold cannot be checked against it; try again once it is up.")
	if len(e.disp.got()) != before {
		t.Error("work was dispatched to a backend that is down")
	}
	if v := e.volume(id); v.Status != resource.StatusAvailable || v.Size != 2 || v.VolumeTypeID == goldType {
		t.Errorf("refused requests changed the volume: %s, %d GiB, type %s", v.Status, v.Size, v.VolumeTypeID)
	}
	if p, _ := e.store.GetPool(context.Background(), srcPool); p.AllocatedGB != 2 {
		t.Errorf("pool allocated %d GiB after a refused extend, want 2", p.AllocatedGB)
	}

	tell(t, sched, capabilityReport("h@lvm", "pool", false))
	wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": 3}}`}), http.StatusAccepted)
}
