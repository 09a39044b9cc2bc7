package db

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// poolCap builds the capacity figures of a thick pool of total GiB; change adjusts them.
func poolCap(name string, total float64, change ...func(*resource.PoolCapacity)) resource.PoolCapacity {
	p := resource.PoolCapacity{Name: name, Backend: name[:len(name)-len("#p")], TotalGB: &total, Ratio: 1,
		ReportedAt: time.Now().UTC().Truncate(time.Microsecond)}
	for _, c := range change {
		c(&p)
	}
	return p
}

func mustUpsert(t testing.TB, s *Store, p resource.PoolCapacity) {
	t.Helper()
	if err := s.UpsertPool(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func allocated(t testing.TB, s *Store, name string) int64 {
	t.Helper()
	p, err := s.GetPool(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p.AllocatedGB
}

// creatingVolume creates a volume in creating, without a host, of size GiB.
func creatingVolume(t testing.TB, s *Store, size int) *resource.Volume {
	t.Helper()
	v := volume("p", func(v *resource.Volume) { v.Status, v.Size = resource.StatusCreating, size })
	mustCreate(t, s, v)
	return v
}

func mustClaim(t testing.TB, s *Store, c resource.Claim, want bool) resource.ClaimResult {
	t.Helper()
	res, err := s.ClaimPlacement(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Claimed != want {
		t.Fatalf("claim %+v: claimed %v, want %v (result %+v)", c, res.Claimed, want, res)
	}
	return res
}

func TestLimitGB(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	tests := []struct {
		name string
		p    resource.PoolCapacity
		thin bool
		want float64
	}{
		{"thick", resource.PoolCapacity{TotalGB: f(100), ReservedPercentage: 10, Ratio: 1}, true, 90},
		{"reserved floors", resource.PoolCapacity{TotalGB: f(250), ReservedPercentage: 7.5, Ratio: 1}, false, 232},
		{"thin", resource.PoolCapacity{TotalGB: f(100), ReservedPercentage: 10, Ratio: 20, Thin: true}, true, 1990},
		{"thick request on thin pool", resource.PoolCapacity{TotalGB: f(100), ReservedPercentage: 10, Ratio: 20, Thin: true}, false, 90},
		{"thin, ratio below 1", resource.PoolCapacity{TotalGB: f(100), Ratio: 0.5, Thin: true}, true, 0},
		{"thin, ratio not a number", resource.PoolCapacity{TotalGB: f(100), Ratio: math.NaN(), Thin: true}, true, 0},
		{"no total", resource.PoolCapacity{Ratio: 1}, true, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LimitGB(tt.p, tt.thin); got != tt.want {
				t.Errorf("LimitGB = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpsertPool(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := poolCap("h@b#p", 100, func(p *resource.PoolCapacity) { p.ReservedPercentage, p.Thin, p.Ratio = 5, true, 2.5 })
		mustUpsert(t, s, p)
		got, err := s.GetPool(ctx, "h@b#p")
		if err != nil {
			t.Fatal(err)
		}
		if got.Backend != "h@b" || *got.TotalGB != 100 || got.ReservedPercentage != 5 || got.Ratio != 2.5 || !got.Thin ||
			got.AllocatedGB != 0 || !got.ReportedAt.Equal(p.ReportedAt) {
			t.Errorf("pool = %+v (total %v)", got, *got.TotalGB)
		}
		// A newer report replaces the figures; an older one changes nothing.
		newer := poolCap("h@b#p", 200, func(q *resource.PoolCapacity) { q.ReportedAt = p.ReportedAt.Add(time.Second); q.Ratio = math.NaN() })
		mustUpsert(t, s, newer)
		older := poolCap("h@b#p", 300, func(q *resource.PoolCapacity) { q.ReportedAt = p.ReportedAt.Add(-time.Second); q.TotalGB = nil })
		mustUpsert(t, s, older)
		got, err = s.GetPool(ctx, "h@b#p")
		if err != nil {
			t.Fatal(err)
		}
		if got.TotalGB == nil || *got.TotalGB != 200 || !math.IsNaN(got.Ratio) || got.Thin {
			t.Errorf("after a newer and an older report: %+v", got)
		}
		if _, err := s.GetPool(ctx, "h@b#other"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetPool of a missing pool: %v, want not found", err)
		}
		mustUpsert(t, s, poolCap("a@b#p", 1))
		pools, err := s.ListPools(ctx)
		if err != nil || len(pools) != 2 || pools[0].Name != "a@b#p" || pools[1].Name != "h@b#p" {
			t.Errorf("ListPools = %v, %v", pools, err)
		}
	})
}

// TestUpsertPoolFirstReportsRace: the first reports of several pools arrive at once (every
// start of a deployment). They must all be recorded; an UPDATE-then-INSERT deadlocked here.
func TestUpsertPoolFirstReportsRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		for round := 0; round < 10; round++ {
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.UpsertPool(context.Background(), poolCap(fmt.Sprintf("r%d@b%d#p", round, i), 10)); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("round %d: %v", round, err)
			}
		}
		pools, err := s.ListPools(context.Background())
		if err != nil || len(pools) != 80 {
			t.Fatalf("ListPools: %d pools, %v; want 80", len(pools), err)
		}
	})
}

func TestClaimPlacement(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustUpsert(t, s, poolCap("a@b#p", 100, func(p *resource.PoolCapacity) { p.ReservedPercentage = 10 })) // limit 90
		mustUpsert(t, s, poolCap("c@d#p", 50))
		v1 := creatingVolume(t, s, 60)
		mustClaim(t, s, resource.Claim{VolumeID: v1.ID, Pool: "a@b#p", Size: 60}, true)
		if got, _ := s.GetVolume(ctx, v1.ID); got.Host != "a@b#p" {
			t.Errorf("host = %q, want a@b#p", got.Host)
		}
		// 60 + 40 > 90: no room, and nothing changes.
		v2 := creatingVolume(t, s, 40)
		res := mustClaim(t, s, resource.Claim{VolumeID: v2.ID, Pool: "a@b#p", Size: 40}, false)
		if res.AllocatedGB != 60 || res.LimitGB != 90 || res.NoPool {
			t.Errorf("no-room result = %+v, want allocated 60 limit 90", res)
		}
		if got, _ := s.GetVolume(ctx, v2.ID); got.Host != "" {
			t.Errorf("host of an unclaimed volume = %q, want none", got.Host)
		}
		// 60 + 30 = 90 fits exactly.
		mustClaim(t, s, resource.Claim{VolumeID: v2.ID, Pool: "a@b#p", Size: 30}, true)
		if a := allocated(t, s, "a@b#p"); a != 90 {
			t.Errorf("allocated = %d, want 90", a)
		}
		// A second first placement of the same volume loses: it has a host.
		if _, err := s.ClaimPlacement(ctx, resource.Claim{VolumeID: v2.ID, Pool: "c@d#p", Size: 30}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("claim of a placed volume: %v, want invalid state", err)
		}
		// A pool nobody reported has no room.
		v3 := creatingVolume(t, s, 1)
		if res := mustClaim(t, s, resource.Claim{VolumeID: v3.ID, Pool: "x@y#p", Size: 1}, false); !res.NoPool {
			t.Errorf("claim on an unknown pool: %+v, want NoPool", res)
		}
		// A retry moves the claim: released on the old pool, taken on the new one.
		mustClaim(t, s, resource.Claim{VolumeID: v2.ID, FromHost: "a@b#p", Pool: "c@d#p", Size: 30}, true)
		if a, c := allocated(t, s, "a@b#p"), allocated(t, s, "c@d#p"); a != 60 || c != 30 {
			t.Errorf("after the move: allocated %d and %d, want 60 and 30", a, c)
		}
		// A move that finds no room leaves the old claim and host.
		mustClaim(t, s, resource.Claim{VolumeID: v2.ID, FromHost: "c@d#p", Pool: "a@b#p", Size: 31}, false)
		if got, _ := s.GetVolume(ctx, v2.ID); got.Host != "c@d#p" || allocated(t, s, "c@d#p") != 30 {
			t.Errorf("after a failed move: host %q, allocated %d; want c@d#p, 30", got.Host, allocated(t, s, "c@d#p"))
		}
		// A move from a host the volume is not on loses.
		if _, err := s.ClaimPlacement(ctx, resource.Claim{VolumeID: v2.ID, FromHost: "a@b#p", Pool: "a@b#p", Size: 1}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("move from the wrong host: %v, want invalid state", err)
		}
		// A volume no longer creating cannot be placed; a missing one is not found.
		v4 := creatingVolume(t, s, 1)
		if _, err := s.TransitionVolume(ctx, v4.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimPlacement(ctx, resource.Claim{VolumeID: v4.ID, Pool: "a@b#p", Size: 1}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("claim for an errored volume: %v, want invalid state", err)
		}
		if _, err := s.ClaimPlacement(ctx, resource.Claim{VolumeID: "nope", Pool: "a@b#p", Size: 1}); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("claim for a missing volume: %v, want not found", err)
		}
	})
}

