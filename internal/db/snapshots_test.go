package db

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// snapFixture is a volume on a backend with its snapshots, made through the store.
type snapFixture struct {
	t   *testing.T
	s   *Store
	vol *resource.Volume
}

func newSnapFixture(t *testing.T, s *Store, project string, change ...func(*resource.Volume)) *snapFixture {
	t.Helper()
	v := volume(project, append([]func(*resource.Volume){func(v *resource.Volume) { v.Host = "h@b#p" }}, change...)...)
	mustCreate(t, s, v)
	return &snapFixture{t: t, s: s, vol: v}
}

// snap creates a snapshot of the fixture's volume and moves it to status.
func (f *snapFixture) snap(name, status string, md map[string]string) *resource.Snapshot {
	f.t.Helper()
	sn := &resource.Snapshot{ProjectID: f.vol.ProjectID, UserID: f.vol.UserID, VolumeID: f.vol.ID, Name: name, Metadata: md}
	if _, err := f.s.CreateSnapshot(context.Background(), sn, []string{resource.StatusAvailable, resource.StatusInUse}); err != nil {
		f.t.Fatal(err)
	}
	if status != resource.SnapshotCreating {
		if err := f.s.ResetSnapshotStatus(context.Background(), sn.ID, status); err != nil {
			f.t.Fatal(err)
		}
		sn.Status = status
	}
	time.Sleep(2 * time.Millisecond) // distinct created_at
	return sn
}

func snapIDs(snaps []*resource.Snapshot) []string {
	out := []string{}
	for _, sn := range snaps {
		out = append(out, sn.ID)
	}
	return out
}

