package db

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func wantNotFound(t *testing.T, err error, kind, id string) {
	t.Helper()
	var nf *resource.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != kind || nf.ID != id || !errors.Is(err, resource.ErrNotFound) {
		t.Fatalf("err = %v, want NotFoundError{%s %s}", err, kind, id)
	}
}

func wantInvalidState(t *testing.T, err error, id, status string) {
	t.Helper()
	var is *resource.InvalidStateError
	if !errors.As(err, &is) || is.ID != id || is.Status != status || !errors.Is(err, resource.ErrInvalidState) {
		t.Fatalf("err = %v, want InvalidStateError for %s in %s", err, id, status)
	}
}

func ids(vols []*resource.Volume) []string {
	var out []string
	for _, v := range vols {
		out = append(out, v.ID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestCreateAndGetVolume(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p1", func(v *resource.Volume) {
			v.ID = "a3ad9334-71b8-4948-88a5-667060e965cd"
			v.Name, v.Description = "sample-vol", "sample volume ✓ 🚀"
			v.Size = 10
			v.Host = "refstack@fake3#fake3"
			v.Bootable, v.Multiattach = true, true
			v.Metadata = map[string]string{"k1": "v1", "K1": "upper", "empty": ""}
		})
		msgs := mustCreate(t, s, v, message("create_volume"), message("other"))
		if len(msgs) != 2 || msgs[0].ID == 0 || msgs[1].ID <= msgs[0].ID || msgs[0].CreatedAt.IsZero() {
			t.Errorf("returned messages %+v: want increasing ids and CreatedAt set", msgs)
		}
		got, err := s.GetVolume(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *v
		want.VolumeTypeName = resource.DefaultVolumeTypeName
		if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
			t.Errorf("GetVolume =\n%+v\nwant\n%+v", *got, want)
		}
		if countRows(t, s, "outbox") != 2 {
			t.Errorf("outbox has %d rows, want 2", countRows(t, s, "outbox"))
		}

		t.Run("defaults", func(t *testing.T) {
			v := &resource.Volume{ProjectID: "p1", UserID: "u", Size: 1}
			before := time.Now().UTC().Add(-time.Second)
			mustCreate(t, s, v)
			if v.ID == "" || v.Status != resource.StatusCreating || v.AttachStatus != resource.AttachDetached || v.CreatedAt.Before(before) {
				t.Errorf("CreateVolume filled in %+v", v)
			}
			got, err := s.GetVolume(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "" || got.Host != "" || got.VolumeTypeID != "" || got.VolumeTypeName != "" || got.UpdatedAt != nil || len(got.Metadata) != 0 || got.Metadata == nil {
				t.Errorf("GetVolume = %+v, want empty optional fields and an empty metadata map", got)
			}
		})
		t.Run("unknown volume type", func(t *testing.T) {
			_, err := s.CreateVolume(ctx, volume("p1", func(v *resource.Volume) { v.VolumeTypeID = "no-such-type" }))
			wantNotFound(t, err, "VolumeType", "no-such-type")
		})
		t.Run("missing", func(t *testing.T) {
			_, err := s.GetVolume(ctx, "no-such-volume")
			wantNotFound(t, err, "Volume", "no-such-volume")
		})
	})
}

// TestCreateVolumeAtomic: a create that fails leaves neither volume, metadata nor outbox rows.
func TestCreateVolumeAtomic(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		first := volume("p", func(v *resource.Volume) { v.Metadata = map[string]string{"a": "1"} })
		mustCreate(t, s, first, message("create_volume"))

		tests := []struct {
			name    string
			v       *resource.Volume
			wantErr error
		}{
			{"duplicate id", volume("p", func(v *resource.Volume) {
				v.ID = first.ID
				v.Name = "other"
				v.Metadata = map[string]string{"b": "2"}
			}), resource.ErrConflict},
			{"unknown type", volume("p", func(v *resource.Volume) {
				v.VolumeTypeID = "nope"
				v.Metadata = map[string]string{"b": "2"}
			}), resource.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := s.CreateVolume(ctx, tt.v, message("create_volume"), message("again"))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("CreateVolume = %v, %v; want %v", out, err, tt.wantErr)
				}
				if out != nil {
					t.Errorf("failed CreateVolume returned messages %+v", out)
				}
				for table, want := range map[string]int{"volumes": 1, "volume_metadata": 1, "outbox": 1} {
					if n := countRows(t, s, table); n != want {
						t.Errorf("%s has %d rows, want %d", table, n, want)
					}
				}
				got, err := s.GetVolume(ctx, first.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Name != first.Name || !maps.Equal(got.Metadata, first.Metadata) {
					t.Errorf("first volume changed: %+v", got)
				}
			})
		}
	})
}

func TestCreateVolumeConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				v := volume("p", func(v *resource.Volume) {
					v.Metadata = map[string]string{"i": fmt.Sprint(i), "x": "y"}
				})
				_, errs[i] = s.CreateVolume(context.Background(), v, message("create_volume"))
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("CreateVolume #%d: %v", i, err)
			}
		}
		for table, want := range map[string]int{"volumes": n, "volume_metadata": 2 * n, "outbox": n} {
			if got := countRows(t, s, table); got != want {
				t.Errorf("%s has %d rows, want %d", table, got, want)
			}
		}
	})
}

// TestCreateVolumeConcurrentInMemory: the in-memory SQLite database has a single connection;
// concurrent writers queue on it.
func TestCreateVolumeConcurrentInMemory(t *testing.T) {
	s := openURL(t, "sqlite://")
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	liftQuotas(t, s)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := s.CreateVolume(context.Background(), volume("p"), message("m")); err != nil {
				t.Error(err)
			}
			if _, err := s.ListVolumes(context.Background(), resource.VolumeFilter{Limit: 5}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := countRows(t, s, "volumes"); n != 50 {
		t.Errorf("volumes has %d rows, want 50", n)
	}
}

func TestListVolumes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		// Volumes of p1 at base+0, +1s, +1s (a tie, broken by id), +2s, +3s; one of p2; one
		// deleted.
		add := func(id, project string, at time.Duration, change ...func(*resource.Volume)) *resource.Volume {
			v := volume(project, append([]func(*resource.Volume){func(v *resource.Volume) {
				v.ID, v.CreatedAt = id, base.Add(at)
				v.Metadata = map[string]string{"id": id}
			}}, change...)...)
			mustCreate(t, s, v)
			return v
		}
		add("a", "p1", 0)
		add("b", "p1", time.Second, func(v *resource.Volume) { v.Name = "named" })
		add("c", "p1", time.Second, func(v *resource.Volume) { v.Status = resource.StatusError })
		add("d", "p1", 2*time.Second, func(v *resource.Volume) { v.Name = "named" })
		add("e", "p1", 3*time.Second)
		add("x", "p2", 4*time.Second)
		add("gone", "p1", 5*time.Second)
		if err := s.DestroyVolume(ctx, "gone", []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			f    resource.VolumeFilter
			want []string
		}{
			{"project", resource.VolumeFilter{ProjectID: "p1"}, []string{"e", "d", "c", "b", "a"}},
			{"all projects", resource.VolumeFilter{}, []string{"x", "e", "d", "c", "b", "a"}},
			{"name", resource.VolumeFilter{ProjectID: "p1", Name: "named"}, []string{"d", "b"}},
			{"status", resource.VolumeFilter{Status: resource.StatusError}, []string{"c"}},
			{"limit", resource.VolumeFilter{ProjectID: "p1", Limit: 2}, []string{"e", "d"}},
			{"marker", resource.VolumeFilter{ProjectID: "p1", Limit: 2, Marker: "d"}, []string{"c", "b"}},
			{"marker in a tie", resource.VolumeFilter{ProjectID: "p1", Limit: 2, Marker: "c"}, []string{"b", "a"}},
			{"marker at the end", resource.VolumeFilter{ProjectID: "p1", Marker: "a"}, nil},
			{"marker with name", resource.VolumeFilter{ProjectID: "p1", Name: "named", Marker: "d"}, []string{"b"}},
			{"nothing", resource.VolumeFilter{ProjectID: "p3"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListVolumes(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), tt.want) {
					t.Errorf("ListVolumes(%+v) = %v, want %v", tt.f, ids(got), tt.want)
				}
				for _, v := range got {
					if v.Metadata["id"] != v.ID || len(v.Metadata) != 1 || v.VolumeTypeName != resource.DefaultVolumeTypeName {
						t.Errorf("volume %s: metadata %v, type %q", v.ID, v.Metadata, v.VolumeTypeName)
					}
				}
			})
		}

		t.Run("pages", func(t *testing.T) {
			var all []string
			marker := ""
			for range 10 {
				page, err := s.ListVolumes(ctx, resource.VolumeFilter{ProjectID: "p1", Limit: 2, Marker: marker})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				all = append(all, ids(page)...)
				marker = page[len(page)-1].ID
			}
			if want := []string{"e", "d", "c", "b", "a"}; !slices.Equal(all, want) {
				t.Errorf("paging by 2 gave %v, want %v", all, want)
			}
		})

		for _, tt := range []struct{ name, project, marker string }{
			{"unknown marker", "p1", "nope"},
			{"deleted marker", "p1", "gone"},
			{"marker of another project", "p1", "x"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.ListVolumes(ctx, resource.VolumeFilter{ProjectID: tt.project, Marker: tt.marker})
				wantNotFound(t, err, "Marker", tt.marker)
			})
		}
	})
}

