package db

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

func TestVolumeTypeLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gold := &resource.VolumeType{ID: "11111111-0000-0000-0000-000000000001", Name: "gold", IsPublic: true, ExtraSpecs: map[string]string{"a": "1"}}
		if err := s.CreateVolumeType(ctx, gold); err != nil {
			t.Fatal(err)
		}
		dup := &resource.VolumeType{ID: "11111111-0000-0000-0000-000000000002", Name: "gold", IsPublic: true}
		if err := s.CreateVolumeType(ctx, dup); !errors.Is(err, resource.ErrVolumeTypeExists) {
			t.Fatalf("duplicate create: %v", err)
		}
		priv := &resource.VolumeType{ID: "11111111-0000-0000-0000-000000000003", Name: "priv"}
		if err := s.CreateVolumeType(ctx, priv); err != nil {
			t.Fatal(err)
		}
		if err := s.AddVolumeTypeAccess(ctx, priv.ID, "p2"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddVolumeTypeAccess(ctx, priv.ID, "p2"); !errors.Is(err, resource.ErrAccessExists) {
			t.Fatalf("second access: %v", err)
		}
		if err := s.AddVolumeTypeAccess(ctx, "nope", "p2"); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("access to unknown type: %v", err)
		}
		yes := true
		tests := []struct {
			name string
			f    resource.VolumeTypeFilter
			want int
		}{
			{"all", resource.VolumeTypeFilter{}, 3},
			{"public", resource.VolumeTypeFilter{IsPublic: &yes}, 2},
			{"public for p2", resource.VolumeTypeFilter{IsPublic: &yes, AccessProject: "p2"}, 3},
			{"public for p3", resource.VolumeTypeFilter{IsPublic: &yes, AccessProject: "p3"}, 2},
			{"limit", resource.VolumeTypeFilter{Limit: 1}, 1},
			{"after marker", resource.VolumeTypeFilter{SortKey: "name", Marker: gold.ID}, 1},
		}
		for _, tc := range tests {
			got, err := s.ListVolumeTypes(ctx, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%s: %d types, %v; want %d", tc.name, len(got), err, tc.want)
			}
		}
		if _, err := s.ListVolumeTypes(ctx, resource.VolumeTypeFilter{SortKey: "bogus; DROP"}); err == nil {
			t.Errorf("bad sort key accepted")
		}

		if err := s.SetVolumeTypeExtraSpecs(ctx, gold.ID, map[string]string{"a": "2", "b": "3"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeTypeExtraSpec(ctx, gold.ID, "b"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeTypeExtraSpec(ctx, gold.ID, "b"); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("delete missing spec: %v", err)
		}
		got, err := s.GetVolumeType(ctx, gold.ID)
		if err != nil || len(got.ExtraSpecs) != 1 || got.ExtraSpecs["a"] != "2" {
			t.Fatalf("specs %+v, %v", got, err)
		}
		name := "__DEFAULT__"
		if _, err := s.UpdateVolumeType(ctx, gold.ID, resource.VolumeTypeUpdate{Name: &name}); !errors.Is(err, resource.ErrVolumeTypeExists) {
			t.Fatalf("rename to a taken name: %v", err)
		}

		// In use, then a project default, then deleted; the name is free again.
		v := volume("p1", func(v *resource.Volume) { v.VolumeTypeID = gold.ID })
		mustCreate(t, s, v)
		if err := s.DeleteVolumeType(ctx, gold.ID); !errors.Is(err, resource.ErrVolumeTypeInUse) {
			t.Fatalf("delete in use: %v", err)
		}
		if err := s.DestroyVolume(ctx, v.ID, []string{v.Status}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProjectDefaultType(ctx, "p1", gold.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeType(ctx, gold.ID); !errors.Is(err, resource.ErrVolumeTypeIsDefault) {
			t.Fatalf("delete a default: %v", err)
		}
		if err := s.DeleteProjectDefaultType(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetProjectDefaultType(ctx, "p1"); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("default after unset: %v", err)
		}
		if err := s.DeleteVolumeType(ctx, gold.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeType(ctx, gold.ID); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if err := s.CreateVolumeType(ctx, &resource.VolumeType{ID: "11111111-0000-0000-0000-000000000004", Name: "gold", IsPublic: true}); err != nil {
			t.Fatalf("reuse a deleted type's name: %v", err)
		}
	})
}

func TestQoSSpecsStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		vt := &resource.VolumeType{ID: "22222222-0000-0000-0000-000000000001", Name: "t", IsPublic: true}
		if err := s.CreateVolumeType(ctx, vt); err != nil {
			t.Fatal(err)
		}
		q := &resource.QoSSpecs{ID: "33333333-0000-0000-0000-000000000001", Name: "q", Consumer: resource.QoSConsumerFrontEnd, Specs: map[string]string{"iops": "1"}}
		if err := s.CreateQoSSpecs(ctx, q); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateQoSSpecs(ctx, &resource.QoSSpecs{ID: "33333333-0000-0000-0000-000000000002", Name: "q", Consumer: "back-end"}); !errors.Is(err, resource.ErrQoSSpecsExists) {
			t.Fatalf("duplicate: %v", err)
		}
		if err := s.UpdateQoSSpecs(ctx, q.ID, resource.QoSConsumerBoth, map[string]string{"iops": "2", "bw": "3"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteQoSSpecsKeys(ctx, q.ID, []string{"bw", "nope"}); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("delete a missing key: %v", err)
		}
		got, err := s.GetQoSSpecs(ctx, q.ID)
		if err != nil || got.Consumer != "both" || len(got.Specs) != 2 {
			t.Fatalf("after a failed delete_keys nothing changes: %+v, %v", got, err)
		}
		if err := s.AssociateQoSSpecs(ctx, q.ID, "nope"); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("associate unknown type: %v", err)
		}
		if err := s.AssociateQoSSpecs(ctx, q.ID, vt.ID); err != nil {
			t.Fatal(err)
		}
		other := &resource.QoSSpecs{ID: "33333333-0000-0000-0000-000000000003", Name: "q2", Consumer: "back-end"}
		if err := s.CreateQoSSpecs(ctx, other); err != nil {
			t.Fatal(err)
		}
		if err := s.AssociateQoSSpecs(ctx, other.ID, vt.ID); !errors.Is(err, resource.ErrQoSAssociated) {
			t.Fatalf("second association: %v", err)
		}
		tq, err := s.GetVolumeTypeQoSSpecs(ctx, vt.ID)
		if err != nil || tq == nil || tq.ID != q.ID || !tq.FrontEnd() || tq.Specs["iops"] != "2" {
			t.Fatalf("type's qos %+v, %v", tq, err)
		}
		if err := s.DeleteQoSSpecs(ctx, q.ID, false); !errors.Is(err, resource.ErrQoSSpecsInUse) {
			t.Fatalf("delete in use: %v", err)
		}
		if err := s.DeleteQoSSpecs(ctx, q.ID, true); err != nil {
			t.Fatal(err)
		}
		if tq, err := s.GetVolumeTypeQoSSpecs(ctx, vt.ID); err != nil || tq != nil {
			t.Fatalf("after force delete: %+v, %v", tq, err)
		}
		if n := countRows(t, s, "quality_of_service_spec_values"); n != 0 {
			t.Errorf("%d spec values left", n)
		}
	})
}