func getSnap(t *testing.T, s *Store, id string) *resource.Snapshot {
	t.Helper()
	sn, err := s.GetSnapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

func TestListSnapshotsFiltersSortAndPages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newSnapFixture(t, s, "p1")
		other := newSnapFixture(t, s, "p2")
		a := f.snap("b", resource.SnapshotAvailable, map[string]string{"k": "v", "x": "1"})
		b := f.snap("a", resource.SnapshotError, map[string]string{"k": "v"})
		c := f.snap("", resource.SnapshotAvailable, nil) // no name: NULL
		d := other.snap("a", resource.SnapshotAvailable, nil)

		tests := []struct {
			name string
			f    resource.SnapshotFilter
			want []string
		}{
			{"all newest first", resource.SnapshotFilter{}, []string{d.ID, c.ID, b.ID, a.ID}},
			{"project", resource.SnapshotFilter{ProjectID: "p1"}, []string{c.ID, b.ID, a.ID}},
			{"volume", resource.SnapshotFilter{VolumeID: other.vol.ID}, []string{d.ID}},
			{"name", resource.SnapshotFilter{Name: "a"}, []string{d.ID, b.ID}},
			{"status", resource.SnapshotFilter{Status: resource.SnapshotError}, []string{b.ID}},
			{"metadata one", resource.SnapshotFilter{Metadata: map[string]string{"k": "v"}}, []string{b.ID, a.ID}},
			{"metadata all", resource.SnapshotFilter{Metadata: map[string]string{"k": "v", "x": "1"}}, []string{a.ID}},
			{"metadata value differs", resource.SnapshotFilter{Metadata: map[string]string{"k": "w"}}, []string{}},
			{"limit", resource.SnapshotFilter{Limit: 2}, []string{d.ID, c.ID}},
			{"marker", resource.SnapshotFilter{Marker: c.ID, Limit: 2}, []string{b.ID, a.ID}},
			{"name like, any case", resource.SnapshotFilter{NameLike: "A"}, []string{d.ID, b.ID}},
			{"name like escapes _", resource.SnapshotFilter{NameLike: "_"}, []string{}},
			{"offset", resource.SnapshotFilter{Offset: 1}, []string{c.ID, b.ID, a.ID}},
			{"offset and limit", resource.SnapshotFilter{Offset: 1, Limit: 2}, []string{c.ID, b.ID}},
			{"offset after marker", resource.SnapshotFilter{Marker: d.ID, Offset: 2}, []string{a.ID}},
			{"oldest first", resource.SnapshotFilter{Sort: []resource.SnapshotSort{{Key: "created_at"}}}, []string{a.ID, b.ID, c.ID, d.ID}},
			{"by name asc, NULL first", resource.SnapshotFilter{ProjectID: "p1", Sort: []resource.SnapshotSort{{Key: "display_name"}}},
				[]string{c.ID, b.ID, a.ID}},
			{"by name desc, NULL last", resource.SnapshotFilter{ProjectID: "p1", Sort: []resource.SnapshotSort{{Key: "display_name", Desc: true}}},
				[]string{a.ID, b.ID, c.ID}},
			{"by name asc after NULL marker", resource.SnapshotFilter{ProjectID: "p1", Marker: c.ID, Sort: []resource.SnapshotSort{{Key: "display_name"}}},
				[]string{b.ID, a.ID}},
			{"by name desc after NULL marker", resource.SnapshotFilter{ProjectID: "p1", Marker: c.ID, Sort: []resource.SnapshotSort{{Key: "display_name", Desc: true}}},
				[]string{}},
			{"by name desc after named marker", resource.SnapshotFilter{ProjectID: "p1", Marker: a.ID, Sort: []resource.SnapshotSort{{Key: "display_name", Desc: true}}},
				[]string{b.ID, c.ID}},
			{"by status then name", resource.SnapshotFilter{Sort: []resource.SnapshotSort{{Key: "status"}, {Key: "display_name", Desc: true}}},
				[]string{a.ID, d.ID, c.ID, b.ID}},
			{"by status then name after marker", resource.SnapshotFilter{Marker: d.ID, Sort: []resource.SnapshotSort{{Key: "status"}, {Key: "display_name", Desc: true}}},
				[]string{c.ID, b.ID}},
			{"by size, ties by created_at", resource.SnapshotFilter{Marker: b.ID, Sort: []resource.SnapshotSort{{Key: "volume_size"}}}, []string{c.ID, d.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListSnapshots(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if g := snapIDs(got); !slices.Equal(g, tt.want) {
					t.Errorf("got %v, want %v", g, tt.want)
				}
				n, err := s.CountSnapshots(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				all := tt.f
				all.Limit, all.Offset, all.Marker, all.Sort = 0, 0, "", nil
				every, _ := s.ListSnapshots(ctx, all)
				if n != len(every) {
					t.Errorf("CountSnapshots = %d, want %d", n, len(every))
				}
			})
		}
		if got, _ := s.ListSnapshots(ctx, resource.SnapshotFilter{}); !maps.Equal(got[3].Metadata, map[string]string{"k": "v", "x": "1"}) {
			t.Errorf("metadata of %s = %v", got[3].ID, got[3].Metadata)
		}
		t.Run("errors", func(t *testing.T) {
			_, err := s.ListSnapshots(ctx, resource.SnapshotFilter{Marker: "nope"})
			wantNotFound(t, err, "Marker", "nope")
			_, err = s.ListSnapshots(ctx, resource.SnapshotFilter{ProjectID: "p1", Marker: d.ID})
			wantNotFound(t, err, "Marker", d.ID)
			if _, err := s.ListSnapshots(ctx, resource.SnapshotFilter{Sort: []resource.SnapshotSort{{Key: "size; DROP TABLE x"}}}); !errors.Is(err, resource.ErrInvalidState) {
				t.Errorf("bad sort key: err = %v", err)
			}
		})
	})
}

