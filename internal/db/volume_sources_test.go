package db

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// placedVolume creates a volume of size GiB placed on pool with its claim, in status.
func placedVolume(t testing.TB, s *Store, pool string, size int, status string) *resource.Volume {
	t.Helper()
	v := creatingVolume(t, s, size)
	mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: pool, Size: size}, true)
	if status != resource.StatusCreating {
		if _, err := s.TransitionVolume(context.Background(), v.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func claimedGB(t testing.TB, s *Store, id string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow("SELECT claimed_gb FROM volumes WHERE id = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBeginExtend(t *testing.T) {
	avail := []string{resource.StatusAvailable}
	cases := []struct {
		name      string
		status    string
		from      []string
		size      int // what the caller checked against; 0 = the volume's
		newSize   int
		poolTotal float64
		wantErr   error
		claimed   bool
	}{
		{name: "available grows", status: resource.StatusAvailable, from: avail, newSize: 5, poolTotal: 10, claimed: true},
		{name: "in-use grows", status: resource.StatusInUse, from: []string{resource.StatusInUse}, newSize: 3, poolTotal: 10, claimed: true},
		{name: "fills the pool exactly", status: resource.StatusAvailable, from: avail, newSize: 10, poolTotal: 10, claimed: true},
		{name: "pool too small", status: resource.StatusAvailable, from: avail, newSize: 11, poolTotal: 10},
		{name: "wrong status", status: resource.StatusInUse, from: avail, newSize: 5, poolTotal: 10, wantErr: resource.ErrInvalidState},
		{name: "size changed meanwhile", status: resource.StatusAvailable, from: avail, size: 1, newSize: 5, poolTotal: 10, wantErr: resource.ErrInvalidState},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				mustUpsert(t, s, poolCap("x@b#p", c.poolTotal))
				v := placedVolume(t, s, "x@b#p", 2, c.status)
				size := c.size
				if size == 0 {
					size = v.Size
				}
				res, out, err := s.BeginExtend(ctx, v.ID, c.from, size, c.newSize, message("extend_volume"))
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("err = %v, want %v", err, c.wantErr)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				got, _ := s.GetVolume(ctx, v.ID)
				if c.claimed {
					if !res.Claimed || len(out) != 1 {
						t.Fatalf("claimed %v, %d messages; want a claim and the cast", res.Claimed, len(out))
					}
					if got.Status != resource.StatusExtending || got.Size != 2 {
						t.Errorf("volume %s %d GiB, want extending, still 2 GiB", got.Status, got.Size)
					}
					if cl, a := claimedGB(t, s, v.ID), allocated(t, s, "x@b#p"); cl != c.newSize || a != int64(c.newSize) {
						t.Errorf("claimed_gb %d, allocated_gb %d; want both %d", cl, a, c.newSize)
					}
					return
				}
				if res.Claimed || len(out) != 0 || countRows(t, s, "outbox") != 0 {
					t.Errorf("claimed %v, %d messages, %d outbox rows; want nothing", res.Claimed, len(out), countRows(t, s, "outbox"))
				}
				if c.wantErr == nil && (res.LimitGB != c.poolTotal || res.AllocatedGB != 2) {
					t.Errorf("result %+v, want allocated 2 of limit %v", res, c.poolTotal)
				}
				if got.Status != c.status || claimedGB(t, s, v.ID) != 2 || allocated(t, s, "x@b#p") != 2 {
					t.Errorf("volume %s claimed %d, pool %d; want unchanged (%s, 2, 2)", got.Status, claimedGB(t, s, v.ID), allocated(t, s, "x@b#p"), c.status)
				}
			})
		})
	}
}

func TestBeginExtendRefusals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		avail := []string{resource.StatusAvailable}
		if _, _, err := s.BeginExtend(ctx, "00000000-0000-4000-8000-000000000000", avail, 1, 2); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("missing volume: %v, want not found", err)
		}
		mustUpsert(t, s, poolCap("y@b#p", 10))
		v := placedVolume(t, s, "y@b#p", 2, resource.StatusAvailable)
		if _, _, err := s.BeginExtend(ctx, v.ID, avail, 2, 2); err == nil {
			t.Error("extend to the same size accepted")
		}
		if _, _, err := s.BeginExtend(ctx, v.ID, nil, 2, 3); err == nil {
			t.Error("extend with no status accepted")
		}
		// A pool without a row (never reported) takes nothing.
		if _, err := s.db.Exec("UPDATE volumes SET host = 'z@b#p' WHERE id = ?", v.ID); err != nil {
			t.Fatal(err)
		}
		res, _, err := s.BeginExtend(ctx, v.ID, avail, 2, 3)
		if err != nil || res.Claimed || !res.NoPool {
			t.Errorf("unrecorded pool: %+v, %v; want NoPool", res, err)
		}
	})
}