func TestUpdateVolume(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p", func(v *resource.Volume) { v.Metadata = map[string]string{"a": "1", "b": "2"} })
		mustCreate(t, s, v)
		tests := []struct {
			name     string
			u        resource.VolumeUpdate
			wantName string
			wantDesc string
			wantMeta map[string]string
		}{
			{"nothing", resource.VolumeUpdate{}, "vol", "a volume", map[string]string{"a": "1", "b": "2"}},
			{"name", resource.VolumeUpdate{Name: ptr("new")}, "new", "a volume", map[string]string{"a": "1", "b": "2"}},
			{"description and metadata", resource.VolumeUpdate{Description: ptr("d"), Metadata: map[string]string{"b": "3", "c": "4"}},
				"new", "d", map[string]string{"b": "3", "c": "4"}},
			{"clear", resource.VolumeUpdate{Name: ptr(""), Description: ptr(""), Metadata: map[string]string{}}, "", "", map[string]string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := time.Now().UTC().Add(-time.Second)
				got, err := s.UpdateVolume(ctx, v.ID, tt.u)
				if err != nil {
					t.Fatal(err)
				}
				again, err := s.GetVolume(ctx, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, vol := range []*resource.Volume{got, again} {
					if vol.Name != tt.wantName || vol.Description != tt.wantDesc || !maps.Equal(vol.Metadata, tt.wantMeta) {
						t.Errorf("volume = name %q desc %q meta %v; want %q %q %v", vol.Name, vol.Description, vol.Metadata, tt.wantName, tt.wantDesc, tt.wantMeta)
					}
					if vol.UpdatedAt == nil || vol.UpdatedAt.Before(before) {
						t.Errorf("UpdatedAt = %v, want now", vol.UpdatedAt)
					}
				}
			})
		}
		t.Run("missing", func(t *testing.T) {
			_, err := s.UpdateVolume(ctx, "nope", resource.VolumeUpdate{Name: ptr("x")})
			wantNotFound(t, err, "Volume", "nope")
		})
	})
}

