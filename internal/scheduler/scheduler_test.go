package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

func schedule(s *Scheduler, r *Request, services []*resource.Service) (string, string) {
	host, err := s.Schedule(context.Background(), r, services)
	var nv *NoValidBackendError
	if errors.As(err, &nv) {
		return "", nv.Reason
	}
	if err != nil {
		return "", err.Error()
	}
	return host, ""
}

func TestSchedule(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	fresh, stale := now.Add(-10*time.Second), now.Add(-2*time.Minute)
	tests := []struct {
		name     string
		services []*resource.Service
		reports  []rpcapi.CapabilitiesArgs
		req      *Request
		want     string   // chosen pool, "" for none
		because  []string // substrings of the reason when none
	}{
		{
			name:     "most free wins",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports:  []rpcapi.CapabilitiesArgs{report("a@f", "nova", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 60, 0, false, "1"))},
			req:      &Request{Size: 5},
			want:     "b@f#p",
		},
		{
			name:     "zone filters",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports:  []rpcapi.CapabilitiesArgs{report("a@f", "az1", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 60, 0, false, "1"))},
			req:      &Request{Size: 5, Zone: "az1"},
			want:     "a@f#p",
		},
		{
			name:     "down, disabled and silent services are not candidates",
			services: []*resource.Service{svc("a@f", stale, false), svc("b@f", fresh, true), svc("c@f", fresh, false)},
			reports:  []rpcapi.CapabilitiesArgs{report("a@f", "nova", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 60, 0, false, "1"))},
			req:      &Request{Size: 5},
			because:  []string{"No valid backend: 0/0 pools fit; 1 service down (a@f), 1 service disabled (b@f), 1 service without a capability report (c@f)"},
		},
		{
			name:     "tried pools are skipped",
			services: []*resource.Service{svc("a@f", fresh, false)},
			reports:  []rpcapi.CapabilitiesArgs{report("a@f", "nova", pool("p", 100, 10, 0, false, "1"))},
			req:      &Request{Size: 5, Tried: []string{"a@f#p"}},
			because:  []string{"0/1 pools fit", "1 already failed this volume"},
		},
		{
			name:     "a backend that reports itself down takes no volume; the one beside it does",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			// 'unknown' capacity would pass the CapacityFilter and weigh first with a negative
			// multiplier: only the down check keeps the volume off a@f.
			reports: []rpcapi.CapabilitiesArgs{report("a@f", "nova", down(pool("p", 100, 90, 0, false, "1"))),
				report("b@f", "nova", pool("p", 100, 10, 0, false, "1"))},
			req:  &Request{Size: 5},
			want: "b@f#p",
		},
		{
			name:     "says a backend is down",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports: []rpcapi.CapabilitiesArgs{report("a@f", "nova", down(pool("p", 100, 90, 0, false, "1")), down(pool("q", 100, 90, 0, false, "1"))),
				report("b@f", "nova", pool("p", 100, 3, 0, false, "1"))},
			req:     &Request{Size: 5},
			because: []string{"No valid backend: 0/3 pools fit — 2 on a backend that reports itself down (a@f), 1 lacks capacity (needs 5 GiB, 3 GiB free)"},
		},
		{
			name:     "says which backends are down",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports: []rpcapi.CapabilitiesArgs{report("b@f", "nova", down(pool("p", 100, 90, 0, false, "1"))),
				report("a@f", "nova", down(pool("p", 100, 90, 0, false, "1")))},
			req:     &Request{Size: 5, Tried: []string{"x@f#p"}},
			because: []string{"No valid backend: 0/2 pools fit — 2 on backends that report themselves down (a@f, b@f)"},
		},
		{
			name:     "says why nothing fits",
			services: []*resource.Service{svc("a@f", fresh, false), svc("b@f", fresh, false)},
			reports:  []rpcapi.CapabilitiesArgs{report("a@f", "az1", pool("p", 100, 10, 0, false, "1")), report("b@f", "nova", pool("p", 100, 3, 0, false, "1"))},
			req:      &Request{Size: 5, Zone: "nova"},
			because:  []string{"No valid backend: 0/2 pools fit — 1 in another availability zone (nova), 1 lacks capacity (needs 5 GiB, 3 GiB free)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScheduler(now)
			for _, r := range tc.reports {
				s.UpdateCapabilities(r)
			}
			got, why := schedule(s, tc.req, tc.services)
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

func TestScheduleConsumesUntilNextReport(t *testing.T) {
	now := time.Now().UTC()
	s := newScheduler(now)
	services := []*resource.Service{svc("a@f", now, false)}
	s.UpdateCapabilities(report("a@f", "nova", pool("p", 100, 25, 0, false, "1")))
	placed := 0
	for i := 0; i < 5; i++ {
		if h, _ := schedule(s, &Request{Size: 10}, services); h != "" {
			placed++
		}
	}
	if placed != 2 {
		t.Fatalf("placed %d volumes of 10 GiB in 25 GiB free, want 2", placed)
	}
	s.release("a@f#p", 10)
	if h, _ := schedule(s, &Request{Size: 10}, services); h == "" {
		t.Fatal("released capacity was not available again")
	}
	// A newer report replaces what was consumed; an older one arriving late is ignored.
	r := report("a@f", "nova", pool("p", 100, 100, 0, false, "1"))
	s.UpdateCapabilities(r)
	old := report("a@f", "nova", pool("p", 100, 0, 0, false, "1"))
	old.ReportedAt = r.ReportedAt.Add(-time.Minute)
	s.UpdateCapabilities(old)
	if h, _ := schedule(s, &Request{Size: 90}, services); h == "" {
		t.Fatal("a late older report overwrote the newer one")
	}
}

func TestVolumeServicesWaitsForReports(t *testing.T) {
	now := time.Now().UTC()
	a, b := svc("a@f", now, false), svc("b@f", now, true) // b is disabled: not waited for
	tests := []struct {
		name       string
		started    time.Time
		registered []*resource.Service // listed from the start
		late       bool                // a@f registers and reports 100 ms after the wait begins
		wantWait   bool
	}{
		{"in the start-up window, waits for the report of an up service", now, []*resource.Service{a, b}, true, true},
		{"in the window with no service registered yet, waits for one and its report", now, nil, true, true},
		{"after the window, does not wait", now.Add(-time.Hour), []*resource.Service{a, b}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newTestStore(t)
			store.register(tc.registered...)
			s := &Scheduler{Store: store, Log: logrus.New(), ServiceDownTime: time.Minute, Started: tc.started, StartupWait: 10 * time.Second}
			if tc.late {
				go func() {
					time.Sleep(100 * time.Millisecond)
					if len(tc.registered) == 0 { // registers as it starts (not with register: t.Fatal is for the test's goroutine)
						if _, err := store.RegisterService(context.Background(), &resource.Service{Binary: resource.BinaryVolume,
							Host: a.Host, Topic: rpc.TopicVolume, AvailabilityZone: "nova"}); err != nil {
							t.Error(err)
						}
					}
					s.UpdateCapabilities(report("a@f", "nova", pool("p", 10, 10, 0, false, "1")))
				}()
			}
			begin := time.Now()
			services, err := s.volumeServices(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			waited := time.Since(begin)
			if tc.wantWait && (waited < 100*time.Millisecond || s.Reported() != 1 || len(services) == 0) {
				t.Fatalf("returned after %v with %d reports and %d services; want to wait for a@f", waited, s.Reported(), len(services))
			}
			// Not waiting returns at once; waiting for reports that do not come would take
			// the whole StartupWait (10 s): half of it tells the two apart on any machine.
			if !tc.wantWait && waited > s.StartupWait/2 {
				t.Fatalf("waited %v outside the start-up window", waited)
			}
		})
	}
}

// TestCreateVolumeHints resolves same_host/different_host through the store before the
// pipeline runs, and fails the volume with the sentence when nothing fits.
func TestCreateVolumeHints(t *testing.T) {
	now := time.Now().UTC()
	const (
		vol   = "11111111-1111-4111-8111-111111111111"
		other = "22222222-2222-4222-8222-222222222222"
	)
	pl, err := NewPipeline(Options{Filters: []string{"CapacityFilter", "SameBackendFilter", "DifferentBackendFilter"}, Weighers: []string{"CapacityWeigher"}, CapacityWeightMultiplier: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		hints  map[string]any
		want   string // host, or "error"
		reason string
	}{
		{"same_host follows the volume", map[string]any{"same_host": []any{other}}, "b@f#p", ""},
		{"different_host avoids it", map[string]any{"different_host": other}, "a@f#p", ""},
		{"a bad hint is refused", map[string]any{"same_host": "not-a-uuid"}, "error", `refused: same_host hint: "not-a-uuid" is not a volume id`},
		{"an unknown volume matches nothing", map[string]any{"same_host": []any{"33333333-3333-4333-8333-333333333333"}}, "error", "2 hold no volume of the same_host hint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newTestStore(t)
			st.register(svc("a@f", now, false), svc("b@f", now, false))
			st.volume(resource.Volume{ID: vol, Size: 1, Status: resource.StatusCreating})
			st.volume(resource.Volume{ID: other, Size: 1, Status: resource.StatusAvailable, Host: "b@f#p"})
			q := newVolumeQueues(t, "a@f", "b@f")
			s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Pipeline: pl, Transport: q.bus}
			reportTo(t, s, report("a@f", "nova", pool("p", 100, 90, 0, false, "")), report("b@f", "nova", pool("p", 100, 50, 0, false, "")))
			if err := s.CreateVolume(context.Background(), rpcapi.CreateVolumeArgs{VolumeID: vol, Size: 1, SchedulerHints: tc.hints}); err != nil {
				t.Fatal(err)
			}
			status, host := st.status(vol)
			if tc.want == "error" {
				if cast := q.casts(t, 0); status != resource.StatusError || len(cast) != 0 {
					t.Fatalf("status %s, host %s, casts %v; want error and no cast", status, host, cast)
				}
				return
			}
			cast := q.casts(t, 1)
			if status != resource.StatusCreating || host != tc.want || len(cast) != 1 || cast[0] != rpcapi.BackendHost(tc.want) {
				t.Fatalf("status %s, host %q, casts %v; want creating on %s", status, host, cast, tc.want)
			}
			if got := st.allocated(tc.want); got != 1 {
				t.Errorf("%s holds %d GiB in claims, want 1", tc.want, got)
			}
		})
	}
	// The reasons, checked on the sentence itself.
	empty := newTestStore(t)
	for _, tc := range tests {
		if tc.reason == "" {
			continue
		}
		s := &Scheduler{Log: logrus.New(), ServiceDownTime: time.Minute, Pipeline: pl,
			Store: empty}
		s.UpdateCapabilities(report("a@f", "nova", pool("p", 100, 90, 0, false, "")))
		s.UpdateCapabilities(report("b@f", "nova", pool("p", 100, 50, 0, false, "")))
		r := &Request{Size: 1, Hints: tc.hints}
		if err := s.lookUp(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		_, why := schedule(s, r, []*resource.Service{svc("a@f", now, false), svc("b@f", now, false)})
		if !strings.Contains(why, tc.reason) {
			t.Errorf("%s: reason %q lacks %q", tc.name, why, tc.reason)
		}
	}
}

func TestHandleGetPools(t *testing.T) {
	now := time.Now().UTC()
	st := newTestStore(t)
	st.register(svc("a@f", now, false), svc("b@g", now, false), svc("c@h", now.Add(-time.Hour), false))
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute}
	gold := with(pool("gold", 100, 90, 0, true, "20.0"), func(p *driver.Pool) { p.Extra = map[string]any{"tier": "gold"} })
	s.UpdateCapabilities(report("a@f", "nova", gold, pool("silver", 100, 50, 0, false, "")))
	r := report("b@g", "az1", pool("p", 1000, 1000, 0, false, ""))
	r.Stats.VolumeBackendName = "other"
	r.Stats.FilterFunction = "volume.size < 10"
	s.UpdateCapabilities(r)
	s.UpdateCapabilities(report("c@h", "nova", pool("p", 1, 1, 0, false, ""))) // down
	tests := []struct {
		name string
		args rpcapi.GetPoolsArgs
		want []string
	}{
		{"all up pools", rpcapi.GetPoolsArgs{}, []string{"a@f#gold", "a@f#silver", "b@g#p"}},
		{"by name", rpcapi.GetPoolsArgs{Filters: map[string]string{"name": "a@f#silver"}}, []string{"a@f#silver"}},
		{"by backend", rpcapi.GetPoolsArgs{Filters: map[string]string{"backend": "a@f"}}, []string{"a@f#gold", "a@f#silver"}},
		{"by capability, converted", rpcapi.GetPoolsArgs{Filters: map[string]string{"thin_provisioning_support": "True", "total_capacity_gb": "100"}}, []string{"a@f#gold"}},
		{"by volume type", rpcapi.GetPoolsArgs{VolumeType: &rpcapi.VolumeTypeSpec{ExtraSpecs: map[string]string{"volume_backend_name": "lvmbackend", "tier": "<in> go"}}}, []string{"a@f#gold"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args, _ := marshalArgs(tc.args)
			got, err := s.Handle(context.Background(), args)
			if err != nil {
				t.Fatal(err)
			}
			pools := got.([]rpcapi.PoolInfo)
			var names []string
			for _, p := range pools {
				names = append(names, p.Name)
			}
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("pools %v, want %v", names, tc.want)
			}
		})
	}
	pools, _ := s.GetPools(context.Background(), rpcapi.GetPoolsArgs{Filters: map[string]string{"name": "b@g#p"}})
	c := pools[0].Capabilities
	for k, want := range map[string]any{"pool_name": "p", "total_capacity_gb": 1000.0, "volume_backend_name": "other",
		"filter_function": "volume.size < 10", "goodness_function": nil, "backend_state": "up", "storage_protocol": "iSCSI",
		"thick_provisioning_support": true, "max_over_subscription_ratio": ""} {
		if c[k] != want {
			t.Errorf("capability %s = %#v, want %#v", k, c[k], want)
		}
	}
	if ts, _ := c["timestamp"].(string); len(ts) != len("2026-11-21T18:01:35.740969") && len(ts) != len("2026-11-21T18:01:35") {
		t.Errorf("timestamp %q is not in Cinder's format", ts)
	}
}

