//go:build ceph

package rbd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// Create makes a format-2 layering image of the size and the order of rbd_store_chunk_size.
// Idempotence, Extend, Exists, Delete and revert are the conformance suite's (TestConformance).
func TestCreateImageFormat(t *testing.T) {
	for _, c := range []struct {
		chunk, order int
	}{{4, 22}, {8, 23}, {1, 20}} {
		d, cl := requireCluster(t, func(d *Driver) { d.ChunkSizeMiB = c.chunk })
		v := newVolume(t, d, 1)
		info, ok := cl.info(t, v.Name)
		if !ok || info.Size != driver.GiB || info.Format != 2 || info.Order != c.order || !slices.Equal(info.Features, []string{"layering"}) {
			t.Fatalf("chunk %d: rbd info = %+v (found %v)", c.chunk, info, ok)
		}
	}
}

// A snapshot is protected; a volume from it is a clone whose parent is the snapshot (overlap
// the snapshot's size) and reads the snapshot's data; the snapshot is busy while the clone
// exists; with rbd_flatten_volume_from_snapshot the new volume has no parent.
func TestSnapshotAndVolumeFromSnapshot(t *testing.T) {
	d, cl := requireCluster(t, nil)
	ctx := ctxT(t)
	v := newVolume(t, d, 1)
	data := []byte("written before the snapshot " + v.ID)
	writeAt(t, d, v.Name, data, 4096)
	s := driver.Snapshot{ID: uuid.NewString(), VolumeID: v.ID, SizeGiB: 1}
	snap := driver.SnapshotStorageName(s.ID)
	for i := 0; i < 2; i++ { // idempotent
		if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
			t.Fatalf("create snapshot #%d: %v", i+1, err)
		}
	}
	if sn, ok := cl.snaps(t, v.Name)[snap]; !ok || sn.Protected != "true" {
		t.Fatalf("rbd snap ls: %+v (found %v), want protected", sn, ok)
	}
	if ok, err := d.SnapshotExists(ctx, s); !ok || err != nil {
		t.Fatalf("snapshot exists = %v, %v", ok, err)
	}
	writeAt(t, d, v.Name, []byte("after the snapshot"), 4096)

	c := volume(2)
	t.Cleanup(func() { cleanup(d, c.ID) })
	if _, err := d.CreateVolumeFromSnapshot(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	info := cl.mustInfo(t, c.Name)
	if info.Parent == nil || info.Parent.Pool != cl.pool || info.Parent.Image != v.Name || info.Parent.Snapshot != snap ||
		info.Parent.Overlap != driver.GiB || info.Size != 2*driver.GiB {
		t.Fatalf("clone: rbd info = %+v parent %+v", info, info.Parent)
	}
	if got := readAt(t, d, c.Name, len(data), 4096); !bytes.Equal(got, data) {
		t.Errorf("clone reads %q, want the snapshot's %q", got, data)
	}
	if ch := cl.children(t, v.Name+"@"+snap); !slices.ContainsFunc(ch, func(s string) bool { return strings.HasSuffix(s, c.Name) }) {
		t.Errorf("rbd children = %v, want %s", ch, c.Name)
	}
	if err := d.DeleteSnapshot(ctx, s, v); !isBusy(err) {
		t.Errorf("delete snapshot with a clone: %v, want ErrSnapshotBusy", err)
	}
	if _, ok := cl.snaps(t, v.Name)[snap]; !ok {
		t.Fatal("a busy snapshot was removed")
	}

	flat, _ := requireCluster(t, func(d *Driver) { d.FlattenFromSnapshot = true })
	f := volume(1)
	t.Cleanup(func() { cleanup(d, f.ID) })
	if _, err := flat.CreateVolumeFromSnapshot(ctx, f, s); err != nil {
		t.Fatal(err)
	}
	if info := cl.mustInfo(t, f.Name); info.Parent != nil {
		t.Errorf("flattened volume has parent %+v", info.Parent)
	}
	if got := readAt(t, d, f.Name, len(data), 4096); !bytes.Equal(got, data) {
		t.Errorf("flattened volume reads %q, want %q", got, data)
	}

	if err := d.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if ch := cl.children(t, v.Name+"@"+snap); len(ch) != 0 {
		t.Errorf("children after the clone's delete: %v", ch)
	}
	for i := 0; i < 2; i++ {
		if err := d.DeleteSnapshot(ctx, s, v); err != nil {
			t.Fatalf("delete snapshot #%d: %v", i+1, err)
		}
	}
	if _, ok := cl.snaps(t, v.Name)[snap]; ok {
		t.Error("snapshot still listed")
	}
	if ok, err := d.SnapshotExists(ctx, s); ok || err != nil {
		t.Errorf("snapshot exists after delete = %v, %v", ok, err)
	}
	// A volume with a snapshot of its own cannot be removed (Cinder's VolumeIsBusy).
	if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, v); !errors.Is(err, ErrVolumeBusy) || !errors.Is(err, driver.ErrBusy) {
		t.Errorf("delete of a volume with a snapshot: %v, want ErrVolumeBusy, a driver.ErrBusy", err)
	}
}

