package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
)

// fakeScheduler serves get_pools on a real in-process bus, as a scheduler does, answering
// with fixed pools and remembering what it was asked.
type fakeScheduler struct {
	mu    sync.Mutex
	asked []message.GetPoolsArgs
	pools []message.PoolInfo
	err   error
}

func (f *fakeScheduler) handle(_ context.Context, msg *rpc.Message) (any, error) {
	if msg.Method != message.GetPools {
		return nil, errors.New("unexpected method " + msg.Method)
	}
	var args message.GetPoolsArgs
	if err := json.Unmarshal(msg.Args, &args); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, args)
	return f.pools, f.err
}

func (f *fakeScheduler) calls() []message.GetPoolsArgs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]message.GetPoolsArgs(nil), f.asked...)
}

// withScheduler connects the API to a bus on which sched, when not nil, serves the
// scheduler topic; the API waits at most timeout for an answer.
func withScheduler(t testing.TB, sched *fakeScheduler, timeout time.Duration) func(*Options) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	bus := rpc.NewLocal(log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
		bus.Close()
	})
	if sched != nil {
		go func() {
			defer close(done)
			_ = bus.Serve(ctx, message.SchedulerTarget(), sched.handle)
		}()
	} else {
		close(done)
	}
	return func(o *Options) { o.Pools = &RPCPools{Transport: bus, Timeout: timeout} }
}

