package localfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// Offsets that get data in test volumes: the start, somewhere in the middle of the first GiB,
// and the last block of the first GiB; everything else stays a hole.
var dataAt = []int64{0, 300 << 20, driver.GiB - 4096}

// newVolume creates a volume of size GiB and writes a 4 KiB block of fill at each of dataAt.
func newVolume(t *testing.T, d *Driver, id string, size int, fill byte) driver.Volume {
	t.Helper()
	v := driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: size}
	if _, err := d.Create(context.Background(), v); err != nil {
		t.Fatalf("Create %s: %v", id, err)
	}
	writeBlocks(t, d.path(v), fill)
	return v
}

func writeBlocks(t *testing.T, path string, fill byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, off := range dataAt {
		if _, err := f.WriteAt(bytes.Repeat([]byte{fill}, 4096), off); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFile checks path's size, that each of dataAt holds fill, and that the file is sparse
// (it takes far less than its size).
func checkFile(t *testing.T, path string, size int64, fill byte) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	if st.Size() != size {
		t.Errorf("%s: size = %d, want %d", filepath.Base(path), st.Size(), size)
	}
	if used := st.Sys().(*syscall.Stat_t).Blocks * 512; used > 64<<20 {
		t.Errorf("%s: takes %d bytes for %d bytes of data: not sparse", filepath.Base(path), used, len(dataAt)*4096)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for _, off := range dataAt {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatalf("read %s at %d: %v", path, off, err)
		}
		if !bytes.Equal(buf, bytes.Repeat([]byte{fill}, 4096)) {
			t.Errorf("%s at %d: data %q…, want %q", filepath.Base(path), off, buf[:4], fill)
		}
	}
}

func snap(id, volID string, size int) driver.Snapshot {
	return driver.Snapshot{ID: id, Name: driver.SnapshotStorageName(id), VolumeID: volID, SizeGiB: size}
}

func TestSnapshotLifecycle(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	v := newVolume(t, d, "v1", 1, 'a')
	s := snap("s1", v.ID, 1)
	for i := 0; i < 2; i++ { // the second is a redelivery
		if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
			t.Fatalf("CreateSnapshot #%d: %v", i+1, err)
		}
		if i == 0 {
			writeBlocks(t, d.path(v), 'b') // later writes to the volume do not reach the snapshot
		}
	}
	checkFile(t, d.snapshotPath(s), driver.GiB, 'a')
	checkFile(t, d.path(v), driver.GiB, 'b')
	if ok, err := d.SnapshotExists(ctx, s); err != nil || !ok {
		t.Fatalf("SnapshotExists = %v, %v; want true", ok, err)
	}
	for i := 0; i < 2; i++ {
		if err := d.DeleteSnapshot(ctx, s, v); err != nil {
			t.Fatalf("DeleteSnapshot #%d: %v", i+1, err)
		}
	}
	if ok, err := d.SnapshotExists(ctx, s); err != nil || ok {
		t.Fatalf("SnapshotExists after delete = %v, %v; want false", ok, err)
	}
	if _, err := d.CreateSnapshot(ctx, snap("s2", "nope", 1), driver.Volume{ID: "nope", SizeGiB: 1}); err == nil {
		t.Fatal("CreateSnapshot of a volume without a file succeeded")
	}
}

func TestCreateFromSource(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	src := newVolume(t, d, "src", 1, 'a')
	s := snap("s1", src.ID, 1)
	if _, err := d.CreateSnapshot(ctx, s, src); err != nil {
		t.Fatal(err)
	}
	fromSnap := func(v driver.Volume) error { _, err := d.CreateVolumeFromSnapshot(ctx, v, s); return err }
	clone := func(v driver.Volume) error { _, err := d.CreateClonedVolume(ctx, v, src); return err }
	tests := []struct {
		name    string
		create  func(driver.Volume) error
		size    int
		wantErr bool
	}{
		{"from snapshot, same size", fromSnap, 1, false},
		{"from snapshot, larger", fromSnap, 3, false},
		{"from snapshot, smaller", fromSnap, 0, true},
		{"clone, same size", clone, 1, false},
		{"clone, larger", clone, 2, false},
		{"clone, smaller", clone, 0, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := driver.Volume{ID: "new" + string(rune('a'+i)), SizeGiB: tc.size}
			for n := 0; n < 2; n++ { // the second is a redelivery
				err := tc.create(v)
				if tc.wantErr {
					if err == nil {
						t.Fatal("create succeeded")
					}
					if exists(t, d, v) {
						t.Fatal("a failed create left a volume file")
					}
					return
				}
				if err != nil {
					t.Fatalf("create #%d: %v", n+1, err)
				}
			}
			checkFile(t, d.path(v), int64(tc.size)*driver.GiB, 'a')
		})
	}
	t.Run("existing file of another size", func(t *testing.T) {
		v := driver.Volume{ID: "newa", SizeGiB: 5} // made above with 1 GiB
		if _, err := d.CreateClonedVolume(ctx, v, src); err == nil {
			t.Error("create over a volume file of another size succeeded")
		}
	})
}

func TestExtendVolume(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	v := newVolume(t, d, "v1", 1, 'a')
	for i := 0; i < 2; i++ { // the second is a redelivery
		if err := d.ExtendVolume(ctx, v, 3); err != nil {
			t.Fatalf("ExtendVolume #%d: %v", i+1, err)
		}
	}
	checkFile(t, d.path(v), 3*driver.GiB, 'a')
	if err := d.ExtendVolume(ctx, v, 2); err != nil { // smaller: never shrinks
		t.Fatalf("ExtendVolume to a smaller size: %v", err)
	}
	checkFile(t, d.path(v), 3*driver.GiB, 'a')
	if err := d.ExtendVolume(ctx, driver.Volume{ID: "missing", SizeGiB: 1}, 2); err == nil {
		t.Fatal("ExtendVolume of a missing volume succeeded")
	}
}

