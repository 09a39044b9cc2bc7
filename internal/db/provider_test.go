package db

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// TestProviderDataRoundTrip: the driver's data written with the update that finishes a
// create comes back from every read of volumes and snapshots, a later finish overwrites it,
// a transfer keeps it, and an admin's list filters by its id and location.
func TestProviderDataRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		first := resource.ProviderData{Location: "share1:/export/a", Auth: "CHAP user secret", ID: "lun-7"}
		second := resource.ProviderData{Location: "share2:/export/a", ID: "lun-8"} // no auth: NULL

		v := volume("p1", func(v *resource.Volume) { v.Status, v.Host = resource.StatusCreating, "h@b#p" })
		mustCreate(t, s, v)
		other := volume("p1", func(v *resource.Volume) { v.Host = "h@b#p" })
		mustCreate(t, s, other)

		// volumeReads are every read that returns volume v.
		volumeReads := []struct {
			name string
			read func() (*resource.Volume, error)
		}{
			{"GetVolume", func() (*resource.Volume, error) { return s.GetVolume(ctx, v.ID) }},
			{"GetVolumeForView", func() (*resource.Volume, error) { return s.GetVolumeForView(ctx, v.ID) }},
			{"ListVolumes", func() (*resource.Volume, error) {
				return only(s.ListVolumes(ctx, resource.VolumeFilter{Equal: map[string]string{"id": v.ID}}))
			}},
			{"ListVolumesByHost", func() (*resource.Volume, error) {
				vols, err := s.ListVolumesByHost(ctx, "h@b", nil)
				for _, got := range vols {
					if got.ID == v.ID {
						return got, err
					}
				}
				return nil, errors.Join(err, errors.New("not listed"))
			}},
		}
		wantVolume := func(step string, want resource.ProviderData) {
			t.Helper()
			for _, r := range volumeReads {
				got, err := r.read()
				if err != nil {
					t.Fatalf("%s: %s: %v", step, r.name, err)
				}
				if got.Provider != want {
					t.Errorf("%s: %s: provider %+v, want %+v", step, r.name, got.Provider, want)
				}
			}
		}

		wantVolume("a new volume", resource.ProviderData{})
		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating},
			resource.VolumeChange{Status: resource.StatusAvailable, Provider: &first}); err != nil {
			t.Fatal(err)
		}
		wantVolume("created", first)
		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusExtending}); err != nil {
			t.Fatal(err)
		}
		wantVolume("a change without provider data keeps it", first)
		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusExtending},
			resource.VolumeChange{Status: resource.StatusAvailable, Provider: &second}); err != nil {
			t.Fatal(err)
		}
		wantVolume("a create run again overwrites it", second)

		filters := []struct {
			name string
			f    resource.VolumeFilter
			want []string
		}{
			{"provider_id", resource.VolumeFilter{Equal: map[string]string{"provider_id": "lun-8"}}, []string{v.ID}},
			{"provider_id of none", resource.VolumeFilter{Equal: map[string]string{"provider_id": "lun-7"}}, nil},
			{"provider_location~", resource.VolumeFilter{Like: map[string]string{"provider_location": "share2"}}, []string{v.ID}},
		}
		for _, tc := range filters {
			vols, err := s.ListVolumes(ctx, tc.f)
			if err != nil {
				t.Fatalf("filter %s: %v", tc.name, err)
			}
			var got []string
			for _, vol := range vols {
				got = append(got, vol.ID)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("filter %s: %v, want %v", tc.name, got, tc.want)
			}
		}

		// A snapshot: FinishSnapshotCreate makes it available with its data, once.
		sn := &resource.Snapshot{ProjectID: "p1", UserID: "u1", VolumeID: v.ID}
		if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if got := getSnap(t, s, sn.ID); !got.Provider.IsZero() {
			t.Errorf("a new snapshot has provider %+v", got.Provider)
		}
		if err := s.FinishSnapshotCreate(ctx, sn.ID, first); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSnapshotCreate(ctx, sn.ID, second); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("a second finish: %v, want invalid state", err)
		}
		got := getSnap(t, s, sn.ID)
		if got.Status != resource.SnapshotAvailable || got.Progress != "100%" || got.Provider != first {
			t.Errorf("snapshot %s %s %+v, want available 100%% %+v", got.Status, got.Progress, got.Provider, first)
		}
		listed, err := s.ListSnapshots(ctx, resource.SnapshotFilter{VolumeID: v.ID})
		if err != nil || len(listed) != 1 || listed[0].Provider != first {
			t.Errorf("listed snapshots %v, %v", listed, err)
		}

		// A transfer moves the rows to another project and keeps the data.
		if err := s.DestroySnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}); err != nil {
			t.Fatal(err)
		}
		tr := &resource.Transfer{VolumeID: v.ID, Name: "gift"}
		if err := s.CreateTransfer(ctx, tr, "p1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcceptTransfer(ctx, tr.ID, tr.AuthKey, "p2", "u2"); err != nil {
			t.Fatal(err)
		}
		wantVolume("transferred", second)
		if o, err := s.GetVolume(ctx, other.ID); err != nil || !o.Provider.IsZero() {
			t.Errorf("another volume: %+v, %v", o, err)
		}
	})
}