func TestListSnapshotsByHostAndCount(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f1 := newSnapFixture(t, s, "p", func(v *resource.Volume) { v.Host = "h@b#p1" })
		f2 := newSnapFixture(t, s, "p", func(v *resource.Volume) { v.Host = "h@b" })
		f3 := newSnapFixture(t, s, "p", func(v *resource.Volume) { v.Host = "h@bb#p1" })
		a := f1.snap("a", resource.SnapshotCreating, nil)
		b := f2.snap("b", resource.SnapshotDeleting, nil)
		f2.snap("c", resource.SnapshotAvailable, nil)
		f3.snap("d", resource.SnapshotCreating, nil)
		got, err := s.ListSnapshotsByHost(ctx, "h@b", []string{resource.SnapshotCreating, resource.SnapshotDeleting})
		if err != nil {
			t.Fatal(err)
		}
		if g := snapIDs(got); !slices.Equal(g, []string{a.ID, b.ID}) {
			t.Errorf("ListSnapshotsByHost = %v, want %v", g, []string{a.ID, b.ID})
		}
		if got, _ := s.ListSnapshotsByHost(ctx, "h@b", nil); len(got) != 3 {
			t.Errorf("any status: %d snapshots, want 3", len(got))
		}
		for vol, want := range map[string]int{f1.vol.ID: 1, f2.vol.ID: 2, "none": 0} {
			if n, err := s.CountVolumeSnapshots(ctx, vol); err != nil || n != want {
				t.Errorf("CountVolumeSnapshots(%s) = %d, %v; want %d", vol, n, err, want)
			}
		}
	})
}

func TestUpdateSnapshotAndMetadata(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newSnapFixture(t, s, "p")
		sn := f.snap("n", resource.SnapshotAvailable, map[string]string{"a": "1", "b": "2"})

		got, err := s.UpdateSnapshot(ctx, sn.ID, resource.SnapshotUpdate{Name: ptr("new"), Description: ptr("")})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "new" || got.Description != "" || got.UpdatedAt == nil || got.Metadata["a"] != "1" {
			t.Errorf("after update: %+v", got)
		}
		if got, _ := s.UpdateSnapshot(ctx, sn.ID, resource.SnapshotUpdate{Description: ptr("d")}); got.Name != "new" || got.Description != "d" {
			t.Errorf("a description-only update changed the name: %+v", got)
		}

		md, err := s.SetSnapshotMetadata(ctx, sn.ID, map[string]string{"b": "3", "c": "4"}, false)
		if err != nil || !maps.Equal(md, map[string]string{"a": "1", "b": "3", "c": "4"}) {
			t.Errorf("merge = %v, %v", md, err)
		}
		md, err = s.SetSnapshotMetadata(ctx, sn.ID, map[string]string{"z": "9"}, true)
		if err != nil || !maps.Equal(md, map[string]string{"z": "9"}) {
			t.Errorf("replace = %v, %v", md, err)
		}
		if err := s.DeleteSnapshotMetadata(ctx, sn.ID, "z"); err != nil {
			t.Fatal(err)
		}
		if md := getSnap(t, s, sn.ID).Metadata; len(md) != 0 {
			t.Errorf("after delete: %v", md)
		}
		var mnf *resource.SnapshotMetadataNotFoundError
		if err := s.DeleteSnapshotMetadata(ctx, sn.ID, "z"); !errors.As(err, &mnf) || !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("delete of a missing key: %v", err)
		}

		const missing = "00000000-0000-0000-0000-000000000000"
		_, err = s.UpdateSnapshot(ctx, missing, resource.SnapshotUpdate{Name: ptr("x")})
		wantNotFound(t, err, "Snapshot", missing)
		_, err = s.SetSnapshotMetadata(ctx, missing, map[string]string{"a": "b"}, false)
		wantNotFound(t, err, "Snapshot", missing)
		wantNotFound(t, s.DeleteSnapshotMetadata(ctx, missing, "a"), "Snapshot", missing)
		wantNotFound(t, s.ResetSnapshotStatus(ctx, missing, "error"), "Snapshot", missing)
	})
}

