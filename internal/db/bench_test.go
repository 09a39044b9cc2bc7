package db

import (
	"context"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// benchVolume is a volume as the API creates it: three metadata keys.
func benchVolume() *resource.Volume {
	return volume("bench", func(v *resource.Volume) {
		v.Status = resource.StatusCreating
		v.Metadata = map[string]string{"a": "1", "b": "2", "c": "3"}
	})
}

func BenchmarkGetVolume(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s := newStore(b, d)
			v := benchVolume()
			mustCreate(b, s, v)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.GetVolume(ctx, v.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetVolumeForView reads a volume with all its view shows (metadata of each kind,
// attached attachments): what GET /volumes/{id} asks of the database, in one statement.
func BenchmarkGetVolumeForView(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s := newStore(b, d)
			v := benchVolume()
			mustCreate(b, s, v)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.GetVolumeForView(ctx, v.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetVolumeParallel(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s := newStore(b, d)
			v := benchVolume()
			mustCreate(b, s, v)
			ctx := context.Background()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.GetVolume(ctx, v.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCreateVolume creates a volume with three metadata keys and one outbox message:
// one transaction of three inserts.
func BenchmarkCreateVolume(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s := newStore(b, d)
			ctx := context.Background()
			msg := message("create_volume")
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.CreateVolume(ctx, benchVolume(), msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTransitionVolume(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s := newStore(b, d)
			v := benchVolume()
			mustCreate(b, s, v)
			ctx := context.Background()
			statuses := [2]string{resource.StatusCreating, resource.StatusAvailable}
			i := 0
			b.ResetTimer()
			for b.Loop() {
				from, to := statuses[i%2], statuses[(i+1)%2]
				i++
				if _, err := s.TransitionVolume(ctx, v.ID, []string{from}, resource.VolumeChange{Status: to}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
