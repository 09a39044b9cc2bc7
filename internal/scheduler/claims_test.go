package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// claimFixture is a scheduler over a real store with pools a@f#p (90 GiB free: the
// CapacityWeigher's first choice) and b@f#p (50 GiB free), and one volume of 10 GiB in
// creating, placed on host (its claim held there) unless host is ""; room is what each pool
// still takes in claims by the pools table.
func claimFixture(t *testing.T, opts Options, room map[string]int, host string) (*Scheduler, *testStore, *volumeQueues) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	pl, err := NewPipeline(opts)
	if err != nil {
		t.Fatal(err)
	}
	st := newTestStore(t)
	st.register(svc("a@f", now, false), svc("b@f", now, false))
	st.volume(resource.Volume{ID: vol1, Size: 10, Status: resource.StatusCreating})
	q := newVolumeQueues(t, "a@f", "b@f")
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Pipeline: pl, Transport: q.bus}
	reportTo(t, s, report("a@f", "nova", pool("p", 100, 90, 0, false, "")), report("b@f", "nova", pool("p", 100, 50, 0, false, "")))
	if host != "" {
		if res, err := st.ClaimPlacement(ctx, resource.Claim{VolumeID: vol1, Pool: host, Size: 10, Thick: true}); err != nil || !res.Claimed {
			t.Fatalf("place the volume on %s first: %+v, %v", host, res, err)
		}
	}
	st.setRoom(room)
	return s, st, q
}

const vol1 = "11111111-1111-4111-8111-111111111111"

// TestClaimReplan: a pool whose claim the database refuses is marked full and the plan is
// made again on the rest, as Nomad's plan-apply re-checks a plan against the latest state.
func TestClaimReplan(t *testing.T) {
	noCapacityFilter := DefaultOptions()
	noCapacityFilter.Filters = []string{"AvailabilityZoneFilter"}
	tests := []struct {
		name     string
		opts     Options
		room     map[string]int
		host     string // the volume's host now: a retry moves the claim from it
		attempts int
		want     string // the host the volume ends on; "" for error
		reason   string // part of the failure's sentence
	}{
		{name: "room on the first choice", opts: DefaultOptions(), room: map[string]int{"a@f#p": 10}, want: "a@f#p"},
		{name: "first choice full: the next pool", opts: DefaultOptions(), room: map[string]int{"a@f#p": 9}, want: "b@f#p"},
		{name: "every pool full", opts: DefaultOptions(), room: map[string]int{"a@f#p": 0, "b@f#p": 5},
			reason: "No valid backend: 0/2 pools fit — 2 lack capacity (needs 10 GiB, at most 5 GiB unclaimed)"},
		{name: "without the CapacityFilter too", opts: noCapacityFilter, room: map[string]int{"a@f#p": 0, "b@f#p": 0},
			reason: "2 lack capacity (needs 10 GiB, at most 0 GiB unclaimed)"},
		{name: "a retry moves the claim", opts: DefaultOptions(), room: map[string]int{"a@f#p": 0, "b@f#p": 10},
			host: "a@f#p", attempts: 1, want: "b@f#p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, st, q := claimFixture(t, tc.opts, tc.room, tc.host)
			args := rpcapi.CreateVolumeArgs{VolumeID: vol1, Size: 10, Attempts: tc.attempts}
			if tc.host != "" {
				args.TriedHosts = []string{tc.host}
			}
			if tc.reason != "" {
				// The sentence, as the failure logs it.
				r := NewRequest(args, 10)
				services, err := st.ListServices(context.Background(), resource.ServiceFilter{Binary: resource.BinaryVolume})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.place(context.Background(), logrus.NewEntry(s.Log.(*logrus.Logger)), r, services, tc.host)
				var nv *NoValidBackendError
				if !errors.As(err, &nv) || !strings.Contains(nv.Reason, tc.reason) {
					t.Fatalf("place: %v; want a sentence with %q", err, tc.reason)
				}
			}
			if err := s.CreateVolume(context.Background(), args); err != nil {
				t.Fatal(err)
			}
			status, host := st.status(vol1)
			// The claims by the pools table: 10 GiB on the pool the volume ends on, none
			// anywhere else (a retry gave back what the failed pool held).
			wantClaims := map[string]int64{"a@f#p": 0, "b@f#p": 0}
			if tc.want != "" {
				wantClaims[tc.want] = 10
			}
			if got := st.claims(); !maps.Equal(got, wantClaims) {
				t.Errorf("claims %v, want %v", got, wantClaims)
			}
			if tc.want == "" {
				if cast := q.casts(t, 0); status != resource.StatusError || len(cast) != 0 {
					t.Fatalf("status %s, host %q, casts %v; want error and no cast", status, host, cast)
				}
				return
			}
			if cast := q.casts(t, 1); status != resource.StatusCreating || host != tc.want || len(cast) != 1 || cast[0] != rpcapi.BackendHost(tc.want) {
				t.Fatalf("status %s, host %q, casts %v; want creating on %s", status, host, cast, tc.want)
			}
			// What the refused claims consumed in memory was given back.
			for _, b := range s.backends {
				for _, p := range b.pools {
					if want := map[bool]float64{true: 10}[p.Name == tc.want]; p.consumed != want {
						t.Errorf("%s consumed %v in memory, want %v", p.Name, p.consumed, want)
					}
				}
			}
		})
	}
}

