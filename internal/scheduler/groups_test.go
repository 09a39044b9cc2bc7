package scheduler

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// castLog is the real in-process bus with a consumer on each volume service queue and the
// scheduler queue, recording every method that arrives as "target: method".
type castLog struct {
	bus *rpc.Local
	mu  sync.Mutex
	got []string
}

func newCastLog(t *testing.T, hosts ...string) *castLog {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	c := &castLog{bus: rpc.NewLocal(log)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	targets := []rpc.Target{{Topic: rpc.TopicScheduler, Server: "sched"}}
	for _, h := range hosts {
		targets = append(targets, rpc.Target{Topic: rpc.TopicVolume, Server: h})
	}
	for _, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.bus.Serve(ctx, tg, func(_ context.Context, m *rpc.Message) (any, error) {
				c.mu.Lock()
				defer c.mu.Unlock()
				name := tg.Server
				if tg.Topic == rpc.TopicScheduler {
					name = "scheduler"
				}
				c.got = append(c.got, name+": "+m.Method)
				return nil, nil
			})
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return c
}

// wait returns what arrived once want messages did (or after 5s), and a moment more.
func (c *castLog) wait(want int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.got)
		c.mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// groupFixture is a store with two reporting backends: a@f (lots of room, backend name
// lvmbackend) and b@f (less room, backend name gold, consistent group snapshots).
type groupFixture struct {
	st    *testStore
	s     *Scheduler
	q     *castLog
	gtype string
	types map[string]string // volume type name → id
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	st := newTestStore(t)
	st.register(svc("a@f", now, false), svc("b@f", now, false))
	q := newCastLog(t, "a@f", "b@f")
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Transport: q.bus}
	gold := report("b@f", "nova", pool("p", 100, 50, 0, false, ""))
	gold.Stats.VolumeBackendName = "gold"
	gold.Stats.Extra = map[string]any{"consistent_group_snapshot_enabled": true}
	reportTo(t, s, report("a@f", "nova", pool("p", 1000, 900, 0, false, "")), gold)
	f := &groupFixture{st: st, s: s, q: q, types: map[string]string{}}
	for name, specs := range map[string]map[string]string{
		"any":    nil,
		"lvm":    {"volume_backend_name": "lvmbackend"},
		"gold":   {"volume_backend_name": "gold"},
		"silver": {"volume_backend_name": "silver"},
	} {
		vt := &resource.VolumeType{ID: uuid.NewString(), Name: name, IsPublic: true}
		if err := st.CreateVolumeType(ctx, vt); err != nil {
			t.Fatal(err)
		}
		if specs != nil {
			if err := st.SetVolumeTypeExtraSpecs(ctx, vt.ID, specs); err != nil {
				t.Fatal(err)
			}
		}
		f.types[name] = vt.ID
	}
	f.gtype = f.groupType(t, nil)
	return f
}