// TestListQoSSpecsPages: QoS specs lists page and sort on both dialects; a NULL updated_at
// sorts first, a marker that names no specs is not found, a sort key outside the list is
// refused.
func TestListQoSSpecsPages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ids := []string{"44444444-0000-0000-0000-000000000003", "44444444-0000-0000-0000-000000000001", "44444444-0000-0000-0000-000000000002"}
		for i, id := range ids { // created in this order: ids[0] oldest
			if err := s.CreateQoSSpecs(ctx, &resource.QoSSpecs{ID: id, Name: "q" + id[len(id)-1:], Consumer: "back-end", Specs: map[string]string{"k": "v"}}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := s.UpdateQoSSpecs(ctx, id, "front-end", nil); err != nil { // the only updated_at
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct {
			name string
			f    resource.QoSSpecsFilter
			want []string
		}{
			{"newest first", resource.QoSSpecsFilter{}, []string{ids[2], ids[1], ids[0]}},
			{"limit", resource.QoSSpecsFilter{Limit: 2}, []string{ids[2], ids[1]}},
			{"marker", resource.QoSSpecsFilter{Marker: ids[2]}, []string{ids[1], ids[0]}},
			{"offset", resource.QoSSpecsFilter{Offset: 2}, []string{ids[0]}},
			{"offset past the end", resource.QoSSpecsFilter{Offset: 5}, nil},
			{"by id", resource.QoSSpecsFilter{Sort: []resource.SortKey{{Field: "id"}}}, []string{ids[1], ids[2], ids[0]}},
			{"by updated_at, NULL first, ties by id", resource.QoSSpecsFilter{Sort: []resource.SortKey{{Field: "updated_at"}}}, []string{ids[1], ids[2], ids[0]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				list, err := s.ListQoSSpecs(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, q := range list {
					got = append(got, q.ID)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		var nf *resource.NotFoundError
		if _, err := s.ListQoSSpecs(ctx, resource.QoSSpecsFilter{Marker: "nope"}); !errors.As(err, &nf) || nf.Kind != "QoSSpecs" {
			t.Errorf("unknown marker: %v", err)
		}
		if _, err := s.ListQoSSpecs(ctx, resource.QoSSpecsFilter{Sort: []resource.SortKey{{Field: "name; --"}}}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("bad sort key: %v", err)
		}
	})
}
