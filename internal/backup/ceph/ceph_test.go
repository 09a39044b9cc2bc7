//go:build ceph

package ceph

import (
	"context"
	"math/rand"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

const mib = 1 << 20

func newBackup(volumeID string, parent *resource.Backup) *resource.Backup {
	b := &resource.Backup{ID: uuid.NewString(), VolumeID: volumeID}
	if parent != nil {
		b.ParentID = parent.ID
	}
	return b
}

// take backs volume id up as b and stores the result on b as the manager does.
func (f *fixture) take(b, parent *resource.Backup, volumeID string) {
	f.t.Helper()
	src := f.open(volumeID)
	defer src.Close()
	res, err := f.d.Backup(context.Background(), b, parent, src, nil)
	if err != nil {
		f.t.Fatalf("backup %s: %v", b.ID, err)
	}
	b.Container, b.ServiceMetadata = res.Container, res.ServiceMetadata
}

// restoreTo restores chain into a new volume of size bytes and answers its bytes.
func (f *fixture) restoreTo(chain []*resource.Backup, size int64) []byte {
	f.t.Helper()
	id := f.volume(size)
	dst := f.open(id)
	if err := f.d.Restore(context.Background(), chain, id, dst, nil); err != nil {
		f.t.Fatalf("restore %s: %v", chain[len(chain)-1].ID, err)
	}
	dst.Close()
	return f.read(id)
}

func TestRBDChain(t *testing.T) {
	f := requireCluster(t, 4*mib)
	r := rand.New(rand.NewSource(1))
	const size = 64 * mib
	vol := f.volume(size)
	f.write(vol, 0, randBytes(r, 8*mib))
	f.write(vol, 40*mib, randBytes(r, 3*mib))
	state0 := f.read(vol)

	full := newBackup(vol, nil)
	f.take(full, nil, vol)
	base := "volume-" + vol + ".backup." + full.ID
	if want := `{"base": "` + base + `"}`; full.ServiceMetadata != want {
		t.Fatalf("service_metadata %q, want %q", full.ServiceMetadata, want)
	}
	if full.Container != f.c.backupPool {
		t.Fatalf("container %q, want %q", full.Container, f.c.backupPool)
	}
	t.Cleanup(func() { f.removeImage(f.backups, base) })
	fullSnaps := f.snaps(f.c.backupPool, base)
	if len(fullSnaps) != 1 {
		t.Fatalf("base snapshots %v, want one", fullSnaps)
	}
	if got := f.diffBytes(f.c.backupPool, base, fullSnaps[0], ""); got != 11*mib {
		t.Fatalf("full backup holds %d bytes of data, want %d", got, 11*mib)
	}

	// An incremental after a small write copies only the changed extents.
	f.write(vol, 20*mib, randBytes(r, 64*1024))
	f.write(vol, 41*mib, randBytes(r, 4096))
	state1 := f.read(vol)
	before := f.d.written.Load()
	inc1 := newBackup(vol, full)
	f.take(inc1, full, vol)
	if written := f.d.written.Load() - before; written != 64*1024+4096 {
		t.Fatalf("incremental wrote %d bytes, want %d", written, 64*1024+4096)
	}
	if inc1.ServiceMetadata != full.ServiceMetadata {
		t.Fatalf("incremental service_metadata %q, want the chain's %q", inc1.ServiceMetadata, full.ServiceMetadata)
	}
	snaps := f.snaps(f.c.backupPool, base)
	if len(snaps) != 2 {
		t.Fatalf("base snapshots %v, want two", snaps)
	}
	if got := f.diffBytes(f.c.backupPool, base, snaps[1], snaps[0]); got != 64*1024+4096 {
		t.Fatalf("rbd diff of the incremental: %d bytes, want %d", got, 64*1024+4096)
	}
	// The source keeps only the newest backup snapshot.
	if src := f.snaps(f.c.pool, "volume-"+vol); !slices.Equal(src, snaps[1:]) {
		t.Fatalf("source snapshots %v, want %v", src, snaps[1:])
	}

	// A discard and another write: the next incremental carries both.
	dev := f.open(vol)
	if _, err := dev.img.Discard(0, 4*mib); err != nil {
		t.Fatal(err)
	}
	dev.Close()
	f.write(vol, 60*mib, randBytes(r, mib))
	state2 := f.read(vol)
	inc2 := newBackup(vol, inc1)
	f.take(inc2, inc1, vol)

	t.Run("restore each point of the chain", func(t *testing.T) {
		mustEqual(t, "full", f.restoreTo([]*resource.Backup{full}, size), state0)
		mustEqual(t, "middle", f.restoreTo([]*resource.Backup{full, inc1}, size), state1)
		mustEqual(t, "last", f.restoreTo([]*resource.Backup{full, inc1, inc2}, size), state2)
	})
	t.Run("restore to a larger volume with data zeroes the excess", func(t *testing.T) {
		id := f.volume(size + 8*mib)
		f.write(id, size, randBytes(r, 8*mib)) // data beyond the backup
		f.write(id, 0, randBytes(r, mib))      // has extents: a full copy
		dst := f.open(id)
		if err := f.d.Restore(context.Background(), []*resource.Backup{full, inc1}, id, dst, nil); err != nil {
			t.Fatal(err)
		}
		dst.Close()
		want := append(slices.Clone(state1), make([]byte, 8*mib)...)
		mustEqual(t, "restored", f.read(id), want)
	})
	t.Run("restore over its own volume", func(t *testing.T) {
		dst := f.open(vol)
		if err := f.d.Restore(context.Background(), []*resource.Backup{full, inc1}, vol, dst, nil); err != nil {
			t.Fatal(err)
		}
		dst.Close()
		mustEqual(t, "restored", f.read(vol), state1)
	})
	t.Run("a second call of a done backup changes nothing", func(t *testing.T) {
		before := f.d.written.Load()
		f.take(inc2, inc1, vol)
		if w := f.d.written.Load() - before; w != 0 {
			t.Fatalf("wrote %d bytes again", w)
		}
		if n := len(f.snaps(f.c.backupPool, base)); n != 3 {
			t.Fatalf("%d base snapshots, want 3", n)
		}
	})
	t.Run("export and import", func(t *testing.T) {
		info, err := f.d.ExportRecord(context.Background(), inc1)
		if err != nil || len(info) != 0 {
			t.Fatalf("driver_info %v, %v: want an empty map", info, err)
		}
		if err := f.d.ImportRecord(context.Background(), inc1, info); err != nil {
			t.Fatal(err)
		}
		missing := &resource.Backup{ID: uuid.NewString(), VolumeID: vol, ServiceMetadata: full.ServiceMetadata}
		if err := f.d.ImportRecord(context.Background(), missing, info); err == nil {
			t.Fatal("import of a backup the pool does not hold succeeded")
		}
	})

	// Delete, last first (the API refuses a backup with dependents): the base stays until
	// its last snapshot goes; a second delete is no error.
	for i, b := range []*resource.Backup{inc2, inc1, full} {
		if err := f.d.Delete(context.Background(), b); err != nil {
			t.Fatalf("delete %s: %v", b.ID, err)
		}
		if err := f.d.Delete(context.Background(), b); err != nil {
			t.Fatalf("second delete %s: %v", b.ID, err)
		}
		exists := f.images(f.c.backupPool)[base]
		if left := 2 - i; left > 0 {
			if !exists || len(f.snaps(f.c.backupPool, base)) != left {
				t.Fatalf("after deleting %d backups: base exists %v with %v", i+1, exists, f.snaps(f.c.backupPool, base))
			}
		} else if exists {
			t.Fatalf("base %s left after its last backup was deleted", base)
		}
	}
}

func TestIncrementalWithoutCommonSnapshot(t *testing.T) {
	f := requireCluster(t, 4*mib)
	r := rand.New(rand.NewSource(2))
	const size = 32 * mib
	vol := f.volume(size)
	f.write(vol, 0, randBytes(r, 8*mib))
	full := newBackup(vol, nil)
	f.take(full, nil, vol)
	base := "volume-" + vol + ".backup." + full.ID
	t.Cleanup(func() { f.removeImage(f.backups, base) })
	state0 := f.read(vol)

	// The source lost the parent's snapshot; the volume changed, partly discarded.
	for _, s := range f.snaps(f.c.pool, "volume-"+vol) {
		dev := f.open(vol)
		if err := dev.img.GetSnapshot(s).Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := dev.img.Discard(0, 4*mib); err != nil {
			t.Fatal(err)
		}
		dev.Close()
	}
	f.write(vol, 16*mib, randBytes(r, mib))
	state1 := f.read(vol)
	inc := newBackup(vol, full)
	f.take(inc, full, vol)
	mustEqual(t, "full", f.restoreTo([]*resource.Backup{full}, size), state0)
	mustEqual(t, "incremental", f.restoreTo([]*resource.Backup{full, inc}, size), state1)
}

func TestFullBackupOfAFile(t *testing.T) {
	f := requireCluster(t, 1*mib)
	r := rand.New(rand.NewSource(3))
	const size = 12*mib + 4096
	src := newFileDevice(t, size)
	data := make([]byte, size)
	copy(data[mib:], randBytes(r, 2*mib))
	copy(data[9*mib:], randBytes(r, 3*mib+4096))
	if _, err := src.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	vol := uuid.NewString()
	b := newBackup(vol, nil)
	before := f.d.written.Load()
	res, err := f.d.Backup(context.Background(), b, nil, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ServiceMetadata != "" || res.Container != f.c.backupPool {
		t.Fatalf("result %+v: want no service_metadata (as Cinder) and container %s", res, f.c.backupPool)
	}
	b.Container = res.Container
	name := "volume-" + vol + ".backup." + b.ID
	t.Cleanup(func() { f.removeImage(f.backups, name) })
	if w := f.d.written.Load() - before; w != 5*mib+4096 {
		t.Fatalf("wrote %d bytes, want %d (zero chunks skipped)", w, 5*mib+4096)
	}
	if imgs := backupImages(f, vol); !slices.Equal(imgs, []string{name}) {
		t.Fatalf("backup images %v, want [%s]", imgs, name)
	}
	if _, err := f.d.Backup(context.Background(), newBackup(vol, b), b, src, nil); err == nil {
		t.Fatal("an incremental backup of a file succeeded")
	}

	t.Run("restore to a file", func(t *testing.T) {
		dst := newFileDevice(t, size+mib)
		if _, err := dst.WriteAt(randBytes(r, size+mib), 0); err != nil {
			t.Fatal(err)
		}
		if err := f.d.Restore(context.Background(), []*resource.Backup{b}, vol, dst, nil); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, size+mib)
		if _, err := dst.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "restored", got, append(slices.Clone(data), make([]byte, mib)...))
	})
	t.Run("restore to an RBD volume", func(t *testing.T) {
		mustEqual(t, "restored", f.restoreTo([]*resource.Backup{b}, 16*mib), append(slices.Clone(data), make([]byte, 16*mib-size)...))
	})
	if err := f.d.Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if imgs := backupImages(f, vol); len(imgs) != 0 {
		t.Fatalf("images left after delete: %v", imgs)
	}
}

