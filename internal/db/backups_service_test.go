package db

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// TestBackupTempVolume: the temporary volume of a backup is recorded with its row, charged to
// no quota, marked temporary, answered again when asked twice, and removed with the backup's
// temp_volume_id cleared.
func TestBackupTempVolume(t *testing.T) {
	forEachDialect(t, testBackupTempVolume)
}

func testBackupTempVolume(t *testing.T, s *Store) {
	ctx := context.Background()
	v := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusInUse,
		AttachStatus: resource.AttachDetached, Host: "h@b#p"}
	if _, err := s.CreateVolume(ctx, v); err != nil {
		t.Fatal(err)
	}
	b := &resource.Backup{VolumeID: v.ID, ProjectID: "p", UserID: "u"}
	if _, err := s.CreateBackup(ctx, b, resource.BackupCreate{Force: true}); err != nil {
		t.Fatal(err)
	}
	before := usage(t, s, "p", resource.QuotaVolumes)
	temp := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Host: v.Host, SourceVolID: v.ID}
	id, err := s.CreateBackupTempVolume(ctx, b.ID, temp)
	if err != nil || id != temp.ID {
		t.Fatalf("CreateBackupTempVolume = %q, %v", id, err)
	}
	again, err := s.CreateBackupTempVolume(ctx, b.ID, &resource.Volume{ID: uuid.NewString(), ProjectID: "p", Size: 1})
	if err != nil || again != temp.ID {
		t.Fatalf("second CreateBackupTempVolume = %q, %v; want %s", again, err, temp.ID)
	}
	if got := usage(t, s, "p", resource.QuotaVolumes); got != before {
		t.Fatalf("volumes in use %d after the temporary volume, want %d", got, before)
	}
	admin, err := s.VolumeMetadata(ctx, resource.AdminMetadata, temp.ID)
	if err != nil || admin[AdminMetadataTemporary] != "True" {
		t.Fatalf("admin metadata = %v, %v", admin, err)
	}
	if got, _ := s.GetBackup(ctx, b.ID); got.TempVolumeID != temp.ID {
		t.Fatalf("temp_volume_id = %q", got.TempVolumeID)
	}
	if prev, err := s.VolumePreviousStatus(ctx, v.ID); err != nil || prev != resource.StatusInUse {
		t.Fatalf("previous status = %q, %v", prev, err)
	}
	for i := 0; i < 2; i++ {
		if err := s.DestroyBackupTempVolume(ctx, b.ID, temp.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetVolume(ctx, temp.ID); !errors.Is(err, resource.ErrNotFound) {
		t.Fatalf("temporary volume still there: %v", err)
	}
	if got, _ := s.GetBackup(ctx, b.ID); got.TempVolumeID != "" {
		t.Fatalf("temp_volume_id = %q after the removal", got.TempVolumeID)
	}
	if got := usage(t, s, "p", resource.QuotaVolumes); got != before {
		t.Fatalf("volumes in use %d after the removal, want %d", got, before)
	}
}

// TestNewVolumeRestore: a restore into a new volume starts only from a creating volume and an
// available backup, and ends the volume available or error.
func TestNewVolumeRestore(t *testing.T) {
	forEachDialect(t, testNewVolumeRestore)
}

func testNewVolumeRestore(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, ok := range []bool{true, false} {
		src := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusAvailable, Host: "h@b#p"}
		if _, err := s.CreateVolume(ctx, src); err != nil {
			t.Fatal(err)
		}
		b := &resource.Backup{VolumeID: src.ID, ProjectID: "p", UserID: "u"}
		if _, err := s.CreateBackup(ctx, b, resource.BackupCreate{}); err != nil {
			t.Fatal(err)
		}
		nv := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusCreating, Host: "h@b#p"}
		if _, err := s.CreateVolume(ctx, nv); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartNewVolumeRestore(ctx, b.ID, nv.ID, "node1"); !errors.Is(err, resource.ErrInvalidState) {
			t.Fatalf("restore of a creating backup: %v, want invalid state", err)
		}
		if err := s.FinishBackup(ctx, b.ID, resource.BackupChange{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartNewVolumeRestore(ctx, b.ID, src.ID, "node1"); !errors.Is(err, resource.ErrInvalidState) {
			t.Fatalf("restore into an available volume: %v, want invalid state", err)
		}
		if _, err := s.StartNewVolumeRestore(ctx, b.ID, nv.ID, "node1"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetBackup(ctx, b.ID)
		if got.Status != resource.BackupRestoring || got.RestoreVolumeID != nv.ID || got.Host != "node1" {
			t.Fatalf("backup = %+v", got)
		}
		if err := s.EndNewVolumeRestore(ctx, b.ID, nv.ID, ok, nil); err != nil {
			t.Fatal(err)
		}
		want := resource.StatusAvailable
		if !ok {
			want = resource.StatusError
		}
		vol, _ := s.GetVolume(ctx, nv.ID)
		if got, _ := s.GetBackup(ctx, b.ID); vol.Status != want || got.Status != resource.BackupAvailable {
			t.Fatalf("ok=%v: volume %s, backup %s", ok, vol.Status, got.Status)
		}
		if ok && vol.Metadata[resource.BackupMetadataKeySource] != b.ID {
			t.Fatalf("src_backup_id = %q", vol.Metadata[resource.BackupMetadataKeySource])
		}
	}
}
