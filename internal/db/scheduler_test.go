package db

import (
	"context"
	"maps"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

func TestCountVolumesByHost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		create := func(host string, deleted bool) {
			t.Helper()
			v := volume("p1", func(v *resource.Volume) { v.Host = host })
			if _, err := s.CreateVolume(ctx, v); err != nil {
				t.Fatal(err)
			}
			if deleted {
				if err := s.DestroyVolume(ctx, v.ID, []string{resource.StatusAvailable}); err != nil {
					t.Fatal(err)
				}
			}
		}
		create("a@lvm#p", false)
		create("a@lvm#p", false)
		create("a@lvm#q", false)
		create("a@lvm#q", true) // deleted: not counted
		create("", false)       // not placed: not counted
		got, err := s.CountVolumesByHost(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"a@lvm#p": 2, "a@lvm#q": 1}; !maps.Equal(got, want) {
			t.Fatalf("counts = %v, want %v", got, want)
		}
	})
}
