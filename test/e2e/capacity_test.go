package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// TestCapacityClaims is the no-over-subscription test of the scheduler issue: two
// scoria-scheduler processes, 200 concurrent creates of 10 GiB against pools that hold exactly
// 50 such volumes in total, while a goroutine reads the claims table to check that no pool's
// claimed capacity ever exceeds its limit.
//
// The pools are ten thick local-file backends of 50 GiB (five per volume process): a
// backend's reported free capacity is capped by the filesystem's free space, so pools larger
// than the test machine's free disk would make the schedulers' own snapshots, not the claims,
// the limit.
func TestCapacityClaims(t *testing.T) {
	const (
		size           = 10
		perPoolGiB     = 50
		backendsPerVol = 5
		creates        = 200
		fit            = 50 // 10 pools × 50 GiB / 10 GiB
	)
	var volumes []cluster.VolumeSpec
	for _, host := range []string{"cap1", "cap2"} {
		spec := cluster.VolumeSpec{Host: host}
		for i := 1; i <= backendsPerVol; i++ {
			spec.Backends = append(spec.Backends, cluster.BackendSpec{Name: fmt.Sprintf("thick%d", i), Options: map[string]string{
				"local_capacity_gb": fmt.Sprint(perPoolGiB), "local_thin_provisioning": "false"}})
		}
		volumes = append(volumes, spec)
	}
	c := startCluster(t, cluster.Options{Name: "scoria_e2e_cap", Volumes: volumes, Schedulers: 2})
	db := c.DB()
	pools := 2 * backendsPerVol

	// Both schedulers record every pool before the creates go in.
	err := cluster.Poll(context.Background(), 30*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		rows, err := capReadPools(db)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(rows) == pools, fmt.Sprintf("%d pools recorded, want %d", len(rows), pools), nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The watcher: every few milliseconds, every pool's claims against its limit.
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		polls    int
		maxSeen  = map[string]int64{}
		overages []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			rows, err := capReadPools(db)
			if err != nil {
				overages = append(overages, "read pools: "+err.Error())
			}
			polls++
			for _, p := range rows {
				maxSeen[p.name] = max(maxSeen[p.name], p.allocated)
				if float64(p.allocated) > p.limit {
					overages = append(overages, fmt.Sprintf("%s: allocated_gb %d over its limit %v", p.name, p.allocated, p.limit))
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	began := time.Now()
	vols := createVolumes(t, c.Client(), creates, "cap", func(int) int { return size })
	var counts map[string]int
	err = cluster.Poll(context.Background(), 45*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		counts, err = capStatusCounts(db)
		if err != nil {
			return false, err.Error(), nil
		}
		return counts["creating"] == 0, fmt.Sprintf("statuses %v", counts), nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d creates settled in %s: %v; the watcher read the pools %d times, most claimed per pool %v",
		creates, time.Since(began).Round(time.Millisecond), counts, polls, maxSeen)
	for _, o := range overages {
		t.Error(o)
	}
	if counts["available"] != fit || counts["error"] != creates-fit || len(counts) != 2 {
		t.Errorf("statuses %v, want exactly %d available and %d error", counts, fit, creates-fit)
	}

	// Every failure says why, in the scheduler's log, and it is capacity.
	failures := c.Grep("volume could not be scheduled", "level=error")
	capacity := 0
	for _, line := range failures {
		if strings.Contains(line, "capacity") {
			capacity++
		}
	}
	if capacity != creates-fit {
		t.Errorf("%d scheduling failures name capacity, want %d; the failures:\n%s", capacity, creates-fit, strings.Join(capFirst(failures, 5), "\n"))
	}
	// Both schedulers placed volumes: they raced for the same pools.
	placed := c.Grep("volume placed", "level=info")
	for _, s := range []string{cluster.SchedulerProcess(1), cluster.SchedulerProcess(2)} {
		n := 0
		for _, line := range placed {
			if strings.HasPrefix(line, s+": ") {
				n++
			}
		}
		t.Logf("%s placed %d volumes", s, n)
		if n == 0 {
			t.Errorf("%s placed no volume; the test needs both schedulers to race", s)
		}
	}

	// At the end each pool's claims are the sizes of its volumes, and a full pool is full.
	capCheckClaims(t, db)

	ids := make([]string, len(vols))
	for i, v := range vols {
		ids[i] = v.ID
	}
	capDeleteAll(t, c, ids)
	rows, err := capReadPools(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rows {
		if p.allocated != 0 {
			t.Errorf("%s: allocated_gb %d after every volume was deleted, want 0", p.name, p.allocated)
		}
	}
	t.Logf("whole test %s", time.Since(began).Round(time.Millisecond))
}

type capPoolRow struct {
	name      string
	allocated int64
	limit     float64
}

// capReadPools reads the claims table and each pool's limit, by the rule of internal/db/pools.go
// (thick: total − floor(total × reserved% / 100); thin: total × ratio − reserved).
func capReadPools(db *sql.DB) ([]capPoolRow, error) {
	rows, err := db.Query(`SELECT name, allocated_gb, total_capacity_gb, reserved_percentage, max_over_subscription_ratio, thin FROM pools`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []capPoolRow
	for rows.Next() {
		var (
			p            capPoolRow
			total, ratio sql.NullFloat64
			reserved     float64
			thin         bool
		)
		if err := rows.Scan(&p.name, &p.allocated, &total, &reserved, &ratio, &thin); err != nil {
			return nil, err
		}
		p.limit = math.Inf(1)
		if total.Valid {
			r := math.Floor(total.Float64 * reserved / 100)
			p.limit = total.Float64 - r
			if thin {
				p.limit = total.Float64*ratio.Float64 - r
			}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func capStatusCounts(db *sql.DB) (map[string]int, error) {
	rows, err := db.Query("SELECT status, COUNT(*) FROM volumes WHERE deleted = 0 GROUP BY status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// capCheckClaims checks that every pool's allocated_gb is the sum of the sizes of the
// volumes that hold storage on it (placed, not deleted, not failed).
func capCheckClaims(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query(`SELECT p.name, p.allocated_gb, COALESCE(SUM(v.size), 0) FROM pools p
		LEFT JOIN volumes v ON v.host = p.name AND v.deleted = 0 AND v.status <> 'error'
		GROUP BY p.name, p.allocated_gb`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name           string
			allocated, sum int64
		)
		if err := rows.Scan(&name, &allocated, &sum); err != nil {
			t.Fatal(err)
		}
		if allocated != sum {
			t.Errorf("%s: allocated_gb %d, but its volumes hold %d GiB", name, allocated, sum)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func capFirst(lines []string, n int) []string {
	if len(lines) > n {
		return lines[:n]
	}
	return lines
}

// capDeleteAll deletes the volumes, 16 at a time, and waits until each is gone. Bounded, so
// that 200 deletes at once do not exhaust MariaDB's max_connections (151 by default) while the
// rest of the suite shares the server: a delete_volume whose handler fails on a refused
// connection is not retried.
func capDeleteAll(t *testing.T, c *cluster.Cluster, ids []string) {
	t.Helper()
	cl := c.Client()
	ctx := ctxT(t, time.Minute)
	work := make(chan string)
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if err := cl.DeleteVolume(ctx, id); err != nil {
					errs <- err
					continue
				}
				if err := c.WaitVolumeGone(id, 30*time.Second); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