func TestClaimRules(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		tests := []struct {
			name  string
			p     resource.PoolCapacity
			size  int
			thick bool
			want  bool
		}{
			{"thick fits", poolCap("t1@b#p", 100, func(p *resource.PoolCapacity) { p.ReservedPercentage = 10 }), 90, false, true},
			{"thick over", poolCap("t2@b#p", 100, func(p *resource.PoolCapacity) { p.ReservedPercentage = 10 }), 91, false, false},
			{"thin over-subscribed", poolCap("t3@b#p", 100, func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, 2 }), 200, false, true},
			{"thin over the ratio", poolCap("t4@b#p", 100, func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, 2 }), 201, false, false},
			{"thin minus reserved", poolCap("t5@b#p", 100, func(p *resource.PoolCapacity) { p.Thin, p.Ratio, p.ReservedPercentage = true, 2, 10 }), 191, false, false},
			{"thick request on thin pool", poolCap("t6@b#p", 100, func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, 2 }), 101, true, false},
			{"thin, ratio below 1", poolCap("t7@b#p", 100, func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, 0.5 }), 1, false, false},
			{"thin, ratio not a number", poolCap("t8@b#p", 100, func(p *resource.PoolCapacity) { p.Thin, p.Ratio = true, math.NaN() }), 1, false, false},
			{"no limit", poolCap("t9@b#p", 0, func(p *resource.PoolCapacity) { p.TotalGB = nil }), 1 << 20, false, true},
			{"total 0", poolCap("ta@b#p", 0), 1, false, false},
			{"size 0 always fits", poolCap("tb@b#p", 0), 0, false, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustUpsert(t, s, tt.p)
				v := creatingVolume(t, s, tt.size)
				mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: tt.p.Name, Size: tt.size, Thick: tt.thick}, tt.want)
			})
		}
	})
}