// only is the one volume of a list.
func only(vols []*resource.Volume, err error) (*resource.Volume, error) {
	if err == nil && len(vols) != 1 {
		err = errors.New("not exactly one volume listed")
	}
	if err != nil {
		return nil, err
	}
	return vols[0], nil
}

// TestGroupSnapshotMembersProviderData: FinishGroupSnapshotData keeps each member's data,
// but not a failed member's.
func TestGroupSnapshotMembersProviderData(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "p1", 1, 1, 1)
		gs, snaps := f.groupSnap("gs", resource.GroupStatusCreating)
		data := map[string]resource.ProviderData{}
		for i, sn := range snaps {
			data[sn.ID] = resource.ProviderData{Location: "loc-" + sn.ID, ID: string(rune('a' + i))}
		}
		if err := s.FinishGroupSnapshotData(ctx, gs.ID, []string{snaps[2].ID}, data, nil); err != nil {
			t.Fatal(err)
		}
		for i, sn := range snaps {
			want := data[sn.ID]
			if i == 2 {
				want = resource.ProviderData{} // failed
			}
			if got := getSnap(t, s, sn.ID); got.Provider != want {
				t.Errorf("member %d: %+v, want %+v", i, got.Provider, want)
			}
		}
	})
}

// TestReadVolumeTypeExtraSpecs: VolumeTypeExtraSpecs reads a type's specs as they are now.
func TestReadVolumeTypeExtraSpecs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		id := uuid.NewString()
		if err := s.CreateVolumeType(ctx, &resource.VolumeType{ID: id, Name: "gold", IsPublic: true, ExtraSpecs: map[string]string{"tier": "gold"}}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			change func() error
			id     string
			want   map[string]string
		}{
			{"as created", func() error { return nil }, id, map[string]string{"tier": "gold"}},
			{"after a change", func() error {
				return s.SetVolumeTypeExtraSpecs(ctx, id, map[string]string{"tier": "platinum", "x": "1"})
			},
				id, map[string]string{"tier": "platinum", "x": "1"}},
			{"a type without specs", func() error { return nil }, DefaultVolumeTypeID, map[string]string{}},
			{"no such type", func() error { return nil }, uuid.NewString(), map[string]string{}},
		}
		for _, tc := range tests {
			if err := tc.change(); err != nil {
				t.Fatal(err)
			}
			got, err := s.VolumeTypeExtraSpecs(ctx, tc.id)
			if err != nil || got == nil || !maps.Equal(got, tc.want) {
				t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
	})
}