func TestSnapshotStatusChanges(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newSnapFixture(t, s, "p")
		sn := f.snap("n", resource.SnapshotCreating, nil)
		if err := s.UpdateSnapshotStatus(ctx, sn.ID, resource.SnapshotCreating, resource.SnapshotCreating, "42%"); err != nil {
			t.Fatal(err)
		}
		if got := getSnap(t, s, sn.ID); got.Progress != "42%" || got.Status != resource.SnapshotCreating {
			t.Errorf("after progress update: %s %s", got.Status, got.Progress)
		}
		err := s.UpdateSnapshotStatus(ctx, sn.ID, resource.SnapshotDeleting, resource.SnapshotErrorDeleting, "")
		wantInvalidState(t, err, sn.ID, resource.SnapshotCreating)
		if err := s.ResetSnapshotStatus(ctx, sn.ID, resource.SnapshotErrorDeleting); err != nil {
			t.Fatal(err)
		}
		if got := getSnap(t, s, sn.ID); got.Status != resource.SnapshotErrorDeleting || got.Progress != "42%" {
			t.Errorf("after reset: %s %s", got.Status, got.Progress)
		}
	})
}

func TestStartVolumeDelete(t *testing.T) {
	ctx := context.Background()
	deletable := resource.DeletableStatuses
	tests := []struct {
		name      string
		snaps     []string // statuses of the volume's snapshots
		d         resource.VolumeDelete
		wantErr   string // "snapshots", "state" or ""
		wantSnaps string // the snapshots' status afterwards
	}{
		{"no snapshots", nil, resource.VolumeDelete{From: deletable}, "", ""},
		{"snapshots without cascade", []string{"available"}, resource.VolumeDelete{From: deletable}, "snapshots", "available"},
		{"cascade", []string{"available", "error", "deleting"}, resource.VolumeDelete{From: deletable, Cascade: true, SnapshotFrom: resource.SnapshotCascadeStatuses}, "", "deleting"},
		{"cascade refused by a creating snapshot", []string{"available", "creating"}, resource.VolumeDelete{From: deletable, Cascade: true, SnapshotFrom: resource.SnapshotCascadeStatuses}, "snapshots", ""},
		{"force cascade takes any", []string{"creating", "error_deleting"}, resource.VolumeDelete{From: deletable, Cascade: true}, "", "deleting"},
		{"volume in a wrong status", nil, resource.VolumeDelete{From: []string{"error"}}, "state", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				f := newSnapFixture(t, s, "p")
				var snaps []*resource.Snapshot
				for i, st := range tt.snaps {
					snaps = append(snaps, f.snap(fmt.Sprint(i), st, nil))
				}
				d := tt.d
				d.VolumeID = f.vol.ID
				msgs, err := s.StartVolumeDelete(ctx, d, message("delete_volume"))
				var vse *resource.VolumeSnapshotsError
				switch tt.wantErr {
				case "":
					if err != nil || len(msgs) != 1 {
						t.Fatalf("err = %v, msgs %d", err, len(msgs))
					}
				case "snapshots":
					if !errors.As(err, &vse) || !errors.Is(err, resource.ErrInvalidState) {
						t.Fatalf("err = %v, want a VolumeSnapshotsError", err)
					}
				case "state":
					wantInvalidState(t, err, f.vol.ID, resource.StatusAvailable)
					if errors.As(err, &vse) {
						t.Errorf("a status refusal is a VolumeSnapshotsError: %v", err)
					}
				}
				wantVol := resource.StatusDeleting
				if tt.wantErr != "" {
					wantVol = resource.StatusAvailable
					if n := countRows(t, s, "outbox"); n != 0 {
						t.Errorf("a refused delete wrote %d outbox rows", n)
					}
				}
				if got := getVolumeStatus(t, s, f.vol.ID); got != wantVol {
					t.Errorf("volume is %s, want %s", got, wantVol)
				}
				for i, sn := range snaps {
					want := tt.wantSnaps
					if want == "" {
						want = tt.snaps[i]
					}
					if got := getSnap(t, s, sn.ID).Status; got != want {
						t.Errorf("snapshot %d is %s, want %s", i, got, want)
					}
				}
			})
		})
	}
	t.Run("missing volume", func(t *testing.T) {
		s := newStore(t, DialectSQLite)
		_, err := s.StartVolumeDelete(ctx, resource.VolumeDelete{VolumeID: "nope", From: deletable})
		wantNotFound(t, err, "Volume", "nope")
	})
}

