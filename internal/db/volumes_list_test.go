package db

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func TestListVolumesFiltersAndOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		mk := func(name string, size int, age time.Duration, change ...func(*resource.Volume)) string {
			v := volume("p1", append([]func(*resource.Volume){func(v *resource.Volume) {
				v.Name, v.Size, v.CreatedAt = name, size, base.Add(age)
			}}, change...)...)
			mustCreate(t, s, v)
			return v.ID
		}
		a := mk("alpha", 3, 0, func(v *resource.Volume) { v.Metadata = map[string]string{"k": "v"}; v.Bootable = true })
		b := mk("b_x", 1, time.Second, func(v *resource.Volume) { v.AvailabilityZone = "az2" })
		c := mk("", 2, 2*time.Second)
		if _, err := s.UpdateVolumeMetadata(ctx, resource.GlanceMetadata, c, map[string]string{"os": "linux"}, false, resource.VolumeStatusRule{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateVolumeMetadata(ctx, resource.AdminMetadata, b, map[string]string{"readonly": "True"}, false, resource.VolumeStatusRule{}); err != nil {
			t.Fatal(err)
		}
		ids := func(vols []*resource.Volume) string {
			var out []string
			for _, v := range vols {
				out = append(out, v.ID)
			}
			return strings.Join(out, ",")
		}
		join := func(s ...string) string { return strings.Join(s, ",") }
		for _, tt := range []struct {
			name string
			f    resource.VolumeFilter
			want string
		}{
			{"default order", resource.VolumeFilter{}, join(c, b, a)},
			{"by name ascending", resource.VolumeFilter{Sort: []resource.SortKey{{Field: "display_name"}}}, join(c, a, b)},
			{"by size descending", resource.VolumeFilter{Sort: []resource.SortKey{{Field: "size", Desc: true}}}, join(a, c, b)},
			{"after a marker, by size", resource.VolumeFilter{Sort: []resource.SortKey{{Field: "size"}}, Marker: b, Limit: 1}, join(c)},
			{"after a marker with a null name", resource.VolumeFilter{Sort: []resource.SortKey{{Field: "display_name"}}, Marker: c}, join(a, b)},
			{"offset", resource.VolumeFilter{Offset: 1, Limit: 1}, join(b)},
			{"equal", resource.VolumeFilter{Equal: map[string]string{"availability_zone": "az2"}}, join(b)},
			{"bootable", resource.VolumeFilter{Equal: map[string]string{"bootable": "true"}}, join(a)},
			{"like escapes _", resource.VolumeFilter{Like: map[string]string{"display_name": "_"}}, join(b)},
			{"like is case-insensitive", resource.VolumeFilter{Like: map[string]string{"display_name": "ALP"}}, join(a)},
			{"user metadata", resource.VolumeFilter{Metadata: map[string]string{"k": "v"}}, join(a)},
			{"visible admin metadata", resource.VolumeFilter{Metadata: map[string]string{"readonly": "True"}}, join(b)},
			{"glance metadata", resource.VolumeFilter{GlanceMetadata: map[string]string{"os": "linux"}}, join(c)},
			{"type by name", resource.VolumeFilter{VolumeType: "__DEFAULT__"}, join(c, b, a)},
			{"created after", resource.VolumeFilter{Times: []resource.TimeFilter{{Field: "created_at", Op: "gt", At: base}}}, join(c, b)},
			{"created not at", resource.VolumeFilter{Times: []resource.TimeFilter{{Field: "created_at", Op: "neq", At: base}}}, join(c, b)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListVolumes(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if ids(got) != tt.want {
					t.Errorf("ListVolumes = %s, want %s", ids(got), tt.want)
				}
				if tt.f.Marker == "" && tt.f.Limit == 0 && tt.f.Offset == 0 {
					n, err := s.CountVolumesMatching(ctx, tt.f)
					if err != nil || n != len(got) {
						t.Errorf("CountVolumesMatching = %d, %v; want %d", n, err, len(got))
					}
				}
			})
		}
		for _, f := range []resource.VolumeFilter{
			{Sort: []resource.SortKey{{Field: "colour"}}},
			{Equal: map[string]string{"colour": "red"}},
			{Times: []resource.TimeFilter{{Field: "created_at", Op: "about"}}},
		} {
			if _, err := s.ListVolumes(ctx, f); err == nil {
				t.Errorf("ListVolumes(%+v) succeeded", f)
			}
		}
	})
}

func TestVolumeMetadataStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p1", func(v *resource.Volume) { v.Metadata = map[string]string{"a": "1"} })
		mustCreate(t, s, v)
		locked := resource.VolumeStatusRule{Not: []string{resource.StatusMaintenance}}

		md, err := s.UpdateVolumeMetadata(ctx, resource.UserMetadata, v.ID, map[string]string{"b": "2"}, false, locked)
		if err != nil || len(md) != 2 {
			t.Fatalf("merge = %v, %v", md, err)
		}
		if md, err = s.UpdateVolumeMetadata(ctx, resource.UserMetadata, v.ID, map[string]string{"c": "3"}, true, locked); err != nil || len(md) != 1 || md["c"] != "3" {
			t.Fatalf("replace = %v, %v", md, err)
		}
		if err := s.DeleteVolumeMetadataKey(ctx, resource.UserMetadata, v.ID, "nope", locked); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("delete missing key: %v", err)
		}
		if err := s.DeleteVolumeMetadataKey(ctx, resource.UserMetadata, v.ID, "c", locked); err != nil {
			t.Errorf("delete key: %v", err)
		}
		if err := s.SetVolumeBootable(ctx, v.ID, true, locked); err != nil {
			t.Fatal(err)
		}
		if err := s.ResetVolumeState(ctx, v.ID, resource.VolumeReset{Status: resource.StatusMaintenance, AttachStatus: resource.AttachAttached}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetVolume(ctx, v.ID)
		if err != nil || !got.Bootable || got.Status != resource.StatusMaintenance || got.AttachStatus != resource.AttachAttached || len(got.Metadata) != 0 {
			t.Fatalf("volume = %+v, %v", got, err)
		}
		var ise *resource.InvalidStateError
		if _, err := s.UpdateVolumeMetadata(ctx, resource.UserMetadata, v.ID, map[string]string{"x": "y"}, false, locked); !errors.As(err, &ise) || ise.Status != resource.StatusMaintenance {
			t.Errorf("update in maintenance: %v", err)
		}
		if err := s.SetVolumeBootable(ctx, v.ID, false, locked); !errors.As(err, &ise) {
			t.Errorf("bootable in maintenance: %v", err)
		}
		const missing = "00000000-0000-0000-0000-000000000000"
		if _, err := s.VolumeMetadata(ctx, resource.UserMetadata, missing); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("metadata of a missing volume: %v", err)
		}
		if err := s.ResetVolumeState(ctx, missing, resource.VolumeReset{Status: "error"}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("reset a missing volume: %v", err)
		}
		if _, err := s.VolumeMetadata(ctx, resource.MetadataKind("other"), v.ID); err == nil {
			t.Error("an unknown metadata kind was read")
		}
		// Image metadata of several volumes at once; a volume without any is absent.
		if _, err := s.UpdateVolumeMetadata(ctx, resource.GlanceMetadata, v.ID, map[string]string{"os": "x"}, false, resource.VolumeStatusRule{}); err != nil {
			t.Fatal(err)
		}
		all, err := s.VolumesMetadata(ctx, resource.GlanceMetadata, []string{v.ID, missing})
		if err != nil || len(all) != 1 || all[v.ID]["os"] != "x" {
			t.Errorf("VolumesMetadata = %v, %v", all, err)
		}
	})
}