// Clones chain until the source has rbd_max_clone_depth ancestors; the clone made then is
// flattened and its .clone_snap removed. With depth 0 a clone is a full copy.
func TestCloneDepth(t *testing.T) {
	d, cl := requireCluster(t, func(d *Driver) { d.MaxCloneDepth = 2 })
	ctx := ctxT(t)
	v0 := newVolume(t, d, 1)
	data := []byte("origin " + v0.ID)
	writeAt(t, d, v0.Name, data, 0)
	chain := []driver.Volume{v0}
	for i, wantParent := range []bool{true, true, false} {
		src := chain[len(chain)-1]
		v := volume(1)
		t.Cleanup(func() { cleanup(d, v.ID) })
		if _, err := d.CreateClonedVolume(ctx, v, src); err != nil {
			t.Fatalf("clone #%d: %v", i+1, err)
		}
		info := cl.mustInfo(t, v.Name)
		_, hasSnap := cl.snaps(t, src.Name)[v.Name+cloneSnapSuffix]
		if (info.Parent != nil) != wantParent || hasSnap != wantParent {
			t.Fatalf("clone #%d (source depth %d, max 2): parent %+v, %s@%s%s present %v; want a parent %v",
				i+1, i, info.Parent, src.Name, v.Name, cloneSnapSuffix, hasSnap, wantParent)
		}
		if wantParent && (info.Parent.Image != src.Name || info.Parent.Snapshot != v.Name+cloneSnapSuffix) {
			t.Errorf("clone #%d parent = %+v", i+1, info.Parent)
		}
		if got := readAt(t, d, v.Name, len(data), 0); !bytes.Equal(got, data) {
			t.Errorf("clone #%d reads %q", i+1, got)
		}
		chain = append(chain, v)
	}
	if depth, err := d.CloneDepth(ctx, chain[2].ID); depth != 2 || err != nil {
		t.Errorf("depth of the second clone = %d, %v", depth, err)
	}

	copier, _ := requireCluster(t, func(d *Driver) { d.MaxCloneDepth = 0 })
	c := volume(2)
	t.Cleanup(func() { cleanup(d, c.ID) })
	if _, err := copier.CreateClonedVolume(ctx, c, v0); err != nil {
		t.Fatal(err)
	}
	info := cl.mustInfo(t, c.Name)
	if info.Parent != nil || info.Size != 2*driver.GiB {
		t.Errorf("max depth 0: copy has parent %+v, size %d", info.Parent, info.Size)
	}
	if _, ok := cl.snaps(t, v0.Name)[c.Name+cloneSnapSuffix]; ok {
		t.Error("max depth 0 left a clone snapshot")
	}
	if got := readAt(t, d, c.Name, len(data), 0); !bytes.Equal(got, data) {
		t.Errorf("copy reads %q", got)
	}

	// Volumes from snapshots count as links of the chain too.
	s := driver.Snapshot{ID: uuid.NewString(), VolumeID: chain[2].ID, SizeGiB: 1}
	if _, err := d.CreateSnapshot(ctx, s, chain[2]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.DeleteSnapshot(context.Background(), s, chain[2]) })
	fs := volume(1)
	t.Cleanup(func() { cleanup(d, fs.ID) })
	if _, err := d.CreateVolumeFromSnapshot(ctx, fs, s); err != nil {
		t.Fatal(err)
	}
	if info := cl.mustInfo(t, fs.Name); info.Parent != nil {
		t.Errorf("volume from a snapshot of a depth-2 volume (max 2) has parent %+v", info.Parent)
	}
}

