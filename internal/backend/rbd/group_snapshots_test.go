//go:build ceph

package rbd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// TestGroupSnapshot takes one consistent rbd group snapshot of two volumes, makes a volume
// from a member (it holds the data of the snapshot's time, not what was written after),
// takes a second group snapshot of the same volumes (an image is in one rbd group at a
// time), and deletes both, leaving no group, group snapshot or image snapshot behind.
func TestGroupSnapshot(t *testing.T) {
	d, c := requireCluster(t, nil)
	ctx := ctxT(t)
	a, b := newVolume(t, d, 1), newVolume(t, d, 1)
	writeAt(t, d, a.Name, []byte("before-a"), 0)
	writeAt(t, d, b.Name, []byte("before-b"), 0)

	mk := func() driver.GroupSnapshot {
		id := uuid.NewString()
		gs := driver.GroupSnapshot{ID: id, Name: driver.GroupSnapshotStorageName(id), GroupID: uuid.NewString()}
		for _, v := range []driver.Volume{a, b} {
			sid := uuid.NewString()
			gs.Members = append(gs.Members, driver.GroupSnapshotMember{
				Snapshot: driver.Snapshot{ID: sid, Name: driver.SnapshotStorageName(sid), VolumeID: v.ID, SizeGiB: 1, GroupSnapshotID: id},
				Volume:   v,
			})
		}
		return gs
	}
	first := mk()
	for range 2 { // the second call finds it complete
		if _, err := d.CreateGroupSnapshot(ctx, first); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.rbdCLI(t, "group", "snap", "ls", c.pool+"/"+first.Name)
	if err != nil || strings.Count(string(out), first.Name) != 1 || !strings.Contains(string(out), "ok") {
		t.Fatalf("rbd group snap ls: %s %v", out, err)
	}
	if out, err := c.rbdCLI(t, "group", "image", "list", c.pool+"/"+first.Name); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("images left in the group: %q %v", out, err)
	}
	for _, m := range first.Members {
		if ok, err := d.SnapshotExists(ctx, m.Snapshot); err != nil || !ok {
			t.Fatalf("SnapshotExists(member) = %v, %v", ok, err)
		}
	}
	writeAt(t, d, a.Name, []byte("after--a"), 0)

	second := mk()
	if _, err := d.CreateGroupSnapshot(ctx, second); err != nil {
		t.Fatalf("a second group snapshot of the same volumes: %v", err)
	}

	from := volume(2)
	t.Cleanup(func() { cleanup(d, from.ID) })
	if _, err := d.CreateVolumeFromSnapshot(ctx, from, first.Members[0].Snapshot); err != nil {
		t.Fatal(err)
	}
	if got := readAt(t, d, from.Name, 8, 0); !bytes.Equal(got, []byte("before-a")) {
		t.Fatalf("volume from the member holds %q, want the snapshot's before-a", got)
	}
	if info := c.mustInfo(t, from.Name); info.Size != 2<<30 {
		t.Fatalf("size %d, want 2 GiB", info.Size)
	}

	// A volume with a group snapshot is busy, as with any snapshot.
	if err := d.Delete(ctx, a); err == nil {
		t.Fatal("a volume held by a group snapshot was deleted")
	}
	for _, gs := range []driver.GroupSnapshot{first, second, first} { // deleting twice is fine
		if err := d.DeleteGroupSnapshot(ctx, gs); err != nil {
			t.Fatal(err)
		}
	}
	for _, gs := range []driver.GroupSnapshot{first, second} {
		if out, err := c.rbdCLI(t, "group", "ls"); err != nil || strings.Contains(string(out), gs.Name) {
			t.Fatalf("rbd group ls after delete: %s %v", out, err)
		}
	}
	for _, v := range []driver.Volume{a, b} {
		if out, err := c.rbdCLI(t, "snap", "ls", "--all", v.Name); err != nil || strings.TrimSpace(string(out)) != "" {
			t.Fatalf("snapshots left on %s: %s %v", v.Name, out, err)
		}
		if ok, err := d.SnapshotExists(ctx, first.Members[0].Snapshot); err != nil || ok {
			t.Fatalf("SnapshotExists after delete = %v, %v", ok, err)
		}
	}
}
