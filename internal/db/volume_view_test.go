package db

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// TestGetVolumeForView checks the one-statement read of a volume's view against the queries
// it replaces (VolumesMetadata, VolumesAttachments): the same metadata of each kind, the same
// attached attachments in the same order.
func TestGetVolumeForView(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		bare := volume("p")
		mustCreate(t, s, bare)
		v := volume("p", func(v *resource.Volume) {
			v.Multiattach = true
			v.Metadata = map[string]string{"k1": "v1", "k2": ""}
		})
		mustCreate(t, s, v)
		if _, err := s.UpdateVolumeMetadata(ctx, resource.GlanceMetadata, v.ID, map[string]string{"image_id": "i1", "os_distro": "debian"}, false, resource.VolumeStatusRule{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateVolumeMetadata(ctx, resource.AdminMetadata, v.ID, map[string]string{"readonly": "True", "hidden": "x"}, false, resource.VolumeStatusRule{}); err != nil {
			t.Fatal(err)
		}
		var attached []string
		for i, host := range []string{"compute-1", "compute-2", ""} {
			a := &resource.Attachment{ID: uuid.NewString(), VolumeID: v.ID, ProjectID: "p", InstanceUUID: "inst-" + host}
			if err := s.ReserveAttachment(ctx, a); err != nil {
				t.Fatal(err)
			}
			if i == 2 {
				break // left reserved: not in the view
			}
			if _, err := s.ConnectAttachment(ctx, a.ID, resource.AttachmentConnection{Mode: "ro", Host: host}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.MarkAttached(ctx, a.ID, resource.AttachmentAttach{Mountpoint: "/dev/vd" + string(rune('b'+i))}); err != nil {
				t.Fatal(err)
			}
			attached = append(attached, a.ID)
		}

		got, err := s.GetVolumeForView(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.View == nil {
			t.Fatal("View not filled")
		}
		if !maps.Equal(got.Metadata, v.Metadata) {
			t.Errorf("metadata %v, want %v", got.Metadata, v.Metadata)
		}
		admin, err := s.VolumesMetadata(ctx, resource.AdminMetadata, []string{v.ID}, resource.VisibleAdminMetadataKeys...)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got.View.AdminMetadata, admin[v.ID]) || got.View.AdminMetadata["hidden"] != "" || got.View.AdminMetadata["readonly"] != "True" {
			t.Errorf("admin metadata %v, want %v (visible keys only)", got.View.AdminMetadata, admin[v.ID])
		}
		glance, err := s.VolumesMetadata(ctx, resource.GlanceMetadata, []string{v.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got.View.GlanceMetadata, glance[v.ID]) || len(glance[v.ID]) != 2 {
			t.Errorf("image metadata %v, want %v", got.View.GlanceMetadata, glance[v.ID])
		}
		want, err := s.VolumesAttachments(ctx, []string{v.ID}, resource.AttachAttached)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.View.Attachments) != len(attached) || len(want[v.ID]) != len(attached) {
			t.Fatalf("attachments %d (separate query %d), want %d", len(got.View.Attachments), len(want[v.ID]), len(attached))
		}
		for i, a := range got.View.Attachments {
			w := want[v.ID][i]
			if a.ID != w.ID || a.InstanceUUID != w.InstanceUUID || a.AttachedHost != w.AttachedHost || a.Mountpoint != w.Mountpoint ||
				a.AttachMode != w.AttachMode || a.AttachStatus != resource.AttachAttached || a.AttachTime == nil || !a.AttachTime.Equal(*w.AttachTime) {
				t.Errorf("attachment %d: %+v, want %+v", i, a, w)
			}
		}

		b, err := s.GetVolumeForView(ctx, bare.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.View == nil || len(b.Metadata) != 0 || len(b.View.AdminMetadata) != 0 || len(b.View.GlanceMetadata) != 0 || len(b.View.Attachments) != 0 {
			t.Errorf("bare volume: metadata %v, view %+v", b.Metadata, b.View)
		}
		// A volume whose joined rows would pass volumeViewRows (20 user × 20 image metadata
		// items) is read table by table: complete metadata, no View.
		big := volume("p", func(v *resource.Volume) {
			v.Metadata = map[string]string{}
			for i := range 20 {
				v.Metadata[fmt.Sprintf("k%02d", i)] = "v"
			}
		})
		mustCreate(t, s, big)
		gm := map[string]string{}
		for i := range 20 {
			gm[fmt.Sprintf("g%02d", i)] = "x"
		}
		if _, err := s.UpdateVolumeMetadata(ctx, resource.GlanceMetadata, big.ID, gm, false, resource.VolumeStatusRule{}); err != nil {
			t.Fatal(err)
		}
		gotBig, err := s.GetVolumeForView(ctx, big.ID)
		if err != nil {
			t.Fatal(err)
		}
		if gotBig.View != nil || !maps.Equal(gotBig.Metadata, big.Metadata) {
			t.Errorf("volume of 400 joined rows: view %v, %d metadata items; want no view and %d items", gotBig.View, len(gotBig.Metadata), len(big.Metadata))
		}

		missing := uuid.NewString()
		_, err = s.GetVolumeForView(ctx, missing)
		wantNotFound(t, err, "Volume", missing)
	})
}