func TestTransitionVolume(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tests := []struct {
			name       string
			setup      func(v *resource.Volume)
			id         string // default: the created volume's
			from       []string
			ch         resource.VolumeChange
			msgs       []resource.OutboxMessage
			wantStatus string // after; or with wantErr, the status the error names
			wantHost   string
			wantErr    error
		}{
			{name: "available to deleting", from: []string{resource.StatusAvailable, resource.StatusError},
				ch: resource.VolumeChange{Status: resource.StatusDeleting}, msgs: []resource.OutboxMessage{message("delete_volume")},
				wantStatus: resource.StatusDeleting},
			{name: "schedule: set host where none", setup: func(v *resource.Volume) { v.Status = resource.StatusCreating },
				from: []string{resource.StatusCreating}, ch: resource.VolumeChange{Status: resource.StatusCreating, Host: ptr("h@b#p"), WhereHostNull: true},
				msgs: []resource.OutboxMessage{message("create_volume")}, wantStatus: resource.StatusCreating, wantHost: "h@b#p"},
			{name: "schedule: host already set", setup: func(v *resource.Volume) { v.Status, v.Host = resource.StatusCreating, "other@b#p" },
				from: []string{resource.StatusCreating}, ch: resource.VolumeChange{Status: resource.StatusCreating, Host: ptr("h@b#p"), WhereHostNull: true},
				msgs: []resource.OutboxMessage{message("create_volume")}, wantStatus: resource.StatusCreating, wantHost: "other@b#p", wantErr: resource.ErrInvalidState},
			{name: "wrong status", setup: func(v *resource.Volume) { v.Status = resource.StatusInUse },
				from: []string{resource.StatusAvailable}, ch: resource.VolumeChange{Status: resource.StatusDeleting},
				msgs: []resource.OutboxMessage{message("delete_volume")}, wantStatus: resource.StatusInUse, wantErr: resource.ErrInvalidState},
			{name: "same status counts as a change", from: []string{resource.StatusAvailable},
				ch: resource.VolumeChange{Status: resource.StatusAvailable}, wantStatus: resource.StatusAvailable},
			{name: "clear host", setup: func(v *resource.Volume) { v.Host = "h@b" }, from: []string{resource.StatusAvailable},
				ch: resource.VolumeChange{Status: resource.StatusError, Host: ptr("")}, wantStatus: resource.StatusError},
			{name: "missing", id: "nope", from: []string{resource.StatusAvailable},
				ch: resource.VolumeChange{Status: resource.StatusDeleting}, msgs: []resource.OutboxMessage{message("delete_volume")}, wantErr: resource.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v := volume("p")
				if tt.setup != nil {
					tt.setup(v)
				}
				mustCreate(t, s, v)
				id := v.ID
				if tt.id != "" {
					id = tt.id
				}
				outboxBefore := countRows(t, s, "outbox")
				out, err := s.TransitionVolume(ctx, id, tt.from, tt.ch, tt.msgs...)
				switch {
				case tt.wantErr == resource.ErrNotFound:
					wantNotFound(t, err, "Volume", id)
				case tt.wantErr != nil:
					wantInvalidState(t, err, id, tt.wantStatus)
				case err != nil:
					t.Fatal(err)
				}
				wantOutbox := len(tt.msgs)
				if tt.wantErr != nil {
					wantOutbox = 0
				}
				if len(out) != wantOutbox || countRows(t, s, "outbox")-outboxBefore != wantOutbox {
					t.Errorf("returned %d messages, outbox grew by %d; want %d", len(out), countRows(t, s, "outbox")-outboxBefore, wantOutbox)
				}
				if tt.wantErr == resource.ErrNotFound {
					return
				}
				got, err := s.GetVolume(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tt.wantStatus || got.Host != tt.wantHost {
					t.Errorf("volume is %s on %q, want %s on %q", got.Status, got.Host, tt.wantStatus, tt.wantHost)
				}
				if (got.UpdatedAt != nil) != (tt.wantErr == nil) {
					t.Errorf("UpdatedAt = %v after err %v", got.UpdatedAt, err)
				}
			})
		}
	})
}

// TestTransitionVolumeRace: of 20 concurrent available → deleting transitions, exactly one
// wins; the others see the volume in deleting.
func TestTransitionVolumeRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		v := volume("p")
		mustCreate(t, s, v)
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.TransitionVolume(context.Background(), v.ID, []string{resource.StatusAvailable},
					resource.VolumeChange{Status: resource.StatusDeleting}, message(fmt.Sprint("delete-", i)))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			wantInvalidState(t, err, v.ID, resource.StatusDeleting)
		}
		if won != 1 {
			t.Errorf("%d transitions won, want exactly 1", won)
		}
		if got := countRows(t, s, "outbox"); got != 1 {
			t.Errorf("outbox has %d rows, want the winner's only", got)
		}
	})
}

func TestDestroyVolume(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p", func(v *resource.Volume) { v.Status = resource.StatusInUse })
		mustCreate(t, s, v)

		err := s.DestroyVolume(ctx, v.ID, resource.DeletableStatuses)
		wantInvalidState(t, err, v.ID, resource.StatusInUse)

		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusInUse}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
			t.Fatal(err)
		}
		if err := s.DestroyVolume(ctx, v.ID, []string{resource.StatusDeleting}); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetVolume(ctx, v.ID)
		wantNotFound(t, err, "Volume", v.ID)
		wantNotFound(t, s.DestroyVolume(ctx, v.ID, []string{resource.StatusDeleted, resource.StatusDeleting}), "Volume", v.ID)
		if n, err := s.CountVolumes(ctx, "p"); err != nil || n != 0 {
			t.Errorf("CountVolumes = %d, %v; want 0", n, err)
		}
		var status string
		var deleted bool
		var deletedAt nullTime
		if err := s.db.QueryRow("SELECT status, deleted, deleted_at FROM volumes WHERE id = ?", v.ID).Scan(&status, &deleted, &deletedAt); err != nil {
			t.Fatal(err)
		}
		if status != resource.StatusDeleted || !deleted || !deletedAt.Valid {
			t.Errorf("row after destroy: status %s deleted %v deleted_at %v", status, deleted, deletedAt)
		}
	})
}