// samplePools reads Cinder's recorded get_pools?detail=true answer.
func samplePools(t testing.TB) (raw map[string]any, pools []message.PoolInfo) {
	t.Helper()
	data, err := os.ReadFile("testdata/scheduler-stats-get-pools-detail.json")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Pools []message.PoolInfo `json:"pools"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	return raw, body.Pools
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestGetPools(t *testing.T) {
	sample, pools := samplePools(t)
	sched := &fakeScheduler{pools: pools}
	e := newEnv(t, withScheduler(t, sched, 5*time.Second))

	decode := func(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		return got
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
			got := decode(t, rec)["pools"].([]any)
			want := sample["pools"].([]any)
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
				if !reflect.DeepEqual(g, w) {
					t.Errorf("pool %d\n got: %v\nwant: %v", i, g, w)
				}
				sameKeys(t, "capabilities", sortedKeys(g["capabilities"].(map[string]any)),
					sortedKeys(w["capabilities"].(map[string]any)))
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
		sched.mu.Lock()
		sched.pools = []message.PoolInfo{{Name: "h@fc#p", Capabilities: map[string]any{
			"storage_protocol": []any{"FC", "fibre_channel"}}}}
		sched.mu.Unlock()
		defer func() { sched.mu.Lock(); sched.pools = pools; sched.mu.Unlock() }()
		rec := e.do(call{method: "GET", path: "/v3/scheduler-stats/get_pools?detail=true"})
		wantStatus(t, rec, http.StatusOK)
		if got := str(t, obj(t, rec), "pools", 0, "capabilities", "storage_protocol"); got != "FC" {
			t.Errorf("storage_protocol %q", got)
		}
	})
}

func TestGetPoolsFilters(t *testing.T) {
	const goldID = "0ad1bd40-5ddd-4d9e-a4b7-8a3e0a1b2c3d"
	const unknownID = "7483a445-1aed-4363-801c-ae754225e2e4"
	sched := &fakeScheduler{pools: []message.PoolInfo{}}
	e := newEnv(t, withScheduler(t, sched, 5*time.Second))
	e.addVolumeType(goldID, "gold")
	e.addExtraSpec(goldID, "volume_backend_name", "lvmbackend")
	e.addExtraSpec(goldID, "capabilities:thin_provisioning_support", "<is> True")
	gold := &message.VolumeTypeSpec{ID: goldID, Name: "gold", ExtraSpecs: map[string]string{
		"volume_backend_name": "lvmbackend", "capabilities:thin_provisioning_support": "<is> True"}}

	for _, tc := range []struct {
		name    string
		version string
		query   string
		want    message.GetPoolsArgs
		status  int    // of a refusal; 0 when the call succeeds
		message string // of a refusal
	}{
		{"3.0 ignores filters", "", "?name=h@b%23p&volume_type=gold&foo=1", message.GetPoolsArgs{}, 0, ""},
		{"3.27 ignores filters", "volume 3.27", "?name=h@b%23p&foo=1", message.GetPoolsArgs{}, 0, ""},
		{"3.28 passes any capability", "volume 3.28", "?detail=true&name=h@b%23p&total_capacity_gb=1000&volume_type=gold",
			message.GetPoolsArgs{Filters: map[string]string{"name": "h@b#p", "total_capacity_gb": "1000"}}, 0, ""},
		{"3.31 name and backend", "volume 3.31", "?name=h@b%23p&backend=h@b",
			message.GetPoolsArgs{Filters: map[string]string{"name": "h@b#p", "backend": "h@b"}}, 0, ""},
		{"3.31 refuses other filters", "volume 3.31", "?foo=1&name=x&bar=2", message.GetPoolsArgs{},
			http.StatusBadRequest, "Invalid filters foo,bar are found in query options."},
		{"3.31 all_tenants is ignored", "volume 3.31", "?all_tenants=1", message.GetPoolsArgs{}, 0, ""},
		{"3.34 drops volume_type", "volume 3.34", "?volume_type=gold", message.GetPoolsArgs{}, 0, ""},
		{"3.35 volume_type by name", "volume 3.35", "?volume_type=gold", message.GetPoolsArgs{VolumeType: gold}, 0, ""},
		{"3.70 volume_type by id", "volume 3.70", "?volume_type=" + goldID + "&backend=h@b",
			message.GetPoolsArgs{VolumeType: gold, Filters: map[string]string{"backend": "h@b"}}, 0, ""},
		{"unknown volume_type name", "volume 3.35", "?volume_type=nope", message.GetPoolsArgs{},
			http.StatusNotFound, "Volume type with name nope could not be found."},
		{"unknown volume_type id", "volume 3.70", "?volume_type=" + unknownID, message.GetPoolsArgs{},
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
		})
	}
}

func TestPoolsSchedulerUnavailable(t *testing.T) {
	t.Run("no scheduler answers", func(t *testing.T) {
		e := newEnv(t, withScheduler(t, nil, 200*time.Millisecond))
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
		e := newEnv(t, withScheduler(t, &fakeScheduler{err: errors.New("boom")}, 5*time.Second))
		rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools"})
		wantFault(t, rec, http.StatusInternalServerError, "computeFault", msgServerError)
	})
	t.Run("not connected", func(t *testing.T) {
		e := newEnv(t)
		rec := e.do(call{method: "GET", path: "/v3/p1/scheduler-stats/get_pools"})
		wantFault(t, rec, http.StatusServiceUnavailable, "serviceUnavailable", "This API is not connected to a scheduler.")
	})
}

func TestCapabilities(t *testing.T) {
	lvm := map[string]any{
		"pool_name": "lvm", "volume_backend_name": "lvmbackend", "vendor_name": "Open Source",
		"driver_version": "3.0.0", "storage_protocol": "iSCSI", "total_capacity_gb": 100.0,
		"properties": map[string]any{"scoria:preallocate": map[string]any{"title": "Preallocate", "description": "d", "type": "boolean"}},
	}
	sched := &fakeScheduler{pools: []message.PoolInfo{
		{Name: "host1@lvm#lvm", Capabilities: lvm},
		{Name: "host2@multi#a", Capabilities: map[string]any{"pool_name": "a", "volume_backend_name": "multi",
			"storage_protocol": []any{"FC", "fibre_channel"}, "replication_targets": []any{"t1"}}},
		{Name: "host2@multi#b", Capabilities: map[string]any{"pool_name": "b", "volume_backend_name": "multi"}},
		{Name: "host4@a#a", Capabilities: map[string]any{}},
		{Name: "host4@b#b", Capabilities: map[string]any{}},
	}}
	e := newEnv(t, withScheduler(t, sched, 5*time.Second))
	for _, h := range []string{"host1@lvm", "host2@multi", "host3@silent", "host4@a", "host4@b"} {
		e.addService(resource.BinaryVolume, h, "nova", false, "", 0)
	}
	e.addService(resource.BinaryScheduler, "sched1", "nova", false, "", 0)

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
		got := pyRepr(body)
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
		if p := pyRepr(member(t, props, "thin_provisioning")); p != "{'description': 'Sets thin provisioning.', 'title': 'Thin Provisioning', 'type': 'boolean'}" {
			t.Errorf("thin_provisioning %s", p)
		}
		calls := sched.calls()[before:]
		if len(calls) != 1 || !reflect.DeepEqual(calls[0], message.GetPoolsArgs{Filters: map[string]string{"backend": "host1@lvm"}}) {
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
		if calls := sched.calls()[before:]; len(calls) != 1 || !reflect.DeepEqual(calls[0], message.GetPoolsArgs{}) {
			t.Errorf("scheduler asked %+v, want every pool", calls)
		}
	})
	t.Run("a pool", func(t *testing.T) {
		before := len(sched.calls())
		rec := e.do(call{method: "GET", path: "/v3/capabilities/host2@multi%23b"})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		if str(t, body, "pool_name") != "b" || str(t, body, "namespace") != "OS::Storage::Capabilities::host2@multi#b" {
			t.Errorf("capabilities %s", pyRepr(body))
		}
		want := message.GetPoolsArgs{Filters: map[string]string{"name": "host2@multi#b"}}
		if calls := sched.calls()[before:]; len(calls) != 1 || !reflect.DeepEqual(calls[0], want) {
			t.Errorf("scheduler asked %+v", calls)
		}
	})
	t.Run("several pools", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/capabilities/host2@multi"})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		if member(t, body, "pool_name") != nil || str(t, body, "storage_protocol") != "FC" ||
			pyRepr(member(t, body, "replication_targets")) != "['t1']" || member(t, body, "vendor_name") != nil {
			t.Errorf("capabilities %s", pyRepr(body))
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
		if f == nil || f.status != http.StatusForbidden || f.message != "Policy doesn't allow "+rule+" to be performed." {
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