// TestGetPoolsShowsBackendDown: get_pools still lists the pool of a backend that reports
// itself down (as Cinder does), with backend_state "down" and capacity "unknown"; the next up
// report shows it up again.
func TestGetPoolsShowsBackendDown(t *testing.T) {
	now := time.Now().UTC()
	st := newTestStore(t)
	st.register(svc("r@rbd", now, false))
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute}
	caps := func() map[string]any {
		t.Helper()
		pools, err := s.GetPools(context.Background(), rpcapi.GetPoolsArgs{})
		if err != nil || len(pools) != 1 {
			t.Fatalf("get_pools = %v, %v; want the one pool", pools, err)
		}
		return pools[0].Capabilities
	}
	reportTo(t, s, report("r@rbd", "nova", pool("volumes", 100, 90, 0, true, "")))
	reportTo(t, s, report("r@rbd", "nova", down(pool("volumes", 100, 90, 0, true, ""))))
	for k, want := range map[string]any{"backend_state": "down", "total_capacity_gb": "unknown", "free_capacity_gb": "unknown"} {
		if got := caps()[k]; got != want {
			t.Errorf("down: %s = %#v, want %#v", k, got, want)
		}
	}
	if p, err := st.GetPool(context.Background(), "r@rbd#volumes"); err != nil || !p.Down || p.TotalGB == nil || *p.TotalGB != 100 {
		t.Errorf("claims table row %+v, %v; want down with the last good total (100)", p, err)
	}
	reportTo(t, s, report("r@rbd", "nova", pool("volumes", 100, 80, 0, true, "")))
	if got := caps()["backend_state"]; got != "up" {
		t.Errorf("after recovery: backend_state = %#v, want up", got)
	}
	if p, _ := st.GetPool(context.Background(), "r@rbd#volumes"); p.Down {
		t.Errorf("claims table row still down after an up report")
	}
}

