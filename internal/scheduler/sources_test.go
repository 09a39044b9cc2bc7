package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/resource"
)

// snapshotStore is the fakeStore with snapshots (the scheduler's SnapshotGetter).
type snapshotStore struct {
	*fakeStore
	snapshots map[string]*resource.Snapshot
}

func (s *snapshotStore) GetSnapshot(_ context.Context, id string) (*resource.Snapshot, error) {
	sn, ok := s.snapshots[id]
	if !ok {
		return nil, &resource.NotFoundError{Kind: "Snapshot", ID: id}
	}
	return sn, nil
}

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
		args     message.CreateVolumeArgs
		services []*resource.Service
		room     map[string]int // claims the database still takes, per pool
		want     string         // pool, or "" for error
		reason   string
	}{
		{name: "from a snapshot: the snapshot's pool", args: message.CreateVolumeArgs{SnapshotID: snap}, services: healthy, want: "b@f#p2"},
		{name: "a clone: the source's pool", args: message.CreateVolumeArgs{SourceVolID: src}, services: healthy, want: "b@f#p1"},
		{name: "source backend down", args: message.CreateVolumeArgs{SourceVolID: src},
			services: []*resource.Service{svc("a@f", now, false), svc("b@f", now.Add(-time.Hour), false)},
			reason:   "No valid backend: 0/0 pools fit; 1 service down (b@f) (a volume made from volume " + src + " is placed on the backend that holds it, b@f#p1)"},
		{name: "source backend disabled", args: message.CreateVolumeArgs{SnapshotID: snap},
			services: []*resource.Service{svc("a@f", now, false), svc("b@f", now, true)},
			reason:   "1 service disabled (b@f)"},
		{name: "source pool full in the snapshot", args: message.CreateVolumeArgs{SourceVolID: src, Size: 60}, services: healthy,
			reason: "0/1 pools fit — 1 lacks capacity (needs 60 GiB, 50 GiB free)"},
		{name: "source pool full in the database", args: message.CreateVolumeArgs{SnapshotID: snap}, services: healthy,
			room: map[string]int{"b@f#p2": 0}, reason: "1 lacks capacity (needs 1 GiB, 0 GiB unclaimed)"},
		{name: "a retry never moves it", args: message.CreateVolumeArgs{SnapshotID: snap, Attempts: 1, TriedHosts: []string{"b@f#p2"}, LastError: "boom"},
			services: healthy, reason: "0/1 pools fit — 1 already failed this volume"},
		{name: "snapshot gone", args: message.CreateVolumeArgs{SnapshotID: gone}, services: healthy,
			reason: "No valid backend: snapshot " + gone + " no longer exists"},
		{name: "source volume gone", args: message.CreateVolumeArgs{SourceVolID: gone}, services: healthy,
			reason: "No valid backend: source volume " + gone + " no longer exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := max(tc.args.Size, 1)
			host := ""
			if tc.args.Attempts > 0 {
				host = "b@f#p2"
			}
			st := &snapshotStore{
				fakeStore: &fakeStore{
					volumes: map[string]*resource.Volume{
						vol: {ID: vol, ProjectID: "proj", Size: size, Status: resource.StatusCreating, Host: host},
						src: {ID: src, Size: 1, Status: resource.StatusAvailable, Host: "b@f#p1"},
					},
					services: tc.services,
					room:     tc.room,
				},
				snapshots: map[string]*resource.Snapshot{snap: {ID: snap, Host: "b@f#p2", Status: resource.SnapshotAvailable}},
			}
			var cast []string
			s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute,
				Transport: castRecorder(func(server string) { cast = append(cast, server) })}
			s.UpdateCapabilities(report("a@f", "nova", pool("p", 1000, 900, 0, false, "")))
			s.UpdateCapabilities(report("b@f", "nova", pool("p1", 100, 50, 0, false, ""), pool("p2", 100, 50, 0, false, "")))
			args := tc.args
			args.VolumeID, args.Size = vol, size
			if err := s.CreateVolume(context.Background(), args); err != nil {
				t.Fatal(err)
			}
			v, _ := st.GetVolume(context.Background(), vol)
			if tc.want != "" {
				if v.Status != resource.StatusCreating || v.Host != tc.want || len(cast) != 1 || cast[0] != "b@f" {
					t.Fatalf("status %s, host %q, casts %v; want placed on %s", v.Status, v.Host, cast, tc.want)
				}
				if c := st.claims[len(st.claims)-1]; c.Pool != tc.want || c.Size != size {
					t.Errorf("claim %+v, want %d GiB on %s", c, size, tc.want)
				}
				return
			}
			if v.Status != resource.StatusError || len(cast) != 0 {
				t.Fatalf("status %s, casts %v; want error and no cast", v.Status, cast)
			}
			if len(st.messages) != 1 || !strings.Contains(st.messages[0].Detail, tc.reason) {
				t.Fatalf("user messages %+v, want one saying %q", st.messages, tc.reason)
			}
		})
	}
}

func TestCapabilitiesFit(t *testing.T) {
	caps := map[string]any{"volume_backend_name": "lvm", "thin_provisioning_support": true, "pool_name": "p", "custom": "x"}
	tests := []struct {
		specs map[string]string
		ok    bool
		why   string
	}{
		{nil, true, ""},
		{map[string]string{"volume_backend_name": "lvm", "qos:read_iops": "100"}, true, ""},
		{map[string]string{"capabilities:thin_provisioning_support": "<is> True"}, true, ""},
		{map[string]string{"volume_backend_name": "gold"}, false, "does not match volume_backend_name=gold"},
		{map[string]string{"replication_enabled": "<is> True"}, false, "has no capability replication_enabled"},
		{map[string]string{"custom": "y"}, false, "does not match custom=y"},
	}
	for _, tc := range tests {
		ok, why := CapabilitiesFit(caps, tc.specs)
		if ok != tc.ok || why != tc.why {
			t.Errorf("%v: %v %q, want %v %q", tc.specs, ok, why, tc.ok, tc.why)
		}
	}
}