// TestClaimRefusedOnBackendDown: a backend that reported itself down after the scheduler's
// snapshot (another scheduler recorded the report) refuses the claim in the database; the
// placement goes to the other pool, and with none left the sentence says the backend is down.
func TestClaimRefusedOnBackendDown(t *testing.T) {
	markDown := func(t *testing.T, st *testStore, name string) {
		t.Helper()
		p, err := st.GetPool(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.UpsertPool(context.Background(), resource.PoolCapacity{Name: name, Backend: p.Backend, Down: true,
			ReportedAt: p.ReportedAt.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("the next pool", func(t *testing.T) {
		s, st, q := claimFixture(t, DefaultOptions(), nil, "")
		markDown(t, st, "a@f#p") // the snapshot still says up, and a@f#p has the most free
		if err := s.CreateVolume(context.Background(), rpcapi.CreateVolumeArgs{VolumeID: vol1, Size: 10}); err != nil {
			t.Fatal(err)
		}
		cast := q.casts(t, 1)
		if status, host := st.status(vol1); status != resource.StatusCreating || host != "b@f#p" || len(cast) != 1 || cast[0] != "b@f" {
			t.Fatalf("status %s, host %q, casts %v; want creating on b@f#p", status, host, cast)
		}
	})
	t.Run("none left", func(t *testing.T) {
		s, st, q := claimFixture(t, DefaultOptions(), nil, "")
		markDown(t, st, "a@f#p")
		markDown(t, st, "b@f#p")
		r := NewRequest(rpcapi.CreateVolumeArgs{VolumeID: vol1, Size: 10}, 10)
		services, err := st.ListServices(context.Background(), resource.ServiceFilter{Binary: resource.BinaryVolume})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.place(context.Background(), logrus.NewEntry(s.Log.(*logrus.Logger)), r, services, "")
		want := "No valid backend: 0/2 pools fit — 2 on backends that report themselves down (a@f, b@f)"
		var nv *NoValidBackendError
		if !errors.As(err, &nv) || nv.Reason != want {
			t.Fatalf("place: %v; want %q", err, want)
		}
		if cast := q.casts(t, 0); len(cast) != 0 {
			t.Errorf("casts %v, want none", cast)
		}
	})
}

// TestRecordPools: a capability report reaches the claims table with the figures the
// CapacityFilter uses.
func TestRecordPools(t *testing.T) {
	st := newTestStore(t)
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute}
	rep := report("a@f", "nova",
		with(pool("thick", 100, 50, 0, false, ""), func(p *driver.Pool) { p.ReservedPercentage = 10 }),
		pool("thin", 100, 50, 0, true, "auto"),
		pool("inf", 0, 0, 0, false, ""),
		pool("unknowntotal", 0, 10, 0, false, ""),
		with(pool("unknownreserved", 0, 10, 0, false, ""), func(p *driver.Pool) { p.ReservedPercentage = 5 }),
		pool("bad", 100, 50, 0, true, "lots"),
	)
	rep.Stats.Pools[2].FreeCapacityGB = driver.Infinite
	rep.Stats.Pools[3].TotalCapacityGB = driver.Unknown
	rep.Stats.Pools[4].TotalCapacityGB = driver.Unknown
	b, _ := json.Marshal(rep)
	if _, err := s.Handle(context.Background(), &rpc.Message{Method: rpcapi.UpdateCapabilities, Args: b}); err != nil {
		t.Fatal(err)
	}
	recorded := func(name string) resource.PoolCapacity {
		p, err := st.GetPool(context.Background(), "a@f#"+name)
		if err != nil {
			t.Fatalf("pool %s: %v", name, err)
		}
		return p.PoolCapacity
	}
	total := func(name string) string {
		if p := recorded(name); p.TotalGB != nil {
			return strconv.FormatFloat(*p.TotalGB, 'f', -1, 64)
		}
		return "none"
	}
	for name, want := range map[string]string{"thick": "100", "thin": "100", "inf": "none", "unknowntotal": "none", "unknownreserved": "0", "bad": "100"} {
		if got := total(name); got != want {
			t.Errorf("pool %s: total %s, want %s", name, got, want)
		}
	}
	if p := recorded("thick"); p.ReservedPercentage != 10 || p.Thin || p.Ratio != 1 || p.Backend != "a@f" {
		t.Errorf("thick pool: %+v", p)
	}
	if p := recorded("thin"); !p.Thin || p.Ratio != 20 {
		t.Errorf("thin pool with auto: %+v, want ratio 20", p)
	}
	if p := recorded("bad"); !math.IsNaN(p.Ratio) {
		t.Errorf("invalid ratio: %v, want NaN", p.Ratio)
	}
}

// TestGroupMembersClaimsSeenByPlacement: the members of a group made from a source claim
// capacity on the group's pool in the database as they are written, without the scheduler;
// a placement made afterwards from a snapshot that does not know of them is refused there
// by the database and goes to the other pool, as after any other placement.
func TestGroupMembersClaimsSeenByPlacement(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []int // sizes of the group's members on a@f#p
		want    string
	}{
		{"no group", nil, "a@f#p"},
		{"members leave room", []int{5, 5}, "a@f#p"},
		{"members fill the pool", []int{10, 6}, "b@f#p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, st, q := claimFixture(t, DefaultOptions(), map[string]int{"a@f#p": 25, "b@f#p": 50}, "")
			if len(tc.members) > 0 {
				gtype := "0b0b0b0b-0000-4000-8000-000000000001"
				if _, err := st.raw.Exec("INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, 'gt', 1, ?, 0)",
					gtype, time.Now().UTC().Format("2006-01-02 15:04:05.000000")); err != nil {
					t.Fatal(err)
				}
				g := &resource.Group{ProjectID: "proj", UserID: "user", AvailabilityZone: "nova", Host: "a@f#p", GroupTypeID: gtype}
				var members []*resource.Volume
				for _, size := range tc.members {
					members = append(members, &resource.Volume{ProjectID: "proj", UserID: "user", Size: size, Host: "a@f#p",
						Status: resource.StatusCreating, SourceVolID: vol1, Metadata: map[string]string{}})
				}
				if _, err := st.CreateGroup(ctx, g, members); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: vol1, Size: 10}); err != nil {
				t.Fatal(err)
			}
			if status, host := st.status(vol1); status != resource.StatusCreating || host != tc.want {
				t.Fatalf("volume %s on %q, want creating on %s", status, host, tc.want)
			}
			q.casts(t, 1)
			held := 0
			for _, n := range tc.members {
				held += n
			}
			wantA := int64(held)
			if tc.want == "a@f#p" {
				wantA += 10
			}
			if got := st.allocated("a@f#p"); got != wantA {
				t.Errorf("a@f#p holds %d GiB, want %d", got, wantA)
			}
		})
	}
}