func (f *groupFixture) groupType(t *testing.T, specs map[string]string) string {
	t.Helper()
	id := uuid.NewString()
	at := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	if _, err := f.st.raw.Exec(`INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)`, id, "gt-"+id[:8], at); err != nil {
		t.Fatal(err)
	}
	for k, v := range specs {
		if _, err := f.st.raw.Exec("INSERT INTO group_type_specs (group_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)", id, k, v, at); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// group inserts a group in creating with the volume types named.
func (f *groupFixture) group(t *testing.T, gtype string, types ...string) *resource.Group {
	t.Helper()
	g := &resource.Group{ProjectID: "proj", UserID: "user", AvailabilityZone: "nova", GroupTypeID: gtype}
	for _, n := range types {
		g.VolumeTypeIDs = append(g.VolumeTypeIDs, f.types[n])
	}
	if _, err := f.st.CreateGroup(context.Background(), g, nil); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGroupPlacement(t *testing.T) {
	tests := []struct {
		name      string
		specs     map[string]string // of the group type
		types     []string
		want      string // backend, or "" for error
		reason    string
		zoneOther bool
	}{
		{name: "any type: the roomiest pool", types: []string{"any"}, want: "a@f"},
		{name: "every type must fit: only gold takes both", types: []string{"any", "gold"}, want: "b@f"},
		{name: "group specs are not capabilities (Cinder)", specs: map[string]string{"consistent_group_snapshot_enabled": "<is> True"}, types: []string{"any"}, want: "a@f"},
		{name: "types that fit different backends", types: []string{"lvm", "gold"}, reason: "No valid backend: 0/2 pools fit"},
		{name: "a type no backend has", types: []string{"silver"}, reason: "2 do not match volume_backend_name=silver"},
		{name: "another zone", types: []string{"any"}, zoneOther: true, reason: "in another availability zone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newGroupFixture(t)
			gt := f.gtype
			if tc.specs != nil {
				gt = f.groupType(t, tc.specs)
			}
			g := f.group(t, gt, tc.types...)
			if tc.zoneOther {
				if _, err := f.st.raw.Exec("UPDATE `groups` SET availability_zone = 'elsewhere' WHERE id = ?", g.ID); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.s.CreateGroup(context.Background(), rpcapi.GroupArgs{GroupID: g.ID}); err != nil {
				t.Fatal(err)
			}
			got, err := f.st.GetGroup(context.Background(), g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				casts := f.q.wait(1)
				if got.Status != resource.GroupStatusCreating || rpcapi.BackendHost(got.Host) != tc.want ||
					len(casts) != 1 || casts[0] != tc.want+": "+rpcapi.CreateGroup {
					t.Fatalf("group %s on %q, casts %v; want placed on %s and create_group cast there", got.Status, got.Host, casts, tc.want)
				}
				// A redelivery goes to the same backend and changes nothing.
				if err := f.s.CreateGroup(context.Background(), rpcapi.GroupArgs{GroupID: g.ID}); err != nil {
					t.Fatal(err)
				}
				again, _ := f.st.GetGroup(context.Background(), g.ID)
				if casts := f.q.wait(2); again.Host != got.Host || len(casts) != 2 || casts[1] != casts[0] {
					t.Errorf("redelivery: host %q, casts %v", again.Host, casts)
				}
				return
			}
			if casts := f.q.wait(0); got.Status != resource.GroupStatusError || len(casts) != 0 {
				t.Fatalf("group %s, casts %v; want error and no cast", got.Status, casts)
			}
			ms := f.st.messages()
			if len(ms) != 1 || ms[0].ResourceType != resource.MessageResourceGroup || !strings.Contains(ms[0].Detail, tc.reason) {
				t.Fatalf("user messages %+v, want one for the group saying %q", ms, tc.reason)
			}
		})
	}
}

func TestVolumeIntoGroupGoesToTheGroupsBackend(t *testing.T) {
	f := newGroupFixture(t)
	ctx := context.Background()
	g := f.group(t, f.gtype, "any")
	if _, err := f.st.PlaceGroup(ctx, g.ID, "b@f#p"); err != nil {
		t.Fatal(err)
	}
	unplaced := f.group(t, f.gtype, "any")
	for _, tc := range []struct {
		name, group, want, reason string
	}{
		{"the group's backend, not the roomiest", g.ID, "b@f#p", ""},
		{"a group on no backend yet", unplaced.ID, "", "group " + unplaced.ID + " is on no backend yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := f.st.volume(resource.Volume{Size: 1, Status: resource.StatusCreating, GroupID: tc.group, VolumeTypeID: f.types["any"]})
			if err := f.s.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, VolumeTypeID: f.types["any"]}); err != nil {
				t.Fatal(err)
			}
			status, host := f.st.status(v.ID)
			if tc.want != "" && host != tc.want {
				t.Fatalf("placed on %q (%s), want %s", host, status, tc.want)
			}
			if tc.want == "" {
				if status != resource.StatusError {
					t.Fatalf("status %s, want error", status)
				}
				found := false
				for _, m := range f.st.messages() {
					found = found || strings.Contains(m.Detail, tc.reason)
				}
				if !found {
					t.Errorf("no user message saying %q: %+v", tc.reason, f.st.messages())
				}
			}
		})
	}
}

func TestRecoverUnplacedGroups(t *testing.T) {
	f := newGroupFixture(t)
	ctx := context.Background()
	lost := f.group(t, f.gtype, "any")
	queued := f.group(t, f.gtype, "any")
	placed := f.group(t, f.gtype, "any")
	if _, err := f.st.PlaceGroup(ctx, placed.ID, "a@f#p"); err != nil {
		t.Fatal(err)
	}
	// queued's create_group is still in the outbox: the relay sends it, not recovery.
	args, _ := json.Marshal(rpcapi.GroupArgs{GroupID: queued.ID})
	if _, err := f.st.TransitionGroup(ctx, queued.ID, []string{resource.GroupStatusCreating}, resource.GroupStatusCreating, nil,
		resource.OutboxMessage{Topic: rpc.TopicScheduler, Method: rpcapi.CreateGroup, Args: args, Context: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	n, err := f.s.Recover(ctx, f.st, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// Only the group whose message was lost goes to the scheduler again; the placed one is
	// its volume service's to finish.
	if casts := f.q.wait(1); n != 1 || len(casts) != 1 || casts[0] != "scheduler: "+rpcapi.CreateGroup {
		t.Fatalf("recovered %d, casts %v; want %s alone cast to the scheduler", n, casts, lost.ID)
	}
}
