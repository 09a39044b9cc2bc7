package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// reconciler is a reconciler of the fixture's backend whose clock runs ahead by skew.
func (f *fixture) reconciler(skew time.Duration) *Reconciler {
	return &Reconciler{Host: host, Driver: f.drv, Store: f.store, Log: f.m.Log,
		Now: func() time.Time { return time.Now().Add(skew) }}
}

// orphanFile makes the file name in the backend's directory, as a leak would leave it.
func (f *fixture) orphanFile(name string) string {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.drv.Dir, name), []byte("data"), 0o640); err != nil {
		f.t.Fatal(err)
	}
	return name
}

func (f *fixture) exists(name string) bool {
	_, err := os.Stat(filepath.Join(f.drv.Dir, name))
	return err == nil
}

// findings renders a report's findings as "problem name outcome-prefix" lines, sorted.
func findings(rep *ReconcileReport) []string {
	var out []string
	for _, f := range rep.Findings {
		outcome, _, _ := strings.Cut(f.Outcome, ":")
		out = append(out, f.Problem+" "+f.Object.Name+" "+outcome)
	}
	sort.Strings(out)
	return out
}

func TestReconcileLocalFile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// What must not be reported: a volume and its snapshot with their files, a create in
	// flight (its row, a partial copy and a complete file), a delete in flight, a volume
	// in error without a file, a file of a volume whose row is on another backend, and
	// files that are not Scoria's.
	live := f.made(1)
	f.snapshot(live, resource.SnapshotAvailable, true)
	creating := f.row(1, func(v *resource.Volume) { v.Status = resource.StatusCreating })
	f.orphanFile(driver.StorageName(creating.ID) + ".partial")
	creating2 := f.row(1, func(v *resource.Volume) { v.Status = resource.StatusCreating })
	f.orphanFile(driver.StorageName(creating2.ID))
	deleting := f.made(1, func(v *resource.Volume) { v.Status = resource.StatusDeleting })
	f.row(1, func(v *resource.Volume) { v.Status = resource.StatusError })
	elsewhere := f.row(1, func(v *resource.Volume) { v.Host = "node2@file#file" })
	f.orphanFile(driver.StorageName(elsewhere.ID))
	for _, name := range []string{"notes.txt", "volume-not-a-uuid", "tgt-volume-" + uuid.NewString() + ".conf"} {
		f.orphanFile(name)
	}

	// What must be: files no row owns (a leaked volume, a leaked partial copy, a leaked
	// snapshot, the file of a volume whose row was deleted), and rows whose file is gone.
	leaked := f.orphanFile(driver.StorageName(uuid.NewString()))
	leakedPartial := f.orphanFile(driver.StorageName(uuid.NewString()) + ".partial")
	leakedSnap := f.orphanFile(driver.SnapshotStorageName(uuid.NewString()))
	destroyed := f.made(1, func(v *resource.Volume) { v.Status = resource.StatusDeleting })
	if err := f.store.DestroyVolume(ctx, destroyed.ID, []string{resource.StatusDeleting}); err != nil {
		t.Fatal(err)
	}
	lost := f.row(2, func(v *resource.Volume) { v.Status = resource.StatusInUse })
	lostSnapVol := f.made(1)
	lostSnap := f.snapshot(lostSnapVol, resource.SnapshotAvailable, false)

	orphans := []string{leaked, leakedPartial, leakedSnap, driver.StorageName(destroyed.ID)}
	want := func(outcome string) []string {
		out := []string{"missing " + driver.StorageName(lost.ID) + " reported", "missing " + driver.SnapshotStorageName(lostSnap.ID) + " reported"}
		for _, o := range orphans {
			out = append(out, "orphan "+o+" "+outcome)
		}
		sort.Strings(out)
		return out
	}
	check := func(name string, skew time.Duration, opts ReconcileOptions, wantFindings []string, wantGone bool) {
		t.Helper()
		rep, err := f.reconciler(skew).Reconcile(ctx, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := findings(rep); strings.Join(got, "\n") != strings.Join(wantFindings, "\n") {
			t.Fatalf("%s: findings\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(wantFindings, "\n"))
		}
		for _, o := range orphans {
			if f.exists(o) == wantGone {
				t.Fatalf("%s: %s exists = %v", name, o, !wantGone)
			}
		}
		// Nothing that is not an orphan is ever touched.
		for _, file := range []string{driver.StorageName(live.ID), driver.StorageName(creating.ID) + ".partial", driver.StorageName(creating2.ID),
			driver.StorageName(deleting.ID), driver.StorageName(elsewhere.ID), "notes.txt", "volume-not-a-uuid"} {
			if !f.exists(file) {
				t.Fatalf("%s: %s was removed", name, file)
			}
		}
	}
	check("report only", 24*time.Hour, ReconcileOptions{}, want("reported"), false)
	check("within the grace period", 0, ReconcileOptions{DeleteOrphans: true, Grace: DefaultOrphanGrace}, want("kept"), false)
	check("after the grace period", DefaultOrphanGrace+time.Minute, ReconcileOptions{DeleteOrphans: true, Grace: DefaultOrphanGrace}, want("deleted"), true)
	check("again", 24*time.Hour, ReconcileOptions{DeleteOrphans: true}, want("")[:2], true)

	if _, err := f.reconciler(0).Reconcile(ctx, ReconcileOptions{DeleteOrphans: true, Grace: -time.Second}); err == nil {
		t.Error("a negative grace period was accepted")
	}
}

// TestReconcileNeverTakesWorkInFlight runs reconciliations that delete every orphan at once
// (no grace period) while volumes are created, snapshotted and deleted through the manager:
// every create must end with its file, and nothing in flight may be reported.
func TestReconcileNeverTakesWorkInFlight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 40
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := f.reconciler(0)
		for runs := 0; ; runs++ {
			select {
			case <-done:
				if runs == 0 {
					mu.Lock()
					bad = append(bad, "no reconciliation ran during the work")
					mu.Unlock()
				}
				return
			default:
			}
			rep, err := r.Reconcile(ctx, ReconcileOptions{DeleteOrphans: true, Grace: 0})
			mu.Lock()
			if err != nil {
				bad = append(bad, err.Error())
			} else {
				bad = append(bad, findings(rep)...)
			}
			mu.Unlock()
		}
	}()
	var ids []string
	for i := 0; i < n; i++ {
		v := f.volume(resource.StatusCreating, pool, 1)
		ids = append(ids, v.ID)
		if err := f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, Attempts: 1}); err != nil {
			t.Fatal(err)
		}
		sn := &resource.Snapshot{ProjectID: "p", UserID: "u", VolumeID: v.ID, Status: resource.SnapshotCreating}
		if _, err := f.store.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if err := f.m.CreateSnapshot(ctx, sn.ID); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 { // every other volume is deleted again, with its snapshot
			if _, err := f.store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}, resource.SnapshotDeleting, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.TransitionVolume(ctx, v.ID, resource.DeletableStatuses, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
				t.Fatal(err)
			}
			if err := f.m.DeleteVolume(ctx, v.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("reconciliations during the work found:\n%s", strings.Join(bad, "\n"))
	}
	for i, id := range ids {
		want, status := i%2 == 0, f.status(id)
		if f.exists(driver.StorageName(id)) != want || (want && status != resource.StatusAvailable) || (!want && status != "gone") {
			t.Errorf("volume %d: status %s, file exists %v", i, status, f.exists(driver.StorageName(id)))
		}
	}
}