func TestListVolumesByHost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, h := range []struct{ id, host, status string }{
			{"backend", "h@lvm", resource.StatusAvailable},
			{"pool1", "h@lvm#pool1", resource.StatusCreating},
			{"pool2", "h@lvm#pool2", resource.StatusAvailable},
			{"longer", "h@lvm2#pool", resource.StatusAvailable},
			{"prefix", "h@lv", resource.StatusAvailable},
			{"below-hash", "h@lvm!x", resource.StatusAvailable},
			{"space", "h@lvm x", resource.StatusAvailable},
			{"case", "H@LVM#pool", resource.StatusAvailable},
			{"nohost", "", resource.StatusCreating},
			{"wild", "h%x_y#p", resource.StatusAvailable},
			{"wild-other", "hAAx_y#p", resource.StatusAvailable},
		} {
			mustCreate(t, s, volume("p", func(v *resource.Volume) { v.ID, v.Host, v.Status = h.id, h.host, h.status }))
		}
		tests := []struct {
			host     string
			statuses []string
			want     []string
		}{
			{"h@lvm", nil, []string{"backend", "pool1", "pool2"}},
			{"h@lvm", []string{resource.StatusAvailable}, []string{"backend", "pool2"}},
			{"h@lvm", []string{resource.StatusCreating, resource.StatusError}, []string{"pool1"}},
			{"h@lvm#pool1", nil, []string{"pool1"}},
			{"h%x_y", nil, []string{"wild"}},
			{"H@LVM", nil, []string{"case"}},
			{"nobody", nil, nil},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.host, tt.statuses), func(t *testing.T) {
				got, err := s.ListVolumesByHost(ctx, tt.host, tt.statuses)
				if err != nil {
					t.Fatal(err)
				}
				gotIDs := ids(got)
				slices.Sort(gotIDs)
				if !slices.Equal(gotIDs, tt.want) {
					t.Errorf("ListVolumesByHost(%q, %v) = %v, want %v", tt.host, tt.statuses, gotIDs, tt.want)
				}
			})
		}
	})
}

func TestListVolumesInStatus(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		old := time.Now().UTC().Add(-time.Hour)
		mustCreate(t, s, volume("p", func(v *resource.Volume) { v.ID, v.Status, v.CreatedAt = "old-creating", resource.StatusCreating, old }))
		mustCreate(t, s, volume("p", func(v *resource.Volume) { v.ID, v.Status, v.CreatedAt = "old-deleting", resource.StatusDeleting, old }))
		mustCreate(t, s, volume("p", func(v *resource.Volume) { v.ID, v.Status = "new-creating", resource.StatusCreating }))
		mustCreate(t, s, volume("p", func(v *resource.Volume) { v.ID, v.Status, v.CreatedAt = "touched", resource.StatusAvailable, old }))
		// touched: created long ago, but updated just now (into creating).
		if _, err := s.TransitionVolume(ctx, "touched", []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusCreating}); err != nil {
			t.Fatal(err)
		}
		cutoff := time.Now().UTC().Add(-time.Minute)
		tests := []struct {
			name     string
			statuses []string
			before   time.Time
			want     []string
		}{
			{"stale creating", []string{resource.StatusCreating}, cutoff, []string{"old-creating"}},
			{"stale creating or deleting", []string{resource.StatusCreating, resource.StatusDeleting}, cutoff, []string{"old-creating", "old-deleting"}},
			{"all creating", []string{resource.StatusCreating}, time.Time{}, []string{"new-creating", "old-creating", "touched"}},
			{"none", []string{resource.StatusError}, cutoff, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListVolumesInStatus(ctx, tt.statuses, tt.before)
				if err != nil {
					t.Fatal(err)
				}
				gotIDs := ids(got)
				slices.Sort(gotIDs)
				if !slices.Equal(gotIDs, tt.want) {
					t.Errorf("ListVolumesInStatus(%v, %v) = %v, want %v", tt.statuses, tt.before, gotIDs, tt.want)
				}
			})
		}
	})
}

func TestCountVolumes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, p := range []string{"p1", "p1", "p1", "p2"} {
			mustCreate(t, s, volume(p))
		}
		gone := volume("p1")
		mustCreate(t, s, gone)
		if err := s.DestroyVolume(ctx, gone.ID, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			project string
			want    int
		}{{"p1", 3}, {"p2", 1}, {"p3", 0}, {"", 4}} {
			if got, err := s.CountVolumes(ctx, tt.project); err != nil || got != tt.want {
				t.Errorf("CountVolumes(%q) = %d, %v; want %d", tt.project, got, err, tt.want)
			}
		}
	})
}
