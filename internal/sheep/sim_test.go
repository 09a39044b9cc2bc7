package sheep

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/scoria/scoria/test/sheepsim"
)

// TestAgainstSimulator runs every operation against the protocol-level sheep SIMULATOR of
// test/sheepsim (Debian has no sheepdog, so no real sheep runs here): the client and the
// simulator were written apart from the same record of a real sheep, so each checks the other.
func TestAgainstSimulator(t *testing.T) {
	sim, err := sheepsim.Start(sheepsim.Options{Unformatted: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Stop()
	ctx := context.Background()
	c := New(sim.Addr(), Options{})
	defer c.Close()

	info, err := c.ClusterInfo(ctx)
	if err != nil || info.Running() || !errors.Is(info.Err(), ErrWaitForFormat) {
		t.Fatalf("unformatted cluster: %+v, %v; want waiting for format", info, err)
	}
	if _, err := c.Create(ctx, "volume-a", 1<<30); !errors.Is(err, ErrWaitForFormat) {
		t.Fatalf("create before format: %v", err)
	}
	sim.Format()
	if info, err := c.ClusterInfo(ctx); err != nil || !info.Running() {
		t.Fatalf("formatted cluster: %+v, %v", info, err)
	}
	vid, err := c.Create(ctx, "volume-a", 1<<30)
	if err != nil || vid == 0 {
		t.Fatalf("create: %d, %v", vid, err)
	}
	if _, err := c.Create(ctx, "volume-a", 1<<30); !errors.Is(err, ErrVDIExists) {
		t.Errorf("create again: %v, want ErrVDIExists", err)
	}
	data := bytes.Repeat([]byte("ab"), 3<<20) // 6 MiB: across an object boundary
	if err := c.WriteAt(ctx, "volume-a", data, 1<<20); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx, "volume-a", "snapshot-1")
	if err != nil || snap.ID != vid || !snap.Snapshot {
		t.Fatalf("snapshot: %+v, %v; want the old vid %x as the snapshot", snap, err, vid)
	}
	work, err := c.Lookup(ctx, "volume-a", "")
	if err != nil || work.ID == vid {
		t.Fatalf("working vdi after the snapshot: %+v, %v; want a new vid", work, err)
	}
	if err := c.WriteAt(ctx, "volume-a", []byte("zz"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Clone(ctx, "volume-a", "snapshot-1", "volume-b"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := c.ReadAt(ctx, "volume-b", "", got, 1<<20); err != nil || !bytes.Equal(got, data) {
		t.Errorf("clone of the snapshot reads other bytes (%v)", err)
	}
	head := make([]byte, 2)
	if err := c.ReadAt(ctx, "volume-a", "", head, 1<<20); err != nil || string(head) != "zz" {
		t.Errorf("volume reads %q (%v), want zz", head, err)
	}
	if err := c.Resize(ctx, "volume-b", 2<<30); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Lookup(ctx, "volume-b", ""); err != nil || v.Size != 2<<30 {
		t.Errorf("resized: %+v, %v", v, err)
	}
	if err := c.CopyData(ctx, "volume-a", "snapshot-1", "volume-c"); err == nil {
		t.Error("copy into a missing VDI succeeded")
	}
	if _, err := c.Create(ctx, "volume-c", 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := c.CopyData(ctx, "volume-a", "snapshot-1", "volume-c"); err != nil {
		t.Fatal(err)
	}
	if err := c.ReadAt(ctx, "volume-c", "", got, 1<<20); err != nil || !bytes.Equal(got, data) {
		t.Errorf("copy reads other bytes (%v)", err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 4 {
		t.Errorf("list: %d VDIs (%v), want 4 (a's snapshot and working vdi, b, c)", len(list), err)
	}
	total, used, err := c.Capacity(ctx)
	if err != nil || total == 0 || used == 0 || used > total {
		t.Errorf("capacity %d/%d, %v", used, total, err)
	}
	for _, d := range []struct{ name, tag string }{{"volume-a", "snapshot-1"}, {"volume-a", ""}, {"volume-b", ""}, {"volume-c", ""}} {
		if err := c.Delete(ctx, d.name, d.tag); err != nil {
			t.Errorf("delete %s %s: %v", d.name, d.tag, err)
		}
	}
	if err := c.Delete(ctx, "volume-a", ""); !errors.Is(err, ErrNoVDI) {
		t.Errorf("delete again: %v, want ErrNoVDI", err)
	}
	if list, err := c.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("list after the deletes: %+v, %v", list, err)
	}
	sim.Stop()
	if _, err := c.Lookup(ctx, "volume-a", ""); !errors.Is(err, ErrUnreachable) {
		t.Errorf("lookup with the simulator stopped: %v, want ErrUnreachable", err)
	}
	if err := sim.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "volume-d", 1<<30); err != nil {
		t.Errorf("create after the restart: %v", err)
	}
}
