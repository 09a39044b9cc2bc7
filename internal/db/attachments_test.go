package db

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

func reserve(t *testing.T, s *Store, volumeID string) *resource.Attachment {
	t.Helper()
	a := &resource.Attachment{ID: uuid.NewString(), VolumeID: volumeID, ProjectID: "p", InstanceUUID: "inst-1"}
	if err := s.ReserveAttachment(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func wantVolume(t *testing.T, s *Store, id, status, attach string) {
	t.Helper()
	v, err := s.GetVolume(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != status || v.AttachStatus != attach {
		t.Errorf("volume %s/%s, want %s/%s", v.Status, v.AttachStatus, status, attach)
	}
}

func TestAttachmentLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p")
		mustCreate(t, s, v)
		a := reserve(t, s, v.ID)
		wantVolume(t, s, v.ID, resource.StatusReserved, resource.AttachDetached)

		// A second attachment of a volume that is not multiattach is refused.
		var ise *resource.InvalidStateError
		if err := s.ReserveAttachment(ctx, &resource.Attachment{ID: uuid.NewString(), VolumeID: v.ID, ProjectID: "p"}); !errors.As(err, &ise) || ise.Status != resource.StatusReserved {
			t.Fatalf("second reserve: err = %v", err)
		}
		// Completing before the connection is allowed from reserved; detaching is not.
		if _, err := s.BeginDetachAttachment(ctx, a.ID, resource.AttachableStatuses, []string{resource.AttachAttached}); !errors.As(err, &ise) {
			t.Fatalf("detach of a reserved attachment: err = %v", err)
		}
		got, err := s.ConnectAttachment(ctx, a.ID, resource.AttachmentConnection{
			Connector: map[string]any{"host": "compute-1"}, ConnectionInfo: map[string]any{"driver_volume_type": "local"}, Mode: "rw", Host: "compute-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.AttachStatus != resource.AttachAttaching || got.AttachedHost != "compute-1" || got.ConnectionInfo["driver_volume_type"] != "local" || got.AttachMode != "rw" {
			t.Errorf("connected %+v", got)
		}
		wantVolume(t, s, v.ID, resource.StatusAttaching, resource.AttachAttaching)
		if got, err = s.MarkAttached(ctx, a.ID, resource.AttachmentAttach{Mountpoint: "/dev/vdb"}); err != nil {
			t.Fatal(err)
		}
		if got.AttachStatus != resource.AttachAttached || got.AttachTime == nil || got.Mountpoint != "/dev/vdb" {
			t.Errorf("attached %+v", got)
		}
		wantVolume(t, s, v.ID, resource.StatusInUse, resource.AttachAttached)
		if md, _ := s.VolumeMetadata(ctx, resource.AdminMetadata, v.ID); md["attached_mode"] != "rw" {
			t.Errorf("admin metadata %v", md)
		}
		if _, err := s.MarkAttached(ctx, a.ID, resource.AttachmentAttach{}); !errors.As(err, &ise) {
			t.Errorf("second complete: err = %v", err)
		}
		byVol, err := s.VolumesAttachments(ctx, []string{v.ID}, resource.AttachAttached)
		if err != nil || len(byVol[v.ID]) != 1 {
			t.Errorf("volumes attachments %v, %v", byVol, err)
		}

		if _, err := s.BeginDetachAttachment(ctx, a.ID, resource.AttachableStatuses, resource.LiveAttachStatuses); err != nil {
			t.Fatal(err)
		}
		wantVolume(t, s, v.ID, resource.StatusDetaching, resource.AttachDetaching)
		if _, err := s.DetachAttachment(ctx, a.ID, nil, []string{resource.AttachDetaching}); err != nil {
			t.Fatal(err)
		}
		wantVolume(t, s, v.ID, resource.StatusAvailable, resource.AttachDetached)
		var nf *resource.NotFoundError
		if _, err := s.GetAttachment(ctx, a.ID); !errors.As(err, &nf) {
			t.Errorf("deleted attachment: err = %v", err)
		}
		if md, _ := s.VolumeMetadata(ctx, resource.AdminMetadata, v.ID); md["attached_mode"] != "" {
			t.Errorf("attached_mode left: %v", md)
		}
		if _, err := s.MarkAttached(ctx, "nope", resource.AttachmentAttach{}); !errors.As(err, &nf) {
			t.Errorf("unknown attachment: err = %v", err)
		}
		if err := s.ReserveAttachment(ctx, &resource.Attachment{ID: uuid.NewString(), VolumeID: "nope", ProjectID: "p"}); !errors.As(err, &nf) {
			t.Errorf("unknown volume: err = %v", err)
		}
		// A volume in another status cannot be reserved.
		busy := volume("p", func(v *resource.Volume) { v.Status = resource.StatusCreating })
		mustCreate(t, s, busy)
		if err := s.ReserveAttachment(ctx, &resource.Attachment{ID: uuid.NewString(), VolumeID: busy.ID, ProjectID: "p"}); !errors.As(err, &ise) {
			t.Errorf("creating volume: err = %v", err)
		}
	})
}

func TestAttachmentMultiattach(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p", func(v *resource.Volume) { v.Multiattach = true })
		mustCreate(t, s, v)
		a := reserve(t, s, v.ID)
		if _, err := s.MarkAttached(ctx, a.ID, resource.AttachmentAttach{Mode: "ro"}); err != nil {
			t.Fatal(err)
		}
		b := reserve(t, s, v.ID)
		wantVolume(t, s, v.ID, resource.StatusInUse, resource.AttachAttached)
		list, err := s.ListAttachments(ctx, resource.AttachmentFilter{VolumeID: v.ID})
		if err != nil || len(list) != 2 || list[0].ID != b.ID {
			t.Fatalf("list %v, %v", list, err)
		}
		page, err := s.ListAttachments(ctx, resource.AttachmentFilter{VolumeID: v.ID, Marker: b.ID, Limit: 5})
		if err != nil || len(page) != 1 || page[0].ID != a.ID {
			t.Errorf("page after marker %v, %v", page, err)
		}
		if got, _ := s.ListAttachments(ctx, resource.AttachmentFilter{AttachStatus: resource.AttachAttached}); len(got) != 1 {
			t.Errorf("attached filter %d", len(got))
		}
		var nf *resource.NotFoundError
		if _, err := s.ListAttachments(ctx, resource.AttachmentFilter{Marker: "nope"}); !errors.As(err, &nf) {
			t.Errorf("bad marker: err = %v", err)
		}
		// Detaching the first leaves the volume reserved by the second.
		if _, err := s.DetachAttachment(ctx, a.ID, nil, resource.LiveAttachStatuses); err != nil {
			t.Fatal(err)
		}
		wantVolume(t, s, v.ID, resource.StatusReserved, resource.AttachDetached)
		stale, err := s.ListStaleAttachments(ctx, resource.PendingAttachStatuses, time.Now().Add(time.Hour))
		if err != nil || len(stale) != 1 || stale[0].ID != b.ID {
			t.Errorf("stale %v, %v", stale, err)
		}
		if stale, _ := s.ListStaleAttachments(ctx, resource.PendingAttachStatuses, time.Now().Add(-time.Hour)); len(stale) != 0 {
			t.Errorf("fresh attachment listed as stale")
		}
		if _, err := s.DetachAttachment(ctx, b.ID, nil, resource.LiveAttachStatuses); err != nil {
			t.Fatal(err)
		}
		wantVolume(t, s, v.ID, resource.StatusAvailable, resource.AttachDetached)
	})
}

// TestConcurrentReserves: of many concurrent reservations of a volume that is not
// multiattach, exactly one wins.
func TestConcurrentReserves(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p")
		mustCreate(t, s, v)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.ReserveAttachment(ctx, &resource.Attachment{ID: uuid.NewString(), VolumeID: v.ID, ProjectID: "p"})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			var ise *resource.InvalidStateError
			switch {
			case err == nil:
				won++
			case !errors.As(err, &ise):
				t.Errorf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d reservations won, want 1", won)
		}
		if list, _ := s.ListAttachments(ctx, resource.AttachmentFilter{VolumeID: v.ID}); len(list) != 1 {
			t.Errorf("%d attachments, want 1", len(list))
		}
	})
}