// TestBeginExtendRace extends 20 volumes at once on a pool that has room for 5 of them: exactly
// 5 win, and the pool's claims never pass its limit.
func TestBeginExtendRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustUpsert(t, s, poolCap("r@b#p", 25)) // 20 × 1 GiB placed, 5 GiB of room
		vols := make([]*resource.Volume, 20)
		for i := range vols {
			vols[i] = placedVolume(t, s, "r@b#p", 1, resource.StatusAvailable)
		}
		stop := make(chan struct{})
		var (
			wg, watch sync.WaitGroup
			mu        sync.Mutex
			wins      int
			worst     int64
		)
		watch.Add(1)
		go func() {
			defer watch.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				var a int64
				if err := s.db.QueryRow("SELECT allocated_gb FROM pools WHERE name = 'r@b#p'").Scan(&a); err == nil && a > worst {
					worst = a
				}
			}
		}()
		for _, v := range vols {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, _, err := s.BeginExtend(ctx, v.ID, []string{resource.StatusAvailable}, 1, 2)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Claimed {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(stop)
		watch.Wait()
		if wins != 5 {
			t.Errorf("%d extends won, want exactly 5", wins)
		}
		if a := allocated(t, s, "r@b#p"); a != 25 {
			t.Errorf("allocated = %d, want 25", a)
		}
		if worst > 25 {
			t.Errorf("the pool's claims reached %d GiB, over its limit of 25", worst)
		}
		var extending int
		if err := s.db.QueryRow("SELECT COUNT(*) FROM volumes WHERE status = 'extending' AND claimed_gb = 2").Scan(&extending); err != nil || extending != 5 {
			t.Errorf("%d volumes extending with a 2 GiB claim (%v), want 5", extending, err)
		}
	})
}

func TestRetype(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := dbTime(time.Now())
		if _, err := s.db.Exec(`INSERT INTO volume_types (id, name, is_public, created_at, deleted) VALUES (?, 'gold', 1, ?, 0)`,
			"11111111-1111-4111-8111-111111111111", now); err != nil {
			t.Fatal(err)
		}
		gold := "11111111-1111-4111-8111-111111111111"
		both := []string{resource.StatusAvailable, resource.StatusInUse}
		v := volume("p")
		mustCreate(t, s, v)

		if err := s.Retype(ctx, v.ID, both, DefaultVolumeTypeID, gold, true); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetVolume(ctx, v.ID)
		if got.VolumeTypeID != gold || got.VolumeTypeName != "gold" || !got.Multiattach || got.Status != resource.StatusAvailable {
			t.Errorf("after retype: type %s (%s), multiattach %v, %s", got.VolumeTypeID, got.VolumeTypeName, got.Multiattach, got.Status)
		}
		for _, c := range []struct {
			name      string
			from      []string
			fromType  string
			newType   string
			wantError error
		}{
			{"same type", both, gold, gold, resource.ErrInvalidState},
			{"type changed meanwhile", both, DefaultVolumeTypeID, gold, resource.ErrInvalidState},
			{"wrong status", []string{resource.StatusInUse}, gold, DefaultVolumeTypeID, resource.ErrInvalidState},
			{"unknown type", both, gold, "22222222-2222-4222-8222-222222222222", resource.ErrNotFound},
		} {
			if err := s.Retype(ctx, v.ID, c.from, c.fromType, c.newType, false); !errors.Is(err, c.wantError) {
				t.Errorf("%s: %v, want %v", c.name, err, c.wantError)
			}
		}
		if err := s.Retype(ctx, "00000000-0000-4000-8000-000000000000", both, gold, DefaultVolumeTypeID, false); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("missing volume: %v", err)
		}
		if got, _ := s.GetVolume(ctx, v.ID); got.VolumeTypeID != gold {
			t.Errorf("a refused retype changed the type to %s", got.VolumeTypeID)
		}
	})
}