// TestFailWritesUserMessage: a volume no pool fits, or whose attempts are used up, goes to
// error with a user message that carries the sentence, for the volume's project and the
// request that created it.
func TestFailWritesUserMessage(t *testing.T) {
	now := time.Now().UTC()
	const vol = "44444444-4444-4444-8444-444444444444"
	tests := []struct {
		name   string
		args   rpcapi.CreateVolumeArgs
		reason string
	}{
		{"no pool fits", rpcapi.CreateVolumeArgs{VolumeID: vol, Size: 500},
			"No valid backend: 0/1 pools fit — 1 lacks capacity"},
		{"attempts exhausted", rpcapi.CreateVolumeArgs{VolumeID: vol, Size: 1, Attempts: 3, LastError: "disk on fire"},
			"exceeded 3 scheduling attempts for volume " + vol + "; last error: disk on fire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newTestStore(t)
			st.register(svc("a@f", now, false))
			st.volume(resource.Volume{ID: vol, Size: tc.args.Size, Status: resource.StatusCreating})
			q := newVolumeQueues(t, "a@f")
			s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Transport: q.bus}
			reportTo(t, s, report("a@f", "nova", pool("p", 100, 90, 0, false, "")))
			ctx := reqctx.With(context.Background(), reqctx.Context{RequestID: "req-123"})
			if err := s.CreateVolume(ctx, tc.args); err != nil {
				t.Fatal(err)
			}
			if status, _ := st.status(vol); status != resource.StatusError {
				t.Fatalf("status %s, want error", status)
			}
			if cast := q.casts(t, 0); len(cast) != 0 {
				t.Errorf("cast a volume that should fail to %v", cast)
			}
			ms := st.messages()
			if len(ms) != 1 {
				t.Fatalf("%d user messages, want 1", len(ms))
			}
			m := ms[0]
			if m.ProjectID != "proj" || m.RequestID != "req-123" || m.ResourceType != "VOLUME" || m.ResourceUUID != vol ||
				m.ActionID != "001" || m.DetailID != "003" {
				t.Errorf("message %+v", m)
			}
			if got := m.UserMessage(); !strings.HasPrefix(got, "schedule allocate volume:"+tc.reason) {
				t.Errorf("user message %q, want it to begin %q", got, "schedule allocate volume:"+tc.reason)
			}
		})
	}
}

