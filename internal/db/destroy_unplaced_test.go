package db

import (
	"context"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// TestDestroyUnplacedVolume: the removal of a volume without a host requires, in its own
// statement, that the volume still has no host; a placed volume is left to its volume
// service with its claim and its quota.
func TestDestroyUnplacedVolume(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		placed := volume("p", func(v *resource.Volume) { v.Status = resource.StatusCreating })
		unplaced := volume("p", func(v *resource.Volume) { v.Status = resource.StatusError })
		mustCreate(t, s, placed)
		mustCreate(t, s, unplaced)
		host := "node1@file#file"
		if _, err := s.TransitionVolume(ctx, placed.ID, []string{resource.StatusCreating},
			resource.VolumeChange{Status: resource.StatusAvailable, Host: &host}); err != nil {
			t.Fatal(err)
		}

		wantInvalidState(t, s.DestroyUnplacedVolume(ctx, placed.ID, resource.DeletableStatuses), placed.ID, resource.StatusAvailable)
		if v, err := s.GetVolume(ctx, placed.ID); err != nil || v.Host != host || v.Status != resource.StatusAvailable {
			t.Fatalf("placed volume after the refused destroy: %+v, %v", v, err)
		}
		if err := s.DestroyUnplacedVolume(ctx, unplaced.ID, resource.DeletableStatuses); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetVolume(ctx, unplaced.ID)
		wantNotFound(t, err, "Volume", unplaced.ID)
		if n, err := s.CountVolumes(ctx, "p"); err != nil || n != 1 {
			t.Errorf("CountVolumes = %d, %v; want 1", n, err)
		}
	})
}