func TestRevertToSnapshot(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	v := newVolume(t, d, "v1", 1, 'a')
	s := snap("s1", v.ID, 1)
	if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
		t.Fatal(err)
	}
	writeBlocks(t, d.path(v), 'b')
	if err := d.ExtendVolume(ctx, v, 2); err != nil {
		t.Fatal(err)
	}
	v.SizeGiB = 2
	for i := 0; i < 2; i++ { // the second is a redelivery
		if err := d.RevertToSnapshot(ctx, v, s); err != nil {
			t.Fatalf("RevertToSnapshot #%d: %v", i+1, err)
		}
	}
	checkFile(t, d.path(v), 2*driver.GiB, 'a') // the snapshot's data, the volume's size
	checkFile(t, d.snapshotPath(s), driver.GiB, 'a')
	if err := d.RevertToSnapshot(ctx, v, snap("gone", v.ID, 1)); err == nil {
		t.Fatal("revert to a missing snapshot succeeded")
	}
	checkFile(t, d.path(v), 2*driver.GiB, 'a')
}

func TestCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	v := newVolume(t, d, "v1", 1, 'a')
	s := snap("s1", v.ID, 1)
	// A crash in the middle of copies leaves partial files: of a snapshot, of a new volume.
	partials := []string{d.snapshotPath(s) + tmpSuffix, d.path(driver.Volume{ID: "v2"}) + tmpSuffix}
	for _, p := range partials {
		if err := os.WriteFile(p, []byte("half"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := d.SnapshotExists(ctx, s); err != nil || ok {
		t.Fatalf("SnapshotExists with only a partial file = %v, %v; want false", ok, err)
	}
	if ok, err := d.Exists(ctx, driver.Volume{ID: "v2"}); err != nil || ok {
		t.Fatalf("Exists with only a partial file = %v, %v; want false", ok, err)
	}
	// Finishing the work over the leftovers works (the partial file is rewritten) …
	if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
		t.Fatal(err)
	}
	checkFile(t, d.snapshotPath(s), driver.GiB, 'a')
	// … and a restart removes what is left.
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range partials {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Setup (%v)", filepath.Base(p), err)
		}
	}
}

func TestCopyFailsCleanlyOnImmutableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		cannot(t, "chattr +i needs root")
	}
	if _, err := exec.LookPath("chattr"); err != nil {
		cannot(t, "no chattr")
	}
	ctx := context.Background()
	d := newDriver(t)
	v := newVolume(t, d, "v1", 1, 'a')
	if out, err := exec.Command("chattr", "+i", d.Dir).CombinedOutput(); err != nil {
		cannot(t, fmt.Sprintf("chattr +i not supported here: %v: %s", err, out))
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", d.Dir).Run() })
	s := snap("s1", v.ID, 1)
	if _, err := d.CreateSnapshot(ctx, s, v); err == nil {
		t.Fatal("CreateSnapshot in an immutable directory succeeded")
	}
	if _, err := d.CreateClonedVolume(ctx, driver.Volume{ID: "v2", SizeGiB: 1}, v); err == nil {
		t.Fatal("CreateClonedVolume in an immutable directory succeeded")
	}
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		t.Fatalf("read the volume directory: %v", err)
	}
	for _, e := range entries {
		if e.Name() != "volume-v1" {
			t.Errorf("failed copies left %s behind", e.Name())
		}
	}
}

func TestSparseCopySkipsZeroChunksInData(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	// 8 MiB written in full (all data, no holes), with one non-zero block in the middle.
	data := make([]byte, 8<<20)
	copy(data[5<<20:], "hello")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := sparseCopy(in, out, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if err := out.Truncate(int64(len(data))); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("copy differs from its source")
	}
	st, err := out.Stat()
	if err != nil {
		t.Fatalf("stat the copy: %v", err)
	}
	if used := st.Sys().(*syscall.Stat_t).Blocks * 512; used > 2<<20 {
		t.Fatalf("copy takes %d bytes: zero chunks were written", used)
	}
}

func TestStatsCountSnapshotsAndCapabilities(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	d.CapacityGB = 10
	d.Thick = true
	v := newVolume(t, d, "v1", 2, 'a')
	before, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A snapshot full of data: 64 MiB written.
	s := snap("s1", v.ID, 2)
	if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(d.snapshotPath(s), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{1}, 64<<20), 0); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	os.WriteFile(d.snapshotPath(snap("s2", v.ID, 2))+tmpSuffix, bytes.Repeat([]byte{1}, 1<<20), 0o640)
	after, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bp, ap := before.Pools[0], after.Pools[0]
	if ap.ProvisionedCapacityGB != bp.ProvisionedCapacityGB {
		t.Errorf("provisioned changed with a snapshot: %v → %v", bp.ProvisionedCapacityGB, ap.ProvisionedCapacityGB)
	}
	if !(ap.FreeCapacityGB < bp.FreeCapacityGB) {
		t.Errorf("free = %v after a 64 MiB snapshot, was %v: the snapshot's space is not counted", ap.FreeCapacityGB, bp.FreeCapacityGB)
	}
	for _, k := range []string{"online_extend_support", "sparse_copy_volume"} {
		if after.Extra[k] != true {
			t.Errorf("capability %s = %v, want true", k, after.Extra[k])
		}
	}
}

// cannot skips a test whose real component is missing, or fails it under CI=true, where
// .ci/run provides it (root, chattr on the test directory's filesystem).
func cannot(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why + ", and CI=true")
	}
	t.Skip(why)
}
