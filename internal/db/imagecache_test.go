package db

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

const (
	cacheHost    = "node1@file#file"
	cacheProject = "internal-project"
)

// cacheVolume builds a cache volume of the internal tenant on cacheHost.
func cacheVolume(imageID string, size int) *resource.Volume {
	return volume(cacheProject, func(v *resource.Volume) {
		v.Name, v.Size, v.Status, v.Host = "image-"+imageID, size, resource.StatusCreating, cacheHost
	})
}

// cachePool reports cacheHost's pool (once): a cache volume's size is claimed on it.
func cachePool(t testing.TB, s *Store) {
	t.Helper()
	if _, err := s.GetPool(context.Background(), cacheHost); err == nil {
		return
	}
	mustUpsert(t, s, resource.PoolCapacity{Name: cacheHost, Backend: strings.Split(cacheHost, "#")[0], TotalGB: ptr(1000.0), Ratio: 1,
		ReportedAt: time.Now().UTC().Truncate(time.Microsecond)})
}

// mustCache makes a cache volume of imageID and its entry.
func mustCache(t testing.TB, s *Store, imageID string, size int, updated time.Time) (*resource.Volume, *resource.ImageCacheEntry) {
	t.Helper()
	v := cacheVolume(imageID, size)
	cachePool(t, s)
	e := &resource.ImageCacheEntry{ImageID: imageID, ImageUpdatedAt: updated}
	if err := s.CreateImageCacheVolume(context.Background(), v, e); err != nil {
		t.Fatal(err)
	}
	return v, e
}

func inUse(t testing.TB, s *Store, project, res string) int64 {
	t.Helper()
	qs, err := s.ProjectQuotas(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := qs.Get(res)
	return e.InUse
}

func TestImageCacheEntryLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		updated := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
		img := uuid.NewString()
		if e, err := s.ImageCacheEntry(ctx, cacheHost, img); err != nil || e != nil {
			t.Fatalf("entry before any = %+v, %v; want nil, nil", e, err)
		}
		v, made := mustCache(t, s, img, 2, updated)
		if made.ID == 0 || made.VolumeID != v.ID || made.Host != cacheHost || made.Size != 2 {
			t.Fatalf("entry made = %+v", made)
		}
		got, err := s.ImageCacheEntry(ctx, cacheHost, img)
		if err != nil || got == nil {
			t.Fatalf("entry = %+v, %v", got, err)
		}
		if !got.ImageUpdatedAt.Equal(updated) || got.VolumeStatus != resource.StatusCreating || got.VolumeID != v.ID || got.Size != 2 {
			t.Fatalf("entry read = %+v, want updated %v, volume %s creating, size 2", got, updated, v.ID)
		}
		for _, other := range [][2]string{{"node1@file#other", img}, {cacheHost, uuid.NewString()}} {
			if e, err := s.ImageCacheEntry(ctx, other[0], other[1]); err != nil || e != nil {
				t.Fatalf("entry of %v = %+v, %v; want none", other, e, err)
			}
		}
		// The cache volume is an ordinary volume of the internal project, charged to its quota.
		row, err := s.GetVolume(ctx, v.ID)
		if err != nil || row.ProjectID != cacheProject || row.Name != "image-"+img {
			t.Fatalf("cache volume = %+v, %v", row, err)
		}
		if n, g := inUse(t, s, cacheProject, resource.QuotaVolumes), inUse(t, s, cacheProject, resource.QuotaGigabytes); n != 1 || g != 2 {
			t.Fatalf("internal project uses %d volumes, %d GiB; want 1, 2", n, g)
		}
		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ImageCacheEntry(ctx, cacheHost, img); got == nil || got.VolumeStatus != resource.StatusAvailable {
			t.Fatalf("entry after available = %+v", got)
		}
		// Deleting the volume makes its entry unusable and gives its quota back; the image
		// can be cached again (the stale entry gives way).
		if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
			t.Fatal(err)
		}
		if err := s.DestroyVolume(ctx, v.ID, []string{resource.StatusDeleting}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ImageCacheEntry(ctx, cacheHost, img); err != nil || got != nil {
			t.Fatalf("entry after its volume was deleted = %+v, %v", got, err)
		}
		if list, err := s.ImageCacheEntries(ctx, cacheHost); err != nil || len(list) != 0 {
			t.Fatalf("entries after the delete = %+v, %v", list, err)
		}
		if n := inUse(t, s, cacheProject, resource.QuotaVolumes); n != 0 {
			t.Fatalf("internal project uses %d volumes after the delete", n)
		}
		again, _ := mustCache(t, s, img, 2, updated)
		if got, err := s.ImageCacheEntry(ctx, cacheHost, img); err != nil || got == nil || got.VolumeID != again.ID {
			t.Fatalf("entry after caching again = %+v, %v; want volume %s", got, err, again.ID)
		}
		if n := countRows(t, s, "image_volume_cache_entries"); n != 1 {
			t.Fatalf("%d entry rows, want 1 (the stale one gave way)", n)
		}
	})
}

func TestImageCacheEntriesLRUOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []int64
		for i := 0; i < 3; i++ {
			_, e := mustCache(t, s, uuid.NewString(), i+1, time.Now())
			ids = append(ids, e.ID)
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(2 * time.Millisecond)
		if err := s.TouchImageCacheEntry(ctx, ids[0]); err != nil { // the oldest becomes the newest
			t.Fatal(err)
		}
		if err := s.TouchImageCacheEntry(ctx, 1<<40); err != nil {
			t.Fatalf("touch of a missing entry: %v", err)
		}
		got, err := s.ImageCacheEntries(ctx, cacheHost)
		if err != nil {
			t.Fatal(err)
		}
		var order []int64
		for _, e := range got {
			order = append(order, e.ID)
		}
		want := []int64{ids[0], ids[2], ids[1]}
		if len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
			t.Fatalf("entries most recently used first = %v, want %v", order, want)
		}
		if other, err := s.ImageCacheEntries(ctx, "node2@file#file"); err != nil || len(other) != 0 {
			t.Fatalf("entries of another host = %v, %v", other, err)
		}
	})
}

func TestCreateImageCacheVolumeRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Store, img string)
		want  func(error) bool
	}{
		{"image cached already", func(t *testing.T, s *Store, img string) { mustCache(t, s, img, 1, time.Now()) },
			func(err error) bool { return errors.Is(err, resource.ErrConflict) }},
		{"over the internal project's quota", func(t *testing.T, s *Store, img string) {
			if _, err := s.UpdateProjectQuotas(context.Background(), cacheProject, map[string]int64{resource.QuotaGigabytes: 1}); err != nil {
				t.Fatal(err)
			}
		}, func(err error) bool { var oq *resource.OverQuotaError; return errors.As(err, &oq) }},
		{"no room on its pool", func(t *testing.T, s *Store, img string) {
			mustUpsert(t, s, resource.PoolCapacity{Name: cacheHost, Backend: strings.Split(cacheHost, "#")[0], TotalGB: ptr(1.0), Ratio: 1,
				ReportedAt: time.Now().UTC().Truncate(time.Microsecond)})
		}, func(err error) bool { return errors.Is(err, errNoRoom) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				img := uuid.NewString()
				cachePool(t, s)
				tc.setup(t, s, img)
				volumesBefore, entriesBefore := countRows(t, s, "volumes"), countRows(t, s, "image_volume_cache_entries")
				gbBefore := inUse(t, s, cacheProject, resource.QuotaGigabytes)
				err := s.CreateImageCacheVolume(context.Background(), cacheVolume(img, 2), &resource.ImageCacheEntry{ImageID: img, ImageUpdatedAt: time.Now()})
				if !tc.want(err) {
					t.Fatalf("err = %v", err)
				}
				if v, e := countRows(t, s, "volumes"), countRows(t, s, "image_volume_cache_entries"); v != volumesBefore || e != entriesBefore {
					t.Fatalf("rows %d volumes, %d entries; want %d, %d (nothing written)", v, e, volumesBefore, entriesBefore)
				}
				if g := inUse(t, s, cacheProject, resource.QuotaGigabytes); g != gbBefore {
					t.Fatalf("gigabytes in use %d, want %d", g, gbBefore)
				}
			})
		})
	}
}

// Creates of one image at once: one caches it, the others are told it is cached.
func TestCreateImageCacheVolumeConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		img := uuid.NewString()
		cachePool(t, s)
		const n = 8
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  int
			errs []error
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.CreateImageCacheVolume(context.Background(), cacheVolume(img, 1), &resource.ImageCacheEntry{ImageID: img, ImageUpdatedAt: time.Now()})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won++
				} else if !errors.Is(err, resource.ErrConflict) {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || len(errs) > 0 {
			t.Fatalf("%d creates won (want 1); other errors: %v", won, errs)
		}
		if v, e := countRows(t, s, "volumes"), countRows(t, s, "image_volume_cache_entries"); v != 1 || e != 1 {
			t.Fatalf("%d volumes, %d entries; want 1 and 1", v, e)
		}
		if g := inUse(t, s, cacheProject, resource.QuotaVolumes); g != 1 {
			t.Fatalf("internal project uses %d volumes, want 1", g)
		}
	})
}
