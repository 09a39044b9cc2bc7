//go:build ceph

package volume

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/backend/rbd"
	"github.com/scoria/scoria/pkg/driver"
)

// reconcilePool is the pool of the Ceph test cluster (deploy/ceph/ceph-up.sh) the RBD
// reconciler tests own: they delete every orphan in it, so they never run on the shared
// volumes pool.
const reconcilePool = "scoria-reconcile-test"

// rbdReconcileDriver returns an RBD driver on reconcilePool, made (as client.admin) when
// missing and emptied of Scoria's objects; without the cluster the test skips, or fails
// under CI=true.
func rbdReconcileDriver(t *testing.T) *rbd.Driver {
	t.Helper()
	conf := os.Getenv("SCORIA_TEST_CEPH_CONF")
	if conf == "" {
		conf = "/tmp/scoria-ceph/ceph.conf"
	}
	keyring := os.Getenv("SCORIA_TEST_CEPH_ADMIN_KEYRING")
	if keyring == "" {
		keyring = filepath.Join(filepath.Dir(conf), "ceph.client.admin.keyring")
	}
	admin := func(bin string, args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{"--conf", conf, "--name", "client.admin", "--keyring", keyring}, args...)...).CombinedOutput()
		if err != nil {
			return &exec.Error{Name: bin + " " + strings.Join(args, " "), Err: &cmdError{err, string(out)}}
		}
		return nil
	}
	err := admin("ceph", "osd", "pool", "create", reconcilePool, "8")
	if err == nil {
		err = admin("rbd", "pool", "init", reconcilePool)
	}
	if err != nil {
		msg := "the Ceph test cluster (deploy/ceph/ceph-up.sh, SCORIA_TEST_CEPH_CONF) cannot be used: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	d := &rbd.Driver{
		Conn: rbd.ConnConfig{ClusterName: "ceph", ConfFile: conf, User: "admin", Keyring: keyring, Pool: reconcilePool,
			Connect: 10 * time.Second, OpTimeout: 30 * time.Second, Retries: 1, Interval: time.Second},
		MaxCloneDepth: 5, ChunkSizeMiB: 4, ExclusivePool: true, BackendName: "ceph", OverSub: "20.0",
	}
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	// Empty the pool of what an earlier run left: snapshots and clones first, so a few passes.
	for pass := 0; pass < 5; pass++ {
		objs, err := d.ListObjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) == 0 {
			break
		}
		for _, o := range objs {
			if !o.Held {
				_ = d.DeleteObject(ctx, o)
			}
		}
	}
	return d
}

type cmdError struct {
	err error
	out string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.out) }

// TestReconcileRBD runs the reconciler on the real Ceph cluster: reconcileWithDriver with
// snapshots, then clones: an orphan clone of an owned volume is deleted past the grace
// period with the .clone_snap it hung from; an orphan snapshot an owned clone depends on is
// held, never reported nor deleted.
func TestReconcileRBD(t *testing.T) {
	d := rbdReconcileDriver(t)
	t.Run("volumes and snapshots", func(t *testing.T) { reconcileWithDriver(t, d, true) }) // leaves the pool empty
	t.Run("clones", func(t *testing.T) { reconcileClones(t, d) })
}

func reconcileClones(t *testing.T, d *rbd.Driver) {
	f := newFixture(t)
	ctx := context.Background()
	owned := f.row(1)
	if _, err := d.Create(ctx, driverVolume(owned)); err != nil {
		t.Fatal(err)
	}
	orphanClone := driver.Volume{ID: uuid.NewString(), SizeGiB: 1}
	orphanClone.Name = driver.StorageName(orphanClone.ID)
	if _, err := d.CreateClonedVolume(ctx, orphanClone, driverVolume(owned)); err != nil {
		t.Fatal(err)
	}
	heldSnap := driver.Snapshot{ID: uuid.NewString(), VolumeID: owned.ID, SizeGiB: 1}
	if _, err := d.CreateSnapshot(ctx, heldSnap, driverVolume(owned)); err != nil {
		t.Fatal(err)
	}
	child := f.row(1)
	if _, err := d.CreateVolumeFromSnapshot(ctx, driverVolume(child), heldSnap); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Host: host, Driver: d, Store: f.store, Log: f.m.Log, Now: func() time.Time { return time.Now().Add(time.Hour) }}
	rep, err := r.Reconcile(ctx, ReconcileOptions{DeleteOrphans: true, Grace: DefaultOrphanGrace})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Object.ID != orphanClone.ID || rep.Findings[0].Outcome != "deleted" {
		t.Fatalf("findings %+v, want the orphan clone deleted", rep.Findings)
	}
	objs, err := d.ListObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.ID == orphanClone.ID {
			t.Errorf("%s is left", o.Name)
		}
	}
	if ok, err := d.SnapshotExists(ctx, heldSnap); err != nil || !ok {
		t.Errorf("the held snapshot: exists %v, %v", ok, err)
	}
	if ok, err := d.Exists(ctx, driverVolume(child)); err != nil || !ok {
		t.Errorf("the owned clone: exists %v, %v", ok, err)
	}
	// Leave the pool empty: the clone, the snapshot, the volume.
	_ = d.Delete(ctx, driverVolume(child))
	_ = d.DeleteSnapshot(ctx, heldSnap, driverVolume(owned))
	_ = d.Delete(ctx, driverVolume(owned))
}