// A killed backup leaves a source snapshot and a partial base without snapshot: the next
// call of the same backup, and a delete, are not confused by them.
func TestKilledBackupLeftovers(t *testing.T) {
	f := requireCluster(t, 4*mib)
	r := rand.New(rand.NewSource(4))
	const size = 16 * mib
	vol := f.volume(size)
	f.write(vol, 0, randBytes(r, 4*mib))
	b := newBackup(vol, nil)
	base := "volume-" + vol + ".backup." + b.ID
	t.Cleanup(func() { f.removeImage(f.backups, base) })

	// What a kill after the source snapshot and part of the copy leaves.
	dev := f.open(vol)
	if _, err := dev.img.CreateSnapshot(newSnapName(b.ID, timeAgo())); err != nil {
		t.Fatal(err)
	}
	dev.Close()
	if err := f.d.createImage(f.backups, base, size); err != nil {
		t.Fatal(err)
	}
	junk, _ := rbdOpen(f, base)
	_, _ = junk.WriteAt(randBytes(r, mib), 8*mib)
	junk.Close()

	state := f.read(vol)
	f.take(b, nil, vol)
	if s := f.snaps(f.c.pool, "volume-"+vol); len(s) != 1 {
		t.Fatalf("source snapshots %v, want only the new one", s)
	}
	mustEqual(t, "restored", f.restoreTo([]*resource.Backup{b}, size), state)

	// A delete of a backup whose create was killed before anything was kept.
	lost := newBackup(vol, nil)
	if err := f.d.createImage(f.backups, "volume-"+vol+".backup."+lost.ID+".tmp", size); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Delete(context.Background(), lost); err != nil {
		t.Fatal(err)
	}
	if imgs := backupImages(f, vol); !slices.Equal(imgs, []string{base}) {
		t.Fatalf("backup images %v, want only %s", imgs, base)
	}
}
