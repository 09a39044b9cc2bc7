package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler"
	"github.com/scoria/scoria/internal/volume"
	"github.com/scoria/scoria/pkg/driver"
)

// poolBackend is one volume service of poolsEnv: a real volume manager on a local-file
// backend of capacityGB, reporting its capabilities over the bus.
type poolBackend struct {
	host, backendName string
	capacityGB        float64
}

// poolsSetup is a real scheduler serving the scheduler topic of a real in-process bus, and
// real volume services whose capability reports make its picture of the pools.
type poolsSetup struct {
	bus   *rpc.Local
	sched *scheduler.Scheduler
}

// poolsEnv is an API whose get_pools and capabilities go over the bus to poolsSetup's
// scheduler (the API waits at most timeout); wrap, when set, stands around the scheduler's
// handler to inject a fault. It returns once the scheduler has every backend's report.
func poolsEnv(t *testing.T, timeout time.Duration, wrap func(rpc.Handler) rpc.Handler, backends ...poolBackend) (*env, *poolsSetup) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	ps := &poolsSetup{bus: rpc.NewLocal(log)}
	e := newEnv(t, func(o *Options) { o.Pools = &RPCPools{Transport: ps.bus, Timeout: timeout} })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		ps.bus.Close()
	})
	ps.sched = &scheduler.Scheduler{Store: e.store, Transport: ps.bus, Log: log, ServiceDownTime: time.Hour}
	h := rpc.Handler(ps.sched.Handle)
	if wrap != nil {
		h = wrap(h)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = ps.bus.Serve(ctx, rpcapi.SchedulerTarget(), h)
	}()
	for _, b := range backends {
		m := &volume.Manager{Host: b.host, Zone: "nova", Store: e.store, Transport: ps.bus, Log: log,
			ReportInterval: 50 * time.Millisecond, // until the scheduler serves, a fanout reaches no one
			Driver: &localfile.Driver{Dir: filepath.Join(t.TempDir(), "vols"), BackendName: b.backendName,
				PoolName: b.backendName, CapacityGB: b.capacityGB, OverSub: "20.0"},
			Ready: func(ctx context.Context) {
				if _, err := e.store.RegisterService(ctx, &resource.Service{Binary: resource.BinaryVolume, Host: b.host,
					Topic: rpc.TopicVolume, AvailabilityZone: "nova"}); err != nil {
					t.Errorf("register %s: %v", b.host, err)
				}
			}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("volume service %s: %v", b.host, err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for ps.sched.Reported() < len(backends) {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler has %d capability reports after 10 s, want %d", ps.sched.Reported(), len(backends))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e, ps
}

// askedPools is a wrapper around the real scheduler's handler that remembers the arguments
// of every get_pools it is asked, so a test can see what the API passed on.
type askedPools struct {
	mu    sync.Mutex
	asked []rpcapi.GetPoolsArgs
}

func (a *askedPools) wrap(h rpc.Handler) rpc.Handler {
	return func(ctx context.Context, msg *rpc.Message) (any, error) {
		if msg.Method == rpcapi.GetPools {
			var args rpcapi.GetPoolsArgs
			if err := json.Unmarshal(msg.Args, &args); err != nil {
				return nil, err
			}
			a.mu.Lock()
			a.asked = append(a.asked, args)
			a.mu.Unlock()
		}
		return h(ctx, msg)
	}
}

func (a *askedPools) calls() []rpcapi.GetPoolsArgs {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]rpcapi.GetPoolsArgs(nil), a.asked...)
}

// report fans capability reports out to the scheduler over the bus, as volume services whose
// drivers report them do, and waits until the scheduler knows every one's backend.
func (ps *poolsSetup) report(t *testing.T, reports ...rpcapi.CapabilitiesArgs) {
	t.Helper()
	want := ps.sched.Reported() + len(reports)
	for _, r := range reports {
		if r.ReportedAt.IsZero() {
			r.ReportedAt = time.Now().UTC()
		}
		if err := ps.bus.Fanout(context.Background(), rpc.TopicScheduler, rpcapi.UpdateCapabilities, r); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for ps.sched.Reported() < want {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler has %d capability reports, want %d", ps.sched.Reported(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withSilentScheduler connects the API to a real in-process bus on which nothing serves the
// scheduler topic; the API waits at most timeout for an answer.
func withSilentScheduler(t testing.TB, timeout time.Duration) func(*Options) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	bus := rpc.NewLocal(log)
	t.Cleanup(func() { bus.Close() })
	return func(o *Options) { o.Pools = &RPCPools{Transport: bus, Timeout: timeout} }
}

// twoBackends are the volume services most pools tests run: gold (100 GiB) and plain (50 GiB).
var twoBackends = []poolBackend{{"node1@gold", "gold", 100}, {"node2@plain", "plain", 50}}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestGetPools: get_pools answers, in Cinder's shape, the pools the real scheduler knows from
// the capability reports of real volume services (local-file backends of 100 and 50 GiB).
func TestGetPools(t *testing.T) {
	variant := false // the scheduler's answer gets Cinder's storage_protocol variants
	e, ps := poolsEnv(t, 5*time.Second, func(h rpc.Handler) rpc.Handler {
		return func(ctx context.Context, msg *rpc.Message) (any, error) {
			res, err := h(ctx, msg)
			if pools, ok := res.([]rpcapi.PoolInfo); ok && variant && err == nil {
				for _, p := range pools {
					p.Capabilities["storage_protocol"] = []any{"FC", "fibre_channel"}
				}
			}
			return res, err
		}
	}, twoBackends...)

	decode := func(t *testing.T, raw []byte) map[string]any {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	known, err := ps.sched.GetPools(context.Background(), rpcapi.GetPoolsArgs{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(map[string]any{"pools": known})
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, raw)["pools"].([]any)
	// The real picture: each backend's pool with the figures its service reported.
	for i, w := range []struct {
		name, backend string
		total         float64
	}{{"node1@gold#gold", "gold", 100}, {"node2@plain#plain", "plain", 50}} {
		if len(want) != 2 {
			t.Fatalf("the scheduler knows %d pools, want 2: %v", len(want), want)
		}
		p := want[i].(map[string]any)
		c := p["capabilities"].(map[string]any)
		if p["name"] != w.name || c["volume_backend_name"] != w.backend || c["pool_name"] != w.backend ||
			c["total_capacity_gb"] != w.total || c["backend_state"] != "up" {
			t.Fatalf("pool %d is %v, want %s of %v GiB reported up", i, p, w.name, w.total)
		}
	}
	for _, tc := range []struct {
		name   string
		query  string
		detail bool
	}{
		{"names", "", false},
		{"detail=false", "?detail=false", false},
		{"detail=true", "?detail=true", true},
		{"detail=True as tempest sends", "?detail=True", true},
		{"detail=1", "?detail=1", true},
		{"detail=no", "?detail=no", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools" + tc.query})
			wantStatus(t, rec, http.StatusOK)
			sameKeys(t, "body", keysOf(t, obj(t, rec)), []string{"pools"})
			got := decode(t, rec.Body.Bytes())["pools"].([]any)
			if len(got) != len(want) {
				t.Fatalf("%d pools, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i].(map[string]any), want[i].(map[string]any)
				if !tc.detail {
					if !reflect.DeepEqual(g, map[string]any{"name": w["name"]}) {
						t.Errorf("pool %d = %v, want only its name %v", i, g, w["name"])
					}
					continue
				}
				// The whole pool, capabilities and all, as Cinder shows it.
				sameKeys(t, "pool", sortedKeys(g), []string{"capabilities", "name"})
				// The services report every 50 ms: a report between the two reads moves only
				// the timestamp.
				if gc, wc := g["capabilities"].(map[string]any), w["capabilities"].(map[string]any); gc["timestamp"] != nil && wc["timestamp"] != nil {
					wc = maps.Clone(wc)
					wc["timestamp"] = gc["timestamp"]
					w = maps.Clone(w)
					w["capabilities"] = wc
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("pool %d\n got: %v\nwant: %v", i, g, w)
				}
			}
		})
	}

	t.Run("bad detail", func(t *testing.T) {
		for _, v := range []string{"maybe", "", "2"} {
			rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools?detail=" + v})
			wantFault(t, rec, http.StatusBadRequest, "badRequest", "Value '"+v+"' for 'detail' is not a boolean.")
		}
	})

	t.Run("storage_protocol variants show the preferred one", func(t *testing.T) {
		variant = true
		defer func() { variant = false }()
		rec := e.do(call{method: "GET", path: "/v3/scheduler-stats/get_pools?detail=true"})
		wantStatus(t, rec, http.StatusOK)
		if got := str(t, obj(t, rec), "pools", 0, "capabilities", "storage_protocol"); got != "FC" {
			t.Errorf("storage_protocol %q", got)
		}
	})
}

// TestGetPoolsFilters: what the API passes on to the real scheduler for each microversion's
// filters, and what the scheduler answers with them.
func TestGetPoolsFilters(t *testing.T) {
	const goldID = "0ad1bd40-5ddd-4d9e-a4b7-8a3e0a1b2c3d"
	const unknownID = "7483a445-1aed-4363-801c-ae754225e2e4"
	sched := &askedPools{}
	e, _ := poolsEnv(t, 5*time.Second, sched.wrap, twoBackends...)
	e.addVolumeType(goldID, "gold")
	e.addExtraSpec(goldID, "volume_backend_name", "gold")
	e.addExtraSpec(goldID, "capabilities:thin_provisioning_support", "<is> True")
	gold := &rpcapi.VolumeTypeSpec{ID: goldID, Name: "gold", ExtraSpecs: map[string]string{
		"volume_backend_name": "gold", "capabilities:thin_provisioning_support": "<is> True"}}
	both := []string{"node1@gold#gold", "node2@plain#plain"}

	for _, tc := range []struct {
		name    string
		version string
		query   string
		want    rpcapi.GetPoolsArgs
		pools   []string // the pools answered
		status  int      // of a refusal; 0 when the call succeeds
		message string   // of a refusal
	}{
		{"3.0 ignores filters", "", "?name=node1@gold%23gold&volume_type=gold&foo=1", rpcapi.GetPoolsArgs{}, both, 0, ""},
		{"3.27 ignores filters", "volume 3.27", "?name=node1@gold%23gold&foo=1", rpcapi.GetPoolsArgs{}, both, 0, ""},
		{"3.28 passes any capability", "volume 3.28", "?detail=true&total_capacity_gb=50&volume_type=gold",
			rpcapi.GetPoolsArgs{Filters: map[string]string{"total_capacity_gb": "50"}}, []string{"node2@plain#plain"}, 0, ""},
		{"3.28 name and a capability", "volume 3.28", "?name=node1@gold%23gold&total_capacity_gb=50",
			rpcapi.GetPoolsArgs{Filters: map[string]string{"name": "node1@gold#gold", "total_capacity_gb": "50"}}, nil, 0, ""},
		{"3.31 name and backend", "volume 3.31", "?name=node1@gold%23gold&backend=node1@gold",
			rpcapi.GetPoolsArgs{Filters: map[string]string{"name": "node1@gold#gold", "backend": "node1@gold"}}, []string{"node1@gold#gold"}, 0, ""},
		{"3.31 refuses other filters", "volume 3.31", "?foo=1&name=x&bar=2", rpcapi.GetPoolsArgs{}, nil,
			http.StatusBadRequest, "Invalid filters foo,bar are found in query options."},
		{"3.31 all_tenants is ignored", "volume 3.31", "?all_tenants=1", rpcapi.GetPoolsArgs{}, both, 0, ""},
		{"3.34 drops volume_type", "volume 3.34", "?volume_type=gold", rpcapi.GetPoolsArgs{}, both, 0, ""},
		{"3.35 volume_type by name", "volume 3.35", "?volume_type=gold", rpcapi.GetPoolsArgs{VolumeType: gold}, []string{"node1@gold#gold"}, 0, ""},
		{"3.70 volume_type by id", "volume 3.70", "?volume_type=" + goldID + "&backend=node2@plain",
			rpcapi.GetPoolsArgs{VolumeType: gold, Filters: map[string]string{"backend": "node2@plain"}}, nil, 0, ""},
		{"unknown volume_type name", "volume 3.35", "?volume_type=nope", rpcapi.GetPoolsArgs{}, nil,
			http.StatusNotFound, "Volume type with name nope could not be found."},
		{"unknown volume_type id", "volume 3.70", "?volume_type=" + unknownID, rpcapi.GetPoolsArgs{}, nil,
			http.StatusNotFound, "Volume type " + unknownID + " could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sched.calls())
			rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools" + tc.query, version: tc.version})
			calls := sched.calls()[before:]
			if tc.status != 0 {
				name := map[int]string{http.StatusBadRequest: "badRequest", http.StatusNotFound: "itemNotFound"}[tc.status]
				wantFault(t, rec, tc.status, name, tc.message)
				if len(calls) != 0 {
					t.Errorf("a refused request asked the scheduler %v", calls)
				}
				return
			}
			wantStatus(t, rec, http.StatusOK)
			if len(calls) != 1 {
				t.Fatalf("scheduler asked %d times, want 1", len(calls))
			}
			if !reflect.DeepEqual(calls[0], tc.want) {
				t.Errorf("scheduler asked\n got: %+v\nwant: %+v", calls[0], tc.want)
			}
			var body struct {
				Pools []struct{ Name string } `json:"pools"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range body.Pools {
				names = append(names, p.Name)
			}
			if !reflect.DeepEqual(names, tc.pools) {
				t.Errorf("pools %v, want %v", names, tc.pools)
			}
		})
	}
}

func TestPoolsSchedulerUnavailable(t *testing.T) {
	t.Run("no scheduler answers", func(t *testing.T) {
		e := newEnv(t, withSilentScheduler(t, 200*time.Millisecond))
		e.addService(resource.BinaryVolume, "host1@lvm", "nova", false, "", 0)
		for _, path := range []string{"/v3/p1/scheduler-stats/get_pools?detail=true", "/v3/p1/capabilities/host1@lvm"} {
			start := time.Now()
			rec := e.do(call{method: "GET", path: path})
			wantFault(t, rec, http.StatusServiceUnavailable, "serviceUnavailable",
				"No scheduler answered within 200ms; check that scoria-scheduler is running.")
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s took %s to give up", path, d)
			}
		}
	})
	t.Run("the scheduler fails", func(t *testing.T) {
		failing := func(h rpc.Handler) rpc.Handler { // the real scheduler, with get_pools failing
			return func(ctx context.Context, msg *rpc.Message) (any, error) {
				if msg.Method == rpcapi.GetPools {
					return nil, errors.New("boom")
				}
				return h(ctx, msg)
			}
		}
		e, _ := poolsEnv(t, 5*time.Second, failing, twoBackends[0])
		rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools"})
		wantFault(t, rec, http.StatusInternalServerError, "computeFault", wire.MsgServerError)
	})
	t.Run("not connected", func(t *testing.T) {
		e := newEnv(t)
		rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools"})
		wantFault(t, rec, http.StatusServiceUnavailable, "serviceUnavailable", "This API is not connected to a scheduler.")
	})
}

// TestCapabilities: /capabilities/{host} from the real scheduler's pools, reported over the
// bus as volume services report them (one backend with custom properties, one with two
// pools, a host with two backends).
func TestCapabilities(t *testing.T) {
	sched := &askedPools{}
	e, ps := poolsEnv(t, 5*time.Second, sched.wrap)
	for _, h := range []string{"host1@lvm", "host2@multi", "host3@silent", "host4@a", "host4@b"} {
		e.addService(resource.BinaryVolume, h, "nova", false, "", 0)
	}
	e.addService(resource.BinaryScheduler, "sched1", "nova", false, "", 0)
	ps.report(t,
		rpcapi.CapabilitiesArgs{Host: "host1@lvm", AvailabilityZone: "nova", Stats: driver.Stats{
			VolumeBackendName: "lvmbackend", VendorName: "Open Source", DriverVersion: "3.0.0", StorageProtocol: "iSCSI",
			Extra: map[string]any{"properties": map[string]any{"scoria:preallocate": map[string]any{"title": "Preallocate", "description": "d", "type": "boolean"}}},
			Pools: []driver.Pool{{Name: "lvm", TotalCapacityGB: 100, FreeCapacityGB: 100}}}},
		rpcapi.CapabilitiesArgs{Host: "host2@multi", AvailabilityZone: "nova", Stats: driver.Stats{
			VolumeBackendName: "multi", StorageProtocol: "FC",
			Pools: []driver.Pool{{Name: "a", Extra: map[string]any{"replication_targets": []any{"t1"}}}, {Name: "b"}}}},
		rpcapi.CapabilitiesArgs{Host: "host4@a", AvailabilityZone: "nova", Stats: driver.Stats{VolumeBackendName: "a", Pools: []driver.Pool{{Name: "a"}}}},
		rpcapi.CapabilitiesArgs{Host: "host4@b", AvailabilityZone: "nova", Stats: driver.Stats{VolumeBackendName: "b", Pools: []driver.Pool{{Name: "b"}}}},
	)

	capabilityKeys := []string{"namespace", "vendor_name", "volume_backend_name", "pool_name", "driver_version",
		"storage_protocol", "display_name", "description", "visibility", "replication_targets", "properties"}
	standard := []string{"compression", "qos", "replication_enabled", "thin_provisioning"}

	t.Run("one backend", func(t *testing.T) {
		before := len(sched.calls())
		rec := e.do(call{method: "GET", path: "/v3/p1/capabilities/host1@lvm"})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		sameKeys(t, "capabilities", keysOf(t, body), capabilityKeys)
		want := "{'namespace': 'OS::Storage::Capabilities::host1@lvm', 'vendor_name': 'Open Source', " +
			"'volume_backend_name': 'lvmbackend', 'pool_name': 'lvm', 'driver_version': '3.0.0', 'storage_protocol': 'iSCSI', " +
			"'display_name': None, 'description': None, 'visibility': None, 'replication_targets': []"
		got := wire.PyRepr(body)
		if len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("capabilities\n got: %s\nwant: %s…", got, want)
		}
		props := member(t, body, "properties")
		wantProps := append([]string{}, standard...)
		wantProps = append(wantProps, "scoria:preallocate")
		sort.Strings(wantProps)
		gotProps := append([]string(nil), keysOf(t, props)...)
		sort.Strings(gotProps)
		sameKeys(t, "properties", gotProps, wantProps)
		if p := wire.PyRepr(member(t, props, "thin_provisioning")); p != "{'description': 'Sets thin provisioning.', 'title': 'Thin Provisioning', 'type': 'boolean'}" {
			t.Errorf("thin_provisioning %s", p)
		}
		calls := sched.calls()[before:]
		if len(calls) != 1 || !reflect.DeepEqual(calls[0], rpcapi.GetPoolsArgs{Filters: map[string]string{"backend": "host1@lvm"}}) {
			t.Errorf("scheduler asked %+v", calls)
		}
	})
	t.Run("bare host of one backend", func(t *testing.T) {
		before := len(sched.calls())
		rec := e.do(call{method: "GET", path: "/v3/capabilities/host1"})
		wantStatus(t, rec, http.StatusOK)
		if got := str(t, obj(t, rec), "namespace"); got != "OS::Storage::Capabilities::host1" {
			t.Errorf("namespace %q", got)
		}
		if calls := sched.calls()[before:]; len(calls) != 1 || !reflect.DeepEqual(calls[0], rpcapi.GetPoolsArgs{}) {
			t.Errorf("scheduler asked %+v, want every pool", calls)
		}
	})
	t.Run("a pool", func(t *testing.T) {
		before := len(sched.calls())
		rec := e.do(call{method: "GET", path: "/v3/capabilities/host2@multi%23b"})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		if str(t, body, "pool_name") != "b" || str(t, body, "namespace") != "OS::Storage::Capabilities::host2@multi#b" {
			t.Errorf("capabilities %s", wire.PyRepr(body))
		}
		want := rpcapi.GetPoolsArgs{Filters: map[string]string{"name": "host2@multi#b"}}
		if calls := sched.calls()[before:]; len(calls) != 1 || !reflect.DeepEqual(calls[0], want) {
			t.Errorf("scheduler asked %+v", calls)
		}
	})
	t.Run("several pools", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/capabilities/host2@multi"})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		if member(t, body, "pool_name") != nil || str(t, body, "storage_protocol") != "FC" ||
			wire.PyRepr(member(t, body, "replication_targets")) != "['t1']" || member(t, body, "vendor_name") != "" { // the backend reported none
			t.Errorf("capabilities %s", wire.PyRepr(body))
		}
	})
	for _, tc := range []struct {
		name, host, fault, message string
		status                     int
	}{
		{"unknown host", "nowhere@x", "itemNotFound", "Can't find service: nowhere@x", http.StatusNotFound},
		{"a scheduler is not a backend", "sched1", "itemNotFound", "Can't find service: sched1", http.StatusNotFound},
		{"no report yet", "host3@silent", "serviceUnavailable",
			"Backend host3@silent has not reported its capabilities to the scheduler: it is down, disabled or still starting.",
			http.StatusServiceUnavailable},
		{"several backends", "host4", "badRequest",
			"Host host4 has several backends (host4@a, host4@b); ask for one of them as host@backend.", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/capabilities/" + tc.host})
			wantFault(t, rec, tc.status, tc.fault, tc.message)
		})
	}
}

func TestAdminOnly(t *testing.T) {
	// noauth makes every caller an admin; the check bites once Keystone roles arrive.
	for _, rule := range []string{policyGetPools, policyCapabilities, policyServicesIndex} {
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(reqctx.With(r.Context(), reqctx.Context{UserID: "u", ProjectID: "p"}))
		f := authorizeAdmin(r, rule)
		if f == nil || f.Status != http.StatusForbidden || f.Message != "Policy doesn't allow "+rule+" to be performed." {
			t.Errorf("%s: %v", rule, f)
		}
		r = r.WithContext(reqctx.With(r.Context(), reqctx.Context{IsAdmin: true}))
		if f := authorizeAdmin(r, rule); f != nil {
			t.Errorf("%s refused an admin: %v", rule, f)
		}
	}
}

// addExtraSpec sets an extra spec of a volume type.
func (e *env) addExtraSpec(typeID, key, value string) {
	e.t.Helper()
	if _, err := e.raw.Exec("INSERT INTO volume_type_extra_specs (volume_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
		typeID, key, value, time.Now().UTC().Format("2006-01-02 15:04:05.000000")); err != nil {
		e.t.Fatalf("add extra spec: %v", err)
	}
}
