package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/pkg/driver"
)

// claimFixture is a scheduler over a fake store with pools a@f#p (90 GiB free: the
// CapacityWeigher's first choice) and b@f#p (50 GiB free), and one volume of 10 GiB in
// creating; room is the claims table's room per pool.
func claimFixture(t *testing.T, opts Options, room map[string]int, host string) (*Scheduler, *fakeStore, *[]string) {
	t.Helper()
	now := time.Now().UTC()
	pl, err := NewPipeline(opts)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{
		volumes:  map[string]*resource.Volume{vol1: {ID: vol1, Size: 10, Status: resource.StatusCreating, Host: host}},
		services: []*resource.Service{svc("a@f", now, false), svc("b@f", now, false)},
		room:     room,
	}
	var cast []string
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Pipeline: pl,
		Transport: castRecorder(func(server string) { cast = append(cast, server) })}
	s.UpdateCapabilities(report("a@f", "nova", pool("p", 100, 90, 0, false, "")))
	s.UpdateCapabilities(report("b@f", "nova", pool("p", 100, 50, 0, false, "")))
	return s, st, &cast
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
			s, st, cast := claimFixture(t, tc.opts, tc.room, tc.host)
			args := message.CreateVolumeArgs{VolumeID: vol1, Size: 10, Attempts: tc.attempts}
			if tc.host != "" {
				args.TriedHosts = []string{tc.host}
			}
			if tc.reason != "" {
				// The sentence, as the failure logs it.
				r := NewRequest(args, 10)
				_, err := s.place(context.Background(), logrus.NewEntry(s.Log.(*logrus.Logger)), r, st.services, tc.host)
				var nv *NoValidBackendError
				if !errors.As(err, &nv) || !strings.Contains(nv.Reason, tc.reason) {
					t.Fatalf("place: %v; want a sentence with %q", err, tc.reason)
				}
			}
			if err := s.CreateVolume(context.Background(), args); err != nil {
				t.Fatal(err)
			}
			v, _ := st.GetVolume(context.Background(), vol1)
			if tc.want == "" {
				if v.Status != resource.StatusError || len(*cast) != 0 {
					t.Fatalf("status %s, host %q, casts %v; want error and no cast", v.Status, v.Host, *cast)
				}
				return
			}
			if v.Host != tc.want || len(*cast) != 1 || (*cast)[0] != message.BackendHost(tc.want) {
				t.Fatalf("host %q, casts %v; want %s", v.Host, *cast, tc.want)
			}
			last := st.claims[len(st.claims)-1]
			if last.FromHost != tc.host || last.Pool != tc.want || last.Size != 10 {
				t.Errorf("claim %+v, want from %q to %s of 10 GiB", last, tc.host, tc.want)
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

// TestRecordPools: a capability report reaches the claims table with the figures the
// CapacityFilter uses.
func TestRecordPools(t *testing.T) {
	st := &fakeStore{}
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
	if _, err := s.Handle(context.Background(), &rpc.Message{Method: message.UpdateCapabilities, Args: b}); err != nil {
		t.Fatal(err)
	}
	total := func(name string) string {
		p, ok := st.pools["a@f#"+name]
		switch {
		case !ok:
			return "missing"
		case p.TotalGB == nil:
			return "none"
		}
		return strconv.FormatFloat(*p.TotalGB, 'f', -1, 64)
	}
	for name, want := range map[string]string{"thick": "100", "thin": "100", "inf": "none", "unknowntotal": "none", "unknownreserved": "0", "bad": "100"} {
		if got := total(name); got != want {
			t.Errorf("pool %s: total %s, want %s", name, got, want)
		}
	}
	if p := st.pools["a@f#thick"]; p.ReservedPercentage != 10 || p.Thin || p.Ratio != 1 || p.Backend != "a@f" {
		t.Errorf("thick pool: %+v", p)
	}
	if p := st.pools["a@f#thin"]; !p.Thin || p.Ratio != 20 {
		t.Errorf("thin pool with auto: %+v, want ratio 20", p)
	}
	if p := st.pools["a@f#bad"]; !math.IsNaN(p.Ratio) {
		t.Errorf("invalid ratio: %v, want NaN", p.Ratio)
	}
}