func getVolumeStatus(t *testing.T, s *Store, id string) string {
	t.Helper()
	v, err := s.GetVolume(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Status
}

// TestSnapshotCreateRacesVolumeDelete checks that a snapshot created while its volume is
// being deleted is never orphaned: either the snapshot exists and the delete was refused,
// or the delete won and the create was refused.
func TestSnapshotCreateRacesVolumeDelete(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		outcomes := map[string]int{}
		for range 15 {
			f := newSnapFixture(t, s, "p")
			var (
				wg         sync.WaitGroup
				createErr  error
				deleteErr  error
				start      = make(chan struct{})
				sn         = &resource.Snapshot{ProjectID: "p", UserID: "u", VolumeID: f.vol.ID}
				volumeFrom = []string{resource.StatusAvailable}
			)
			wg.Go(func() {
				<-start
				_, createErr = s.CreateSnapshot(ctx, sn, volumeFrom)
			})
			wg.Go(func() {
				<-start
				_, deleteErr = s.StartVolumeDelete(ctx, resource.VolumeDelete{VolumeID: f.vol.ID, From: resource.DeletableStatuses})
			})
			close(start)
			wg.Wait()
			var vse *resource.VolumeSnapshotsError
			switch {
			case createErr == nil && errors.As(deleteErr, &vse):
				outcomes["snapshot first"]++
			case deleteErr == nil && createErr != nil:
				wantInvalidState(t, createErr, f.vol.ID, resource.StatusDeleting)
				outcomes["delete first"]++
			default:
				t.Fatalf("create: %v; delete: %v", createErr, deleteErr)
			}
			n, _ := s.CountVolumeSnapshots(ctx, f.vol.ID)
			if st := getVolumeStatus(t, s, f.vol.ID); st == resource.StatusDeleting && n > 0 {
				t.Fatalf("volume deleting with %d snapshots", n)
			}
		}
		t.Logf("outcomes: %v", outcomes)
	})
}