// Deleting a volume whose clone snapshot has a clone keeps it as volume-<id>.deleted and the
// clone readable; deleting the clone then removes the clone snapshot and the deleted parent.
func TestDeleteVolumeWithClones(t *testing.T) {
	d, cl := requireCluster(t, nil)
	ctx := ctxT(t)
	v := newVolume(t, d, 1)
	data := []byte("parent data " + v.ID)
	writeAt(t, d, v.Name, data, 0)
	c := volume(1)
	t.Cleanup(func() { cleanup(d, c.ID) })
	if _, err := d.CreateClonedVolume(ctx, c, v); err != nil {
		t.Fatal(err)
	}
	gc := volume(1)
	t.Cleanup(func() { cleanup(d, gc.ID) })
	if _, err := d.CreateClonedVolume(ctx, gc, c); err != nil {
		t.Fatal(err)
	}
	for _, x := range []driver.Volume{v, c} {
		if err := d.Delete(ctx, x); err != nil {
			t.Fatalf("delete %s with a clone: %v", x.Name, err)
		}
		if _, ok := cl.info(t, x.Name); ok {
			t.Errorf("%s still there under its name", x.Name)
		}
		if _, ok := cl.info(t, x.Name+deletedSuffix); !ok {
			t.Fatalf("%s%s is not kept", x.Name, deletedSuffix)
		}
		if ok, err := d.Exists(ctx, x); err != nil || ok {
			t.Errorf("%s exists after delete (exists %v, probe error %v)", x.Name, ok, err)
		}
	}
	if got := readAt(t, d, gc.Name, len(data), 0); !bytes.Equal(got, data) {
		t.Errorf("grandchild reads %q after its ancestors' delete", got)
	}
	if err := d.Delete(ctx, gc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{gc.Name, c.Name + deletedSuffix, v.Name + deletedSuffix} {
		if _, ok := cl.info(t, name); ok {
			t.Errorf("%s is left after the last clone's delete", name)
		}
	}
}

// The capacity report equals what `ceph df` says of the pool (Cinder's formula), and the
// pool is thin with Cinder's capability keys.
func TestStatsFromDF(t *testing.T) {
	d, cl := requireCluster(t, nil)
	ctx := ctxT(t)
	st, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := st.Pools[0]
	if st.StorageProtocol != "ceph" || st.VendorName != "Open Source" || st.DriverVersion != Version || st.VolumeBackendName != "ceph-test" ||
		!p.ThinProvisioningSupport || p.ThickProvisioningSupport || !p.Multiattach || p.Name != "ceph-test" || p.MaxOverSubscriptionRatio != "20.0" {
		t.Errorf("stats = %+v pool %+v", st, p)
	}
	// ceph df lags (mgr stats period): compare until both agree on one state.
	deadline := time.Now().Add(30 * time.Second)
	for {
		free, total := cl.df(t)
		gotFree, gotTotal, err := d.Capacity(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if gotFree == free && gotTotal == total && free > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("capacity %v/%v GiB free/total, ceph df %v/%v", gotFree, gotTotal, free, total)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// A shared pool (rbd_exclusive_cinder_pool = false) reports the images' sizes.
	shared, _ := requireCluster(t, func(d *Driver) { d.ExclusivePool = false })
	v := newVolume(t, d, 3)
	st, err = shared.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pools[0].ProvisionedCapacityGB < float64(v.SizeGiB) {
		t.Errorf("provisioned %v GiB with a 3 GiB image in the pool", st.Pools[0].ProvisionedCapacityGB)
	}
}

// df is the pool's free and total GiB computed from `ceph df --format json` (dynamic total).
func (c testCluster) df(t *testing.T) (free, total float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ceph", "--conf", c.conf, "--id", c.user, "--keyring", c.keyring, "df", "--format", "json").Output()
	if err != nil {
		t.Fatalf("ceph df: %v", err)
	}
	var data df
	if err := json.Unmarshal(out, &data); err != nil {
		t.Fatal(err)
	}
	for _, p := range data.Pools {
		if p.Name == c.pool {
			f := float64(p.Stats.MaxAvail)
			gib := float64(driver.GiB)
			return math.Round(f/gib*100) / 100, math.Round((f+float64(p.Stats.BytesUsed))/gib*100) / 100
		}
	}
	t.Fatalf("ceph df has no pool %s: %s", c.pool, out)
	return 0, 0
}

// The connection info is Cinder's rbd one, with the monitors of the monitor map.
func TestConnectionInfo(t *testing.T) {
	d, cl := requireCluster(t, func(d *Driver) { d.SecretUUID = "457eb676-33da-42ec-9a8c-9293d545c337" })
	v := newVolume(t, d, 1)
	ci, err := d.InitializeConnection(ctxT(t), v, driver.Connector{"host": "compute1", "ip": "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := os.ReadFile(cl.keyring)
	if err != nil {
		t.Fatalf("read the test cluster's keyring: %v", err)
	}
	want := map[string]any{
		"name": cl.pool + "/" + v.Name, "hosts": []string{"127.0.0.1"}, "ports": []string{"6789"},
		"cluster_name": "ceph", "auth_enabled": true, "auth_username": cl.user, "secret_type": "ceph",
		"secret_uuid": "457eb676-33da-42ec-9a8c-9293d545c337", "volume_id": v.ID, "discard": true, "keyring": string(keyring),
	}
	if ci.DriverVolumeType != "rbd" {
		t.Errorf("driver_volume_type %q", ci.DriverVolumeType)
	}
	gotJSON, gerr := json.Marshal(ci.Data)
	wantJSON, werr := json.Marshal(want)
	if gerr != nil || werr != nil || !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("data\n got %s (%v)\nwant %s (%v)", gotJSON, gerr, wantJSON, werr)
	}
	if err := d.TerminateConnection(ctxT(t), v, nil); err != nil {
		t.Error(err)
	}
	// Without rbd_user and rbd_keyring_conf (client.admin from the conf): auth off, no keyring.
	plain := &Driver{Conn: d.Conn}
	plain.Conn.User, plain.Conn.Keyring = "", "" // client.admin, its keyring named in the conf
	defer plain.Close()
	if err := plain.Setup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ci, err = plain.InitializeConnection(ctxT(t), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Data["auth_enabled"] != false || ci.Data["auth_username"] != nil || ci.Data["secret_uuid"] != nil {
		t.Errorf("no user: %v", ci.Data)
	}
	if _, ok := ci.Data["keyring"]; ok {
		t.Error("keyring without rbd_keyring_conf")
	}
}

// An unreachable cluster fails Setup within the timeouts with ErrUnreachable, never hangs.
func TestUnreachableCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	_, cl := requireCluster(t, nil)
	conf := filepath.Join(t.TempDir(), "ceph.conf")
	// A monitor address where nothing listens.
	if err := os.WriteFile(conf, []byte("[global]\nmon_host = 127.0.0.1:9\nauth_client_required = cephx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &Driver{Conn: ConnConfig{ClusterName: "ceph", ConfFile: conf, User: cl.user, Keyring: cl.keyring, Pool: cl.pool,
		Connect: 2 * time.Second, OpTimeout: 3 * time.Second, Retries: 1, Interval: 200 * time.Millisecond}}
	defer d.Close()
	start := time.Now()
	err := d.Setup(context.Background())
	took := time.Since(start)
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("setup: %v, want ErrUnreachable, a driver.ErrUnavailable", err)
	}
	if took > 8*time.Second {
		t.Errorf("setup took %s with 3 s of op timeout", took)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") && !strings.Contains(err.Error(), conf) {
		t.Errorf("error does not say where: %v", err)
	}
	start = time.Now()
	if _, err := d.Stats(context.Background()); !errors.Is(err, ErrUnreachable) || time.Since(start) > 8*time.Second {
		t.Errorf("stats: %v after %s", err, time.Since(start))
	}
}