// TestCreateVolumeHintsProjectScope: same_host and different_host name volumes of the
// caller's project, as Cinder's affinity filters look them up with the request's context; a
// volume of another project is a volume that does not exist, except to an admin (issue 12,
// item 5). The volume to place is in project "proj"; the hinted one in "proj" or "other".
func TestCreateVolumeHintsProjectScope(t *testing.T) {
	now := time.Now().UTC()
	const (
		vol    = "11111111-1111-4111-8111-111111111111"
		hinted = "22222222-2222-4222-8222-222222222222"
	)
	pl, err := NewPipeline(Options{Filters: []string{"CapacityFilter", "SameBackendFilter", "DifferentBackendFilter"}, Weighers: []string{"CapacityWeigher"}, CapacityWeightMultiplier: 1})
	if err != nil {
		t.Fatal(err)
	}
	member := reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: "user", ProjectID: "proj", Roles: []string{"member"}}
	admin := reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: "admin", ProjectID: "proj", Roles: []string{"admin"}, IsAdmin: true}
	tests := []struct {
		name    string
		caller  reqctx.Context
		project string // of the hinted volume
		on      string // the hinted volume's pool
		hints   map[string]any
		status  string
		host    string
	}{
		{"same_host on the caller's volume", member, "proj", "b@f#p", map[string]any{"same_host": hinted}, resource.StatusCreating, "b@f#p"},
		{"same_host on another project's volume matches nothing", member, "other", "b@f#p", map[string]any{"same_host": hinted}, resource.StatusError, ""},
		{"same_host on another project's volume, by an admin", admin, "other", "b@f#p", map[string]any{"same_host": hinted}, resource.StatusCreating, "b@f#p"},
		{"different_host avoids the caller's volume", member, "proj", "a@f#p", map[string]any{"different_host": []any{hinted}}, resource.StatusCreating, "b@f#p"},
		{"different_host does not see another project's volume", member, "other", "a@f#p", map[string]any{"different_host": []any{hinted}}, resource.StatusCreating, "a@f#p"},
		{"different_host on another project's volume, by an admin", admin, "other", "a@f#p", map[string]any{"different_host": []any{hinted}}, resource.StatusCreating, "b@f#p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newTestStore(t)
			st.register(svc("a@f", now, false), svc("b@f", now, false))
			st.volume(resource.Volume{ID: vol, Size: 1, Status: resource.StatusCreating})
			st.volume(resource.Volume{ID: hinted, ProjectID: tc.project, Size: 1, Status: resource.StatusAvailable, Host: tc.on})
			bus := rpc.NewLocal(logrus.New()) // casts wait in their queue: no volume service here
			t.Cleanup(func() { bus.Close() })
			s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Pipeline: pl, Transport: bus}
			reportTo(t, s, report("a@f", "nova", pool("p", 100, 90, 0, false, "")), report("b@f", "nova", pool("p", 100, 50, 0, false, "")))
			ctx := reqctx.With(context.Background(), tc.caller)
			if err := s.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: vol, Size: 1, SchedulerHints: tc.hints}); err != nil {
				t.Fatal(err)
			}
			if status, host := st.status(vol); status != tc.status || host != tc.host {
				t.Errorf("volume %s on %q, want %s on %q", status, host, tc.status, tc.host)
			}
		})
	}
}