// TestClaimRace: 50 goroutines claim 1 GiB each of a pool with room for exactly 10.
func TestClaimRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		mustUpsert(t, s, poolCap("r@b#p", 10))
		vols := make([]*resource.Volume, 50)
		for i := range vols {
			vols[i] = creatingVolume(t, s, 1)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for _, v := range vols {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.ClaimPlacement(context.Background(), resource.Claim{VolumeID: v.ID, Pool: "r@b#p", Size: 1})
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
		if wins != 10 {
			t.Errorf("%d claims won, want exactly 10", wins)
		}
		if a := allocated(t, s, "r@b#p"); a != 10 {
			t.Errorf("allocated = %d, want 10", a)
		}
		var placed int
		if err := s.db.QueryRow("SELECT COUNT(*) FROM volumes WHERE host = 'r@b#p' AND claimed_gb = 1").Scan(&placed); err != nil || placed != 10 {
			t.Errorf("%d volumes placed (%v), want 10", placed, err)
		}
	})
}

func TestReleaseClaims(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustUpsert(t, s, poolCap("a@b#p", 100))
		place := func(size int) *resource.Volume {
			v := creatingVolume(t, s, size)
			mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: "a@b#p", Size: size}, true)
			return v
		}
		failed, made, deleted := place(10), place(20), place(30)
		if a := allocated(t, s, "a@b#p"); a != 60 {
			t.Fatalf("allocated = %d, want 60", a)
		}
		// A create that fails for good releases its claim and keeps its host.
		if _, err := s.TransitionVolume(ctx, failed.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
			t.Fatal(err)
		}
		if a := allocated(t, s, "a@b#p"); a != 50 {
			t.Errorf("after creating → error: allocated = %d, want 50", a)
		}
		if v, _ := s.GetVolume(ctx, failed.ID); v.Host != "a@b#p" {
			t.Errorf("errored volume's host = %q, want kept", v.Host)
		}
		// Other transitions keep the claim; deleting the errored volume releases nothing more.
		if _, err := s.TransitionVolume(ctx, made.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []*resource.Volume{failed, made} {
			if _, err := s.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable, resource.StatusError}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DestroyVolume(ctx, failed.ID, []string{resource.StatusDeleting}); err != nil {
			t.Fatal(err)
		}
		if a := allocated(t, s, "a@b#p"); a != 50 {
			t.Errorf("after destroying the errored volume: allocated = %d, want 50", a)
		}
		if err := s.DestroyVolume(ctx, made.ID, []string{resource.StatusDeleting}); err != nil {
			t.Fatal(err)
		}
		if a := allocated(t, s, "a@b#p"); a != 30 {
			t.Errorf("after destroying a 20 GiB volume: allocated = %d, want 30", a)
		}
		// A destroy that loses changes nothing.
		if err := s.DestroyVolume(ctx, deleted.ID, []string{resource.StatusAvailable}); !errors.Is(err, resource.ErrInvalidState) {
			t.Errorf("destroy from the wrong status: %v", err)
		}
		// A host set outside ClaimPlacement drops the claim.
		other := "c@d#p"
		if _, err := s.TransitionVolume(ctx, deleted.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusCreating, Host: &other}); err != nil {
			t.Fatal(err)
		}
		if a := allocated(t, s, "a@b#p"); a != 0 {
			t.Errorf("after a host change: allocated = %d, want 0", a)
		}
	})
}