func TestStartRevert(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		setup    func(t *testing.T, s *Store, f *snapFixture) (snapID string)
		wantKind string // "" ok; "none" a RevertError of Kind ""; "Volume"/"Snapshot"
		wantMsg  string // a part of the reason
	}{
		{"latest available", func(t *testing.T, s *Store, f *snapFixture) string {
			f.snap("old", resource.SnapshotAvailable, nil)
			return f.snap("new", resource.SnapshotAvailable, nil).ID
		}, "", ""},
		{"no snapshots", func(t *testing.T, s *Store, f *snapFixture) string { return "x" }, "none", "doesn't have any snapshots"},
		{"not the latest", func(t *testing.T, s *Store, f *snapFixture) string {
			old := f.snap("old", resource.SnapshotAvailable, nil)
			f.snap("new", resource.SnapshotAvailable, nil)
			return old.ID
		}, "none", "is None or not the latest one"},
		{"none given", func(t *testing.T, s *Store, f *snapFixture) string {
			f.snap("new", resource.SnapshotAvailable, nil)
			return ""
		}, "none", "Specified snapshot None is None"},
		{"size differs", func(t *testing.T, s *Store, f *snapFixture) string {
			id := f.snap("new", resource.SnapshotAvailable, nil).ID
			if _, err := s.db.Exec("UPDATE volumes SET size = 2 WHERE id = ?", f.vol.ID); err != nil {
				t.Fatal(err)
			}
			return id
		}, "none", "The volume size must be equal to the snapshot size."},
		{"volume not available", func(t *testing.T, s *Store, f *snapFixture) string {
			id := f.snap("new", resource.SnapshotAvailable, nil).ID
			if _, err := s.TransitionVolume(ctx, f.vol.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
				t.Fatal(err)
			}
			return id
		}, "Volume", "Volume's status must be 'available'."},
		{"snapshot not available", func(t *testing.T, s *Store, f *snapFixture) string {
			return f.snap("new", resource.SnapshotError, nil).ID
		}, "Snapshot", "Snapshot's status must be 'available'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				f := newSnapFixture(t, s, "p")
				id := tt.setup(t, s, f)
				before := getVolumeStatus(t, s, f.vol.ID)
				msgs, err := s.StartRevert(ctx, f.vol.ID, id, message("revert_to_snapshot"))
				if tt.wantKind == "" {
					if err != nil || len(msgs) != 1 {
						t.Fatalf("err = %v, msgs %d", err, len(msgs))
					}
					if st := getVolumeStatus(t, s, f.vol.ID); st != resource.StatusReverting {
						t.Errorf("volume is %s", st)
					}
					if st := getSnap(t, s, id).Status; st != resource.SnapshotRestoring {
						t.Errorf("snapshot is %s", st)
					}
					return
				}
				var re *resource.RevertError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want a RevertError", err)
				}
				kind := re.Kind
				if kind == "" {
					kind = "none"
				}
				if kind != tt.wantKind || !strings.Contains(re.Reason, tt.wantMsg) {
					t.Errorf("RevertError{%q, %q}, want kind %s with %q", re.Kind, re.Reason, tt.wantKind, tt.wantMsg)
				}
				if st := getVolumeStatus(t, s, f.vol.ID); st != before {
					t.Errorf("a refused revert moved the volume to %s", st)
				}
				if n := countRows(t, s, "outbox"); n != 0 {
					t.Errorf("a refused revert wrote %d outbox rows", n)
				}
			})
		})
	}
	t.Run("missing volume", func(t *testing.T) {
		s := newStore(t, DialectSQLite)
		_, err := s.StartRevert(ctx, "nope", "x")
		wantNotFound(t, err, "Volume", "nope")
	})
}

// TestStartVolumeDeleteAttachmentsAndTransfers: a delete that checks no status (a force
// delete) is still refused while a live attachment holds the volume, whatever status an
// admin reset the volume to; a transfer offered for the volume goes with it.
func TestStartVolumeDeleteAttachmentsAndTransfers(t *testing.T) {
	ctx := context.Background()
	anyStatus := []string{resource.StatusAvailable, resource.StatusReserved, resource.StatusMaintenance, resource.StatusAwaitingTransfer}
	forEachDialect(t, func(t *testing.T, s *Store) {
		held := newSnapFixture(t, s, "p")
		a := &resource.Attachment{ID: uuid.NewString(), VolumeID: held.vol.ID, ProjectID: "p"}
		if err := s.ReserveAttachment(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.ResetVolumeState(ctx, held.vol.ID, resource.VolumeReset{Status: resource.StatusMaintenance}); err != nil {
			t.Fatal(err)
		}
		_, err := s.StartVolumeDelete(ctx, resource.VolumeDelete{VolumeID: held.vol.ID, From: anyStatus}, message("delete_volume"))
		wantInvalidState(t, err, held.vol.ID, resource.StatusMaintenance)
		if got := getVolumeStatus(t, s, held.vol.ID); got != resource.StatusMaintenance || countRows(t, s, "outbox") != 0 {
			t.Errorf("after a refused delete: volume %s, %d outbox rows", got, countRows(t, s, "outbox"))
		}

		offered := newSnapFixture(t, s, "p")
		tr := &resource.Transfer{VolumeID: offered.vol.ID, Name: "t"}
		if err := s.CreateTransfer(ctx, tr, "p"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartVolumeDelete(ctx, resource.VolumeDelete{VolumeID: offered.vol.ID, From: anyStatus}, message("delete_volume")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTransfer(ctx, tr.ID, ""); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("transfer of a deleting volume: %v, want not found", err)
		}
	})
}
