package chunked_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/scoria/scoria/internal/backup/chunked"
)

// An incremental backup stores only the runs of changed blocks, one object per run, and
// every point of the chain restores to its own bytes.
func TestIncrementalChain(t *testing.T) {
	const size = 5*testChunk + 1000 // 21 blocks, the last one short
	f := newFixture(t, smallOptions("none"))
	v0 := randomBytes(1, size)
	full := describe("full", nil)
	mustBackup(t, f.engine, v0, full)

	// v1: block 2, blocks 6–9 (a run crossing a chunk boundary at block 8), one byte of
	// the short last block.
	v1 := bytes.Clone(v0)
	v1[2*testBlock+5] ^= 0xFF
	for i := 6 * testBlock; i < 10*testBlock; i += 100 {
		v1[i] ^= 0x01
	}
	v1[size-1] ^= 0xFF
	f.store.reset()
	inc1 := describe("inc1", &full.Ref)
	res1 := mustBackup(t, f.engine, v1, inc1)
	wantObjs := []chunked.Object{
		{Offset: 2 * testBlock, Length: testBlock},
		{Offset: 6 * testBlock, Length: 2 * testBlock}, // to the end of chunk 1 (blocks 4–7)
		{Offset: 8 * testBlock, Length: 2 * testBlock}, // chunk 2 goes on (blocks 8–11)
		{Offset: 5 * testChunk, Length: 1000},
	}
	assertObjects(t, res1.Metadata.Objects, wantObjs)
	if n, stored := f.store.dataPuts(); n != 4 || stored != 5*testBlock+1000 {
		t.Errorf("incremental stored %d objects, %d bytes; want 4 and %d", n, stored, 5*testBlock+1000)
	}
	if res1.Metadata.ParentID == nil || *res1.Metadata.ParentID != "backup-full" {
		t.Errorf("parent_id = %v, want backup-full", res1.Metadata.ParentID)
	}

	// v2: nothing changed but block 12, then an unchanged incremental on top.
	v2 := bytes.Clone(v1)
	v2[12*testBlock] ^= 0x10
	f.store.reset()
	inc2 := describe("inc2", &inc1.Ref)
	res2 := mustBackup(t, f.engine, v2, inc2)
	assertObjects(t, res2.Metadata.Objects, []chunked.Object{{Offset: 12 * testBlock, Length: testBlock}})
	inc3 := describe("inc3", &inc2.Ref)
	res3 := mustBackup(t, f.engine, v2, inc3)
	if len(res3.Metadata.Objects) != 0 {
		t.Errorf("an incremental of an unchanged volume stored %d objects", len(res3.Metadata.Objects))
	}

	// Restore answers the chain's metadata, full first, for the caller's volume_meta.
	mds, err := f.engine.Restore(context.Background(), []chunked.Ref{full.Ref, inc1.Ref}, volumeFile(t, size, nil), chunked.RestoreOptions{})
	if err != nil || len(mds) != 2 || mds[0].BackupID != "backup-full" || mds[1].BackupID != "backup-inc1" {
		t.Fatalf("Restore answered %v, %v", mds, err)
	}

	chains := []struct {
		name  string
		chain []chunked.Ref
		want  []byte
	}{
		{"full", []chunked.Ref{full.Ref}, v0},
		{"middle", []chunked.Ref{full.Ref, inc1.Ref}, v1},
		{"end", []chunked.Ref{full.Ref, inc1.Ref, inc2.Ref}, v2},
		{"unchanged end", []chunked.Ref{full.Ref, inc1.Ref, inc2.Ref, inc3.Ref}, v2},
	}
	for _, tc := range chains {
		t.Run(tc.name, func(t *testing.T) {
			if got := restoreBytes(t, f.engine, tc.chain, size); !bytes.Equal(got, tc.want) {
				t.Fatal("restored bytes differ")
			}
			// Onto an existing volume full of other bytes as well.
			out := volumeFile(t, size, randomBytes(99, size))
			if _, err := f.engine.Restore(context.Background(), tc.chain, out, chunked.RestoreOptions{}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, out.Name(), tc.want)
		})
	}

	// A block zeroed by an incremental is written as zeros even onto a new volume.
	v4 := bytes.Clone(v2)
	clear(v4[:testChunk])
	inc4 := describe("inc4", &inc3.Ref)
	mustBackup(t, f.engine, v4, inc4)
	if got := restoreBytes(t, f.engine, []chunked.Ref{full.Ref, inc1.Ref, inc2.Ref, inc3.Ref, inc4.Ref}, size); !bytes.Equal(got, v4) {
		t.Fatal("zeros written by an incremental were not restored")
	}

	bad := []struct {
		name  string
		chain []chunked.Ref
		want  string
	}{
		{"empty", nil, "no backup to restore"},
		{"starts incremental", []chunked.Ref{inc1.Ref}, "not a full one"},
		{"skips a link", []chunked.Ref{full.Ref, inc2.Ref}, `parent is "backup-inc1", not backup-full`},
		{"out of order", []chunked.Ref{full.Ref, inc2.Ref, inc1.Ref}, "parent is"},
	}
	for _, tc := range bad {
		t.Run("refused "+tc.name, func(t *testing.T) {
			out := volumeFile(t, size, nil)
			_, err := f.engine.Restore(context.Background(), tc.chain, out, chunked.RestoreOptions{VolumeIsNew: true})
			if !errors.Is(err, chunked.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore = %v, want ErrInvalid with %q", err, tc.want)
			}
			if fi, _ := out.Stat(); fi.Sys() != nil && allocated(fi) != 0 {
				t.Error("a refused restore wrote to the volume")
			}
		})
	}
}