// TestReconcileAtStart: a volume service with a reconciler reports at start an orphan a
// crash left, deletes nothing, logs each finding once with a request id, and reports the
// counts with the backend's capabilities.
func TestReconcileAtStart(t *testing.T) {
	f := newFixture(t)
	hook := logtest.NewLocal(f.m.Log.(*logrus.Logger))
	orphan := f.orphanFile(driver.StorageName(uuid.NewString()))
	f.m.Reconciler = &Reconciler{Host: host, Driver: f.drv, Store: f.store, Log: f.m.Log, Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	var lines []string
	for time.Now().Before(deadline) {
		lines = lines[:0]
		for _, e := range hook.AllEntries() {
			if strings.HasPrefix(e.Message, "storage orphan") {
				lines = append(lines, fmt.Sprintf("%s %v %v", e.Message, e.Data["object"], e.Data["request_id"] != nil))
			}
		}
		if len(lines) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The admin sees the counts among the pool's capabilities (get_pools?detail=true).
	extra := f.nextReport().Stats.Extra
	if extra[CapStorageOrphans] != float64(1) || extra[CapStorageMissing] != float64(0) || extra[CapStorageReconciledAt] == nil {
		t.Errorf("capabilities after the reconciliation: %v", extra)
	}
	cancel()
	if err := <-errc; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	want := "storage orphan: no volume or snapshot row owns this object " + orphan + " true"
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("log lines %q, want one %q", lines, want)
	}
	if !f.exists(orphan) {
		t.Fatal("the service deleted an orphan on its own")
	}
}

// TestReconcileWithoutInventory: a driver that cannot list its storage is told apart.
func TestReconcileWithoutInventory(t *testing.T) {
	f := newFixture(t)
	r := &Reconciler{Host: host, Driver: bareDriver{f.drv}, Store: f.store, Log: f.m.Log}
	if _, err := r.Reconcile(context.Background(), ReconcileOptions{}); err == nil || !strings.Contains(err.Error(), ErrNoInventory.Error()) {
		t.Fatalf("err = %v, want ErrNoInventory", err)
	}
}
