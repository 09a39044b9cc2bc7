package volume

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/backend/lvm"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// reconcileWithDriver is the reconciler's behaviour on a real driver drv (its objects made
// through the driver itself): an orphan volume (and snapshot, when snapshots work here) is
// reported and kept without --delete-orphans, kept within the grace period, deleted past
// it; a volume whose object is gone is reported; a create in flight (row creating, object
// complete) and everything owned are never touched. drv's backend must hold nothing else
// that no row owns: the test deletes every orphan.
func reconcileWithDriver(t *testing.T, drv driver.Driver, snapshots bool) {
	f := newFixture(t)
	ctx := context.Background()
	create := func(v driver.Volume) {
		t.Helper()
		if _, err := drv.Create(ctx, v); err != nil {
			t.Fatalf("create %s: %v", v.Name, err)
		}
		t.Cleanup(func() { _ = drv.Delete(context.Background(), v) })
	}
	owned := f.row(1)
	create(driverVolume(owned))
	inFlight := f.row(1, func(v *resource.Volume) { v.Status = resource.StatusCreating })
	create(driverVolume(inFlight))
	missing := f.row(1)
	orphan := driver.Volume{ID: uuid.NewString(), SizeGiB: 1, Pool: "file"}
	orphan.Name = driver.StorageName(orphan.ID)
	create(orphan)
	want := []string{"missing volume " + missing.ID, "orphan volume " + orphan.ID}
	var ownedSnap *resource.Snapshot
	var orphanSnap driver.Snapshot
	snapper, _ := drv.(driver.Snapshotter)
	if snapshots {
		ownedSnap = f.snapshot(owned, resource.SnapshotAvailable, false)
		orphanSnap = driver.Snapshot{ID: uuid.NewString(), VolumeID: owned.ID, SizeGiB: 1}
		for _, s := range []driver.Snapshot{driverSnapshot(ownedSnap), orphanSnap} {
			if _, err := snapper.CreateSnapshot(ctx, s, driverVolume(owned)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = snapper.DeleteSnapshot(context.Background(), s, driverVolume(owned)) })
		}
		lostSnap := f.snapshot(owned, resource.SnapshotAvailable, false) // its object never made
		want = append(want, "orphan snapshot "+orphanSnap.ID, "missing snapshot "+lostSnap.ID)
	}
	sort.Strings(want)
	exists := func(v driver.Volume) bool {
		t.Helper()
		ok, err := drv.Exists(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	snapExists := func(s driver.Snapshot) bool {
		t.Helper()
		ok, err := snapper.SnapshotExists(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, c := range []struct {
		name    string
		skew    time.Duration
		opts    ReconcileOptions
		outcome string
	}{
		{"report only", 24 * time.Hour, ReconcileOptions{}, "reported"},
		{"within the grace period", 0, ReconcileOptions{DeleteOrphans: true, Grace: DefaultOrphanGrace}, "kept"},
		{"past the grace period", DefaultOrphanGrace + time.Minute, ReconcileOptions{DeleteOrphans: true, Grace: DefaultOrphanGrace}, "deleted"},
	} {
		r := &Reconciler{Host: host, Driver: drv, Store: f.store, Log: f.m.Log, Now: func() time.Time { return time.Now().Add(c.skew) }}
		rep, err := r.Reconcile(ctx, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, fd := range rep.Findings {
			got = append(got, fmt.Sprintf("%s %s %s", fd.Problem, fd.Object.Kind, fd.Object.ID))
			outcome, _, _ := strings.Cut(fd.Outcome, ":")
			if fd.Problem == ProblemOrphan && outcome != c.outcome {
				t.Errorf("%s: %s %s: outcome %q, want %s", c.name, fd.Problem, fd.Object.Name, fd.Outcome, c.outcome)
			}
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: findings\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if gone := c.outcome == "deleted"; exists(orphan) == gone || (snapshots && snapExists(orphanSnap) == gone) {
			t.Fatalf("%s: orphan volume exists %v (snapshot: %v)", c.name, exists(orphan), snapshots && snapExists(orphanSnap))
		}
		if !exists(driverVolume(owned)) || !exists(driverVolume(inFlight)) || (snapshots && !snapExists(driverSnapshot(ownedSnap))) {
			t.Fatalf("%s: an owned object or the create in flight was removed", c.name)
		}
	}
	rep, err := (&Reconciler{Host: host, Driver: drv, Store: f.store, Log: f.m.Log}).Reconcile(ctx, ReconcileOptions{})
	if wantMissing := 1 + map[bool]int{true: 1}[snapshots]; err != nil || rep.Orphans() != 0 || rep.Missing() != wantMissing {
		t.Fatalf("after the deletion: %+v, %v", rep, err)
	}
}

// TestReconcileLVM runs the reconciler on the real lvm2 with a volume group on a loop
// device (thick: this kernel has no device-mapper, so activation is off, volumes are
// metadata only, snapshots cannot be made, and volume_clear is none: see docs/lvm.md).
func TestReconcileLVM(t *testing.T) {
	vg, conf := lvmGroup(t)
	d := &lvm.Driver{VolumeGroup: vg, Type: lvm.TypeDefault, ConfFile: conf, Clear: lvm.ClearNone, SuppressFDWarnings: true, BackendName: "lvm"}
	if err := d.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	reconcileWithDriver(t, d, false)
}

// lvmGroup makes a volume group on a loop device from a sparse file (removed at cleanup)
// and returns its name and lvm.conf; without root, lvm2 or loop devices the test skips,
// or fails under CI=true.
func lvmGroup(t *testing.T) (string, string) {
	t.Helper()
	var miss string
	for _, bin := range []string{"lvm", "losetup"} {
		if _, err := exec.LookPath(bin); err != nil {
			miss = bin
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		miss = "loop devices"
	}
	if os.Geteuid() != 0 {
		miss = "root"
	}
	if miss != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the LVM test needs %s", miss)
		}
		t.Skipf("needs %s", miss)
	}
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		out, err := lvm.ExecRunner{}.Run(context.Background(), env, name, args...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "pv.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 4*driver.GiB); err != nil {
		t.Fatal(err)
	}
	loop := run(nil, "losetup", "-f", "--show", img)
	t.Cleanup(func() { _, _ = lvm.ExecRunner{}.Run(context.Background(), nil, "losetup", "-d", loop) })
	conf := filepath.Join(dir, "lvm.conf")
	text := fmt.Sprintf("global { activation = 0 }\ndevices { filter = [ \"a|^%s$|\", \"r|.*|\" ] obtain_device_list_from_udev = 0 }\nbackup { backup = 0 archive = 0 }\n", loop)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	vg := fmt.Sprintf("scoria-reconcile-%d", time.Now().UnixNano())
	env := []string{"LC_ALL=C", "LVM_SYSTEM_DIR=" + dir, "LVM_SUPPRESS_FD_WARNINGS=1"}
	run(env, "lvm", "pvcreate", "-y", loop)
	run(env, "lvm", "vgcreate", vg, loop)
	t.Cleanup(func() {
		_, _ = lvm.ExecRunner{}.Run(context.Background(), env, "lvm", "vgremove", "-f", vg)
		_, _ = lvm.ExecRunner{}.Run(context.Background(), env, "lvm", "pvremove", "-y", loop)
	})
	return vg, conf
}

// TestReconcileLocalFileDriver is reconcileWithDriver on the local-file driver.
func TestReconcileLocalFileDriver(t *testing.T) {
	f := newFixture(t)
	reconcileWithDriver(t, f.drv, true)
}
