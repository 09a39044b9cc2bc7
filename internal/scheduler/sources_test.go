package scheduler

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

func TestSourcePlacement(t *testing.T) {
	now := time.Now().UTC()
	const (
		vol  = "55555555-5555-4555-8555-555555555555"
		src  = "66666666-6666-4666-8666-666666666666"
		snap = "77777777-7777-4777-8777-777777777777"
		gone = "88888888-8888-4888-8888-888888888888"
	)
	// a@f has the most room and would win any ordinary placement; the sources are on b@f.
	healthy := []*resource.Service{svc("a@f", now, false), svc("b@f", now, false)}
	tests := []struct {
		name     string
		args     rpcapi.CreateVolumeArgs
		services []*resource.Service
		room     map[string]int // claims the database still takes, per pool
		bDown    bool           // b@f then reports its storage down
		want     string         // pool, or "" for error
		reason   string
	}{
		{name: "from a snapshot: the snapshot's pool", args: rpcapi.CreateVolumeArgs{SnapshotID: snap}, services: healthy, want: "b@f#p2"},
		{name: "a clone: the source's pool", args: rpcapi.CreateVolumeArgs{SourceVolID: src}, services: healthy, want: "b@f#p1"},
		{name: "source backend down", args: rpcapi.CreateVolumeArgs{SourceVolID: src},
			services: []*resource.Service{svc("a@f", now, false), svc("b@f", now.Add(-time.Hour), false)},
			reason:   "No valid backend: 0/0 pools fit; 1 service down (b@f) (a volume made from volume " + src + " is placed on the backend that holds it, b@f#p1)"},
		{name: "source backend reports its storage down", args: rpcapi.CreateVolumeArgs{SnapshotID: snap}, services: healthy, bDown: true,
			reason: "No valid backend: 0/1 pools fit — 1 on a backend that reports itself down (b@f) (a volume made from snapshot " + snap + " is placed on the backend that holds it, b@f#p2)"},
		{name: "source backend disabled", args: rpcapi.CreateVolumeArgs{SnapshotID: snap},
			services: []*resource.Service{svc("a@f", now, false), svc("b@f", now, true)},
			reason:   "1 service disabled (b@f)"},
		{name: "source pool full in the snapshot", args: rpcapi.CreateVolumeArgs{SourceVolID: src, Size: 60}, services: healthy,
			reason: "0/1 pools fit — 1 lacks capacity (needs 60 GiB, 50 GiB free)"},
		{name: "source pool full in the database", args: rpcapi.CreateVolumeArgs{SnapshotID: snap}, services: healthy,
			room: map[string]int{"b@f#p2": 0}, reason: "1 lacks capacity (needs 1 GiB, 0 GiB unclaimed)"},
		{name: "a retry never moves it", args: rpcapi.CreateVolumeArgs{SnapshotID: snap, Attempts: 1, TriedHosts: []string{"b@f#p2"}, LastError: "boom"},
			services: healthy, reason: "0/1 pools fit — 1 already failed this volume"},
		{name: "snapshot gone", args: rpcapi.CreateVolumeArgs{SnapshotID: gone}, services: healthy,
			reason: "No valid backend: snapshot " + gone + " no longer exists"},
		{name: "source volume gone", args: rpcapi.CreateVolumeArgs{SourceVolID: gone}, services: healthy,
			reason: "No valid backend: source volume " + gone + " no longer exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := max(tc.args.Size, 1)
			host := ""
			if tc.args.Attempts > 0 {
				host = "b@f#p2"
			}
			st := newTestStore(t)
			st.register(tc.services...)
			st.volume(resource.Volume{ID: vol, Size: size, Status: resource.StatusCreating, Host: host})
			st.volume(resource.Volume{ID: src, Size: 1, Status: resource.StatusAvailable, Host: "b@f#p1"})
			snapped := st.volume(resource.Volume{Size: 1, Status: resource.StatusAvailable, Host: "b@f#p2"})
			if _, err := st.CreateSnapshot(context.Background(), &resource.Snapshot{ID: snap, VolumeID: snapped.ID, ProjectID: "proj",
				UserID: "user", Status: resource.SnapshotAvailable}, []string{resource.StatusAvailable}); err != nil {
				t.Fatal(err)
			}
			q := newVolumeQueues(t, "a@f", "b@f")
			s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute, Transport: q.bus}
			reportTo(t, s, report("a@f", "nova", pool("p", 1000, 900, 0, false, "")),
				report("b@f", "nova", pool("p1", 100, 50, 0, false, ""), pool("p2", 100, 50, 0, false, "")))
			if tc.bDown {
				reportTo(t, s, report("b@f", "nova", down(pool("p1", 100, 50, 0, false, "")), down(pool("p2", 100, 50, 0, false, ""))))
			}
			st.setRoom(tc.room)
			args := tc.args
			args.VolumeID, args.Size = vol, size
			if err := s.CreateVolume(context.Background(), args); err != nil {
				t.Fatal(err)
			}
			status, placed := st.status(vol)
			// The claims by the pools table: the size on the pool placed on, none elsewhere.
			wantClaims := map[string]int64{"a@f#p": 0, "b@f#p1": 0, "b@f#p2": 0}
			if tc.want != "" {
				wantClaims[tc.want] = int64(size)
			}
			if got := st.claims(); !maps.Equal(got, wantClaims) {
				t.Errorf("claims %v, want %v", got, wantClaims)
			}
			if tc.want != "" {
				cast := q.casts(t, 1)
				if status != resource.StatusCreating || placed != tc.want || len(cast) != 1 || cast[0] != "b@f" {
					t.Fatalf("status %s, host %q, casts %v; want placed on %s", status, placed, cast, tc.want)
				}
				return
			}
			if cast := q.casts(t, 0); status != resource.StatusError || len(cast) != 0 {
				t.Fatalf("status %s, casts %v; want error and no cast", status, cast)
			}
			if ms := st.messages(); len(ms) != 1 || !strings.Contains(ms[0].Detail, tc.reason) {
				t.Fatalf("user messages %+v, want one saying %q", ms, tc.reason)
			}
		})
	}
}