func assertObjects(t *testing.T, got []chunked.ObjectEntry, want []chunked.Object) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d objects %v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Offset != w.Offset || got[i].Length != w.Length {
			t.Errorf("object %d (%s): offset %d length %d, want %d and %d", i+1, got[i].Name, got[i].Offset, got[i].Length, w.Offset, w.Length)
		}
		if suffix := fmt.Sprintf("-%05d", i+1); !strings.HasSuffix(got[i].Name, suffix) {
			t.Errorf("object %d is named %s, want a name ending %s", i+1, got[i].Name, suffix)
		}
	}
}

func TestIncrementalRefused(t *testing.T) {
	f := newFixture(t, smallOptions("zlib"))
	vol := randomBytes(5, 2*testChunk)
	full := describe("full", nil)
	mustBackup(t, f.engine, vol, full)
	ctx := context.Background()

	t.Run("volume grew", func(t *testing.T) {
		bigger := append(bytes.Clone(vol), make([]byte, testBlock)...)
		_, err := f.engine.Backup(ctx, bytes.NewReader(bigger), int64(len(bigger)), describe("grown", &full.Ref))
		if !errors.Is(err, chunked.ErrInvalid) || !strings.Contains(err.Error(), "volume size increased since the last backup") {
			t.Fatalf("Backup = %v", err)
		}
	})
	t.Run("block size changed", func(t *testing.T) {
		other, err := chunked.New(f.store, chunked.Options{FileSize: testChunk, SHABlockSize: testBlock / 2, CompressionAlgorithm: "zlib"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.Backup(ctx, bytes.NewReader(vol), int64(len(vol)), describe("reblocked", &full.Ref))
		if !errors.Is(err, chunked.ErrInvalid) || !strings.Contains(err.Error(), "hash block size has changed") {
			t.Fatalf("Backup = %v", err)
		}
	})
	t.Run("parent incomplete", func(t *testing.T) {
		missing := chunked.Ref{Container: "c/1", Prefix: "nothing-here"}
		_, err := f.engine.Backup(ctx, bytes.NewReader(vol), int64(len(vol)), describe("orphan", &missing))
		if !errors.Is(err, chunked.ErrIncomplete) {
			t.Fatalf("Backup = %v, want ErrIncomplete", err)
		}
	})
	t.Run("nothing written when refused", func(t *testing.T) {
		for _, n := range []string{"grown", "reblocked", "orphan"} {
			names, err := f.posix.List(ctx, "c/1", describe(n, nil).Prefix)
			if err != nil || len(names) != 0 {
				t.Errorf("refused backup %s left %v (%v)", n, names, err)
			}
		}
	})
}

// One engine serves concurrent backups and restores (the race detector watches).
func TestConcurrentBackups(t *testing.T) {
	f := newFixture(t, smallOptions("zstd"))
	const n = 6
	vols := make([][]byte, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		vols[i] = append(textBytes(testChunk), randomBytes(uint64(100+i), 2*testChunk+i)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := describe(fmt.Sprint("par", i), nil)
			if _, err := f.engine.Backup(context.Background(), bytes.NewReader(vols[i]), int64(len(vols[i])), d); err != nil {
				errs <- err
				return
			}
			out := volumeFile(t, int64(len(vols[i])), nil)
			if _, err := f.engine.Restore(context.Background(), []chunked.Ref{d.Ref}, out, chunked.RestoreOptions{VolumeIsNew: true}); err != nil {
				errs <- err
				return
			}
			got, err := os.ReadFile(out.Name())
			if err == nil && !bytes.Equal(got, vols[i]) {
				err = fmt.Errorf("backup %d restored different bytes", i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// A restore whose context ends stops at the next object.
func TestRestoreCancelled(t *testing.T) {
	f := newFixture(t, smallOptions("none"))
	vol := randomBytes(21, 4*testChunk)
	d := describe("r", nil)
	mustBackup(t, f.engine, vol, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls int
	_, err := f.engine.Restore(ctx, []chunked.Ref{d.Ref}, volumeFile(t, int64(len(vol)), nil), chunked.RestoreOptions{
		Progress: func(done, total int64) {
			calls++
			if total != int64(len(vol)) {
				t.Errorf("total %d, want %d", total, len(vol))
			}
			cancel()
		},
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("Restore = %v after %d objects, want context.Canceled after 1", err, calls)
	}
}
