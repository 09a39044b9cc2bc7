package chunked_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
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
			if err := f.engine.Restore(context.Background(), tc.chain, out, chunked.RestoreOptions{}); err != nil {
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
			err := f.engine.Restore(context.Background(), tc.chain, out, chunked.RestoreOptions{VolumeIsNew: true})
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
		if want := chunked.ObjectName(strings.TrimSuffix(got[i].Name, got[i].Name[len(got[i].Name)-6:]), i+1); got[i].Name != want {
			t.Errorf("object %d is named %s, want %s", i+1, got[i].Name, want)
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