func TestReconcilePools(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		old := time.Now().UTC().Add(-time.Hour)
		mustUpsert(t, s, poolCap("a@b#p", 100))
		mustUpsert(t, s, poolCap("gone@b#p", 100, func(p *resource.PoolCapacity) { p.ReportedAt = old }))
		mustUpsert(t, s, poolCap("gone@c#p", 100, func(p *resource.PoolCapacity) { p.ReportedAt = old }))
		for _, pool := range []string{"a@b#p", "a@b#p", "gone@c#p"} {
			v := creatingVolume(t, s, 7)
			mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: pool, Size: 7}, true)
		}
		// Drift, as a hand-made change would leave it.
		if _, err := s.db.Exec("UPDATE pools SET allocated_gb = 99 WHERE name = 'a@b#p'"); err != nil {
			t.Fatal(err)
		}
		healed, err := s.ReconcilePools(ctx, time.Now().UTC().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(healed) != 1 || healed[0] != "a@b#p" {
			t.Errorf("healed %v, want [a@b#p]", healed)
		}
		if a := allocated(t, s, "a@b#p"); a != 14 {
			t.Errorf("allocated = %d, want 14", a)
		}
		// The stale pool that holds nothing is gone; the one with a claim stays.
		if _, err := s.GetPool(ctx, "gone@b#p"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("stale empty pool: %v, want deleted", err)
		}
		if a := allocated(t, s, "gone@c#p"); a != 7 {
			t.Errorf("stale pool with a claim: allocated %d, want 7", a)
		}
		// A report heals drift too.
		if _, err := s.db.Exec("UPDATE pools SET allocated_gb = 0 WHERE name = 'a@b#p'"); err != nil {
			t.Fatal(err)
		}
		mustUpsert(t, s, poolCap("a@b#p", 100))
		if a := allocated(t, s, "a@b#p"); a != 14 {
			t.Errorf("after a report: allocated = %d, want 14", a)
		}
	})
}

// TestPoolBackendDown: a report of a backend that is down keeps the pool's last figures, and
// the pool takes no claim — no placement, no extend — until a report says up again; releases
// still apply.
func TestPoolBackendDown(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		up := poolCap("r@rbd#volumes", 100)
		mustUpsert(t, s, up)
		held := placedVolume(t, s, "r@rbd#volumes", 10, resource.StatusAvailable)

		down := poolCap("r@rbd#volumes", 0, func(p *resource.PoolCapacity) {
			p.TotalGB, p.Down, p.ReportedAt = nil, true, up.ReportedAt.Add(time.Second) // capacity 'unknown'
		})
		mustUpsert(t, s, down)
		got, err := s.GetPool(ctx, "r@rbd#volumes")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Down || got.TotalGB == nil || *got.TotalGB != 100 || !got.ReportedAt.Equal(down.ReportedAt) || got.AllocatedGB != 10 {
			t.Errorf("pool after a down report = %+v, want down with the last figures (total 100, allocated 10)", got)
		}

		v := creatingVolume(t, s, 1)
		if res := mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: "r@rbd#volumes", Size: 1}, false); !res.Down || res.NoPool {
			t.Errorf("claim on a down pool: %+v, want refused as down", res)
		}
		if res, out, err := s.BeginExtend(ctx, held.ID, []string{resource.StatusAvailable}, 10, 11); err != nil || res.Claimed || !res.Down || len(out) != 0 {
			t.Errorf("extend on a down pool: %+v, %d messages, %v; want refused as down", res, len(out), err)
		}
		if cl := claimedGB(t, s, held.ID); cl != 10 {
			t.Errorf("claimed_gb after a refused extend = %d, want 10", cl)
		}

		// A size-0 claim (manage) is refused too: nothing goes to a backend that is down.
		v0 := creatingVolume(t, s, 0)
		mustClaim(t, s, resource.Claim{VolumeID: v0.ID, Pool: "r@rbd#volumes", Size: 0}, false)

		// The first report of a pool may already say down: recorded, and refusing.
		mustUpsert(t, s, poolCap("n@rbd#volumes", 0, func(p *resource.PoolCapacity) { p.TotalGB, p.Down = nil, true }))
		if res := mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: "n@rbd#volumes", Size: 1}, false); !res.Down {
			t.Errorf("claim on a pool first reported down: %+v, want refused as down", res)
		}

		// Up again: claims resume against the new figures.
		mustUpsert(t, s, poolCap("r@rbd#volumes", 50, func(p *resource.PoolCapacity) { p.ReportedAt = down.ReportedAt.Add(time.Second) }))
		if got, _ := s.GetPool(ctx, "r@rbd#volumes"); got.Down || *got.TotalGB != 50 {
			t.Errorf("pool after an up report = %+v, want up with total 50", got)
		}
		mustClaim(t, s, resource.Claim{VolumeID: v.ID, Pool: "r@rbd#volumes", Size: 1}, true)
	})
}
