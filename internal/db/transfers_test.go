package db

import (
	"context"
	"errors"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

func TestTransferLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("giver", func(v *resource.Volume) { v.Size = 3 })
		mustCreate(t, s, v)
		sn := &resource.Snapshot{ProjectID: "giver", UserID: "u", VolumeID: v.ID}
		if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}

		// A busy snapshot keeps the volume; so does another project.
		var sse *resource.SnapshotStateError
		if err := s.CreateTransfer(ctx, &resource.Transfer{VolumeID: v.ID}, ""); !errors.As(err, &sse) || sse.SnapshotID != sn.ID {
			t.Fatalf("busy snapshot: err = %v", err)
		}
		if _, err := s.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotCreating}, resource.SnapshotAvailable, nil); err != nil {
			t.Fatal(err)
		}
		var nf *resource.NotFoundError
		if err := s.CreateTransfer(ctx, &resource.Transfer{VolumeID: v.ID}, "thief"); !errors.As(err, &nf) {
			t.Fatalf("another project's volume: err = %v", err)
		}

		tr := &resource.Transfer{VolumeID: v.ID, Name: "gift"}
		if err := s.CreateTransfer(ctx, tr, "giver"); err != nil {
			t.Fatal(err)
		}
		if len(tr.AuthKey) != 16 || tr.SourceProjectID != "giver" {
			t.Errorf("transfer %+v", tr)
		}
		if got, _ := s.GetVolume(ctx, v.ID); got.Status != resource.StatusAwaitingTransfer {
			t.Errorf("volume %s, want awaiting-transfer", got.Status)
		}
		var ise *resource.InvalidStateError
		if err := s.CreateTransfer(ctx, &resource.Transfer{VolumeID: v.ID}, ""); !errors.As(err, &ise) {
			t.Errorf("second transfer: err = %v", err)
		}
		var raw string
		if err := s.db.QueryRow("SELECT crypt_hash FROM transfers WHERE id = ?", tr.ID).Scan(&raw); err != nil || raw == tr.AuthKey || len(raw) != 64 {
			t.Errorf("stored hash %q, %v", raw, err)
		}

		// Wrong key; receiver over quota: nothing changes.
		var bad *resource.InvalidAuthKeyError
		if _, err := s.AcceptTransfer(ctx, tr.ID, "wrong", "taker", "tu"); !errors.As(err, &bad) {
			t.Errorf("wrong key: err = %v", err)
		}
		if _, err := s.UpdateProjectQuotas(ctx, "taker", map[string]int64{"gigabytes": 5}); err != nil {
			t.Fatal(err)
		}
		_, err := s.AcceptTransfer(ctx, tr.ID, tr.AuthKey, "taker", "tu")
		wantOverQuota(t, err, resource.OverQuotaError{Resource: "gigabytes", Requested: 6, Limit: 5})
		if _, err := s.UpdateProjectQuotas(ctx, "taker", map[string]int64{"gigabytes": 6}); err != nil {
			t.Fatal(err)
		}

		got, err := s.AcceptTransfer(ctx, tr.ID, tr.AuthKey, "taker", "tu")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Accepted || got.DestinationProjectID != "taker" {
			t.Errorf("accepted transfer %+v", got)
		}
		vol, _ := s.GetVolume(ctx, v.ID)
		if vol.ProjectID != "taker" || vol.UserID != "tu" || vol.Status != resource.StatusAvailable {
			t.Errorf("volume after accept: project %s user %s status %s", vol.ProjectID, vol.UserID, vol.Status)
		}
		if snap, _ := s.GetSnapshot(ctx, sn.ID); snap.ProjectID != "taker" {
			t.Errorf("snapshot project %s, want taker", snap.ProjectID)
		}
		for _, c := range []struct {
			project, res string
			want         int64
		}{
			{"giver", "volumes", 0}, {"giver", "gigabytes", 0}, {"giver", "snapshots", 0},
			{"taker", "volumes", 1}, {"taker", "gigabytes", 6}, {"taker", "snapshots", 1}, {"taker", "volumes___DEFAULT__", 1},
		} {
			if got := usage(t, s, c.project, c.res); got != c.want {
				t.Errorf("%s %s in use = %d, want %d", c.project, c.res, got, c.want)
			}
		}
		if _, err := s.GetTransfer(ctx, tr.ID, ""); !errors.As(err, &nf) {
			t.Errorf("accepted transfer still shown: %v", err)
		}
		if _, err := s.AcceptTransfer(ctx, tr.ID, tr.AuthKey, "third", "x"); !errors.As(err, &nf) {
			t.Errorf("second accept: %v", err)
		}
	})
}

func TestTransferDeleteAndNoSnapshots(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("giver", func(v *resource.Volume) { v.Size = 2 })
		mustCreate(t, s, v)
		sn := &resource.Snapshot{ProjectID: "giver", UserID: "u", VolumeID: v.ID, Status: resource.SnapshotAvailable}
		if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		tr := &resource.Transfer{VolumeID: v.ID}
		if err := s.CreateTransfer(ctx, tr, ""); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListTransfers(ctx, resource.TransferFilter{ProjectID: "giver"})
		if err != nil || len(list) != 1 || list[0].ID != tr.ID {
			t.Fatalf("list = %v, %v", list, err)
		}
		var nf *resource.NotFoundError
		if err := s.DeleteTransfer(ctx, tr.ID, "other"); !errors.As(err, &nf) {
			t.Errorf("delete by another project: %v", err)
		}
		if err := s.DeleteTransfer(ctx, tr.ID, "giver"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetVolume(ctx, v.ID); got.Status != resource.StatusAvailable {
			t.Errorf("volume %s after the transfer's delete, want available", got.Status)
		}

		tr = &resource.Transfer{VolumeID: v.ID, NoSnapshots: true}
		if err := s.CreateTransfer(ctx, tr, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcceptTransfer(ctx, tr.ID, tr.AuthKey, "taker", "tu"); err != nil {
			t.Fatal(err)
		}
		if snap, _ := s.GetSnapshot(ctx, sn.ID); snap.ProjectID != "giver" {
			t.Errorf("no_snapshots: snapshot moved to %s", snap.ProjectID)
		}
		for _, c := range []struct {
			project, res string
			want         int64
		}{
			{"giver", "volumes", 0}, {"giver", "gigabytes", 2}, {"giver", "snapshots", 1},
			{"taker", "volumes", 1}, {"taker", "gigabytes", 2}, {"taker", "snapshots", 0},
		} {
			if got := usage(t, s, c.project, c.res); got != c.want {
				t.Errorf("%s %s in use = %d, want %d", c.project, c.res, got, c.want)
			}
		}
	})
}
