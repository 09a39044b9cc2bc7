package chunked_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scoria/scoria/internal/backup/chunked"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    chunked.Options
		wantErr string
	}{
		{"defaults", chunked.DefaultOptions(), ""},
		{"cinder default values", chunked.Options{FileSize: 1999994880, SHABlockSize: 32768, CompressionAlgorithm: "zlib"}, ""},
		{"alias any case", chunked.Options{FileSize: 8, SHABlockSize: 4, CompressionAlgorithm: "BZip2"}, ""},
		{"not a multiple", chunked.Options{FileSize: 10, SHABlockSize: 4, CompressionAlgorithm: "zlib"}, "not a multiple"},
		{"zero block", chunked.Options{FileSize: 10, SHABlockSize: 0, CompressionAlgorithm: "zlib"}, "backup_sha_block_size_bytes must be positive"},
		{"negative file size", chunked.Options{FileSize: -4, SHABlockSize: 4, CompressionAlgorithm: "zlib"}, "backup_file_size must be positive"},
		{"unknown algorithm", chunked.Options{FileSize: 8, SHABlockSize: 4, CompressionAlgorithm: "lzma"}, `unsupported compression algorithm: "lzma"`},
		{"empty algorithm", chunked.Options{FileSize: 8, SHABlockSize: 4}, "unsupported compression algorithm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, chunked.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want ErrInvalid containing %q", err, tc.wantErr)
			}
			if _, err := chunked.New(&countingStore{}, tc.opts, nil); err == nil {
				t.Fatal("New accepted invalid options")
			}
		})
	}
	if chunked.DefaultFileSize != 1999994880 || chunked.DefaultSHABlockSize != 32768 {
		t.Fatalf("defaults %d/%d differ from Cinder's", chunked.DefaultFileSize, chunked.DefaultSHABlockSize)
	}
}

func TestNormalizeAlgorithm(t *testing.T) {
	for in, want := range map[string]string{
		"none": "none", "off": "none", "No": "none", "zlib": "zlib", "GZIP": "zlib",
		"bz2": "bz2", "bzip2": "bz2", "zstd": "zstd", "ZSTD": "zstd",
	} {
		got, err := chunked.NormalizeAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("NormalizeAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A full backup restores byte for byte, whatever the size's relation to the chunk.
func TestFullBackupRestore(t *testing.T) {
	sizes := []int{1, testBlock - 1, testBlock, testChunk - 1, testChunk, testChunk + 1, 3*testChunk + 777}
	for _, size := range sizes {
		t.Run(fmt.Sprintf("size_%d", size), func(t *testing.T) {
			f := newFixture(t, smallOptions("none"))
			vol := randomBytes(uint64(size), size)
			var lastDone, lastTotal int64
			d := describe("full", nil)
			d.Progress = func(done, total int64) { lastDone, lastTotal = done, total }
			res := mustBackup(t, f.engine, vol, d)
			wantObjects := (size + testChunk - 1) / testChunk
			if res.ObjectCount != wantObjects {
				t.Errorf("ObjectCount = %d, want %d", res.ObjectCount, wantObjects)
			}
			if lastDone != int64(size) || lastTotal != int64(size) {
				t.Errorf("last progress %d/%d, want %d/%d", lastDone, lastTotal, size, size)
			}
			// The JSON objects are written after every data object, the metadata last.
			order := f.store.order
			if len(order) < 2 || !strings.HasSuffix(order[len(order)-2], "_sha256file") || !strings.HasSuffix(order[len(order)-1], "_metadata") {
				t.Errorf("put order %v: want the sha256file then the metadata last", order)
			}
			got := restoreBytes(t, f.engine, []chunked.Ref{d.Ref}, int64(size))
			if !bytes.Equal(got, vol) {
				t.Fatal("restored bytes differ from the volume")
			}
			sf, err := f.engine.ReadSHA256File(context.Background(), d.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if want := (size + testBlock - 1) / testBlock; len(sf.SHA256s) != want || sf.ChunkSize != testBlock {
				t.Errorf("sha256file has %d sums of %d bytes, want %d of %d", len(sf.SHA256s), sf.ChunkSize, want, testBlock)
			}
		})
	}
}

// Each algorithm (and alias) round-trips; compressible chunks are stored compressed under
// the name as configured, incompressible ones as "none" (Cinder's ineffective compression).
func TestCompressionRoundTrip(t *testing.T) {
	tests := []struct {
		algorithm string
		recorded  string // in the metadata for a compressible chunk
	}{
		{"none", "none"}, {"off", "none"}, {"no", "none"},
		{"zlib", "zlib"}, {"gzip", "gzip"}, {"GZip", "gzip"},
		{"bz2", "bz2"}, {"bzip2", "bzip2"},
		{"zstd", "zstd"},
	}
	for _, tc := range tests {
		t.Run(tc.algorithm, func(t *testing.T) {
			f := newFixture(t, smallOptions(tc.algorithm))
			// chunk 1 compressible, chunk 2 random, chunk 3 zeros, a short compressible tail
			vol := append(append(append(textBytes(testChunk), randomBytes(7, testChunk)...), make([]byte, testChunk)...), textBytes(999)...)
			d := describe("c", nil)
			res := mustBackup(t, f.engine, vol, d)
			objs := res.Metadata.Objects
			if len(objs) != 4 {
				t.Fatalf("%d objects, want 4", len(objs))
			}
			for i, want := range []string{tc.recorded, "none", tc.recorded, tc.recorded} {
				if objs[i].Compression != want {
					t.Errorf("object %d compression %q, want %q", i+1, objs[i].Compression, want)
				}
			}
			if n, stored := f.store.dataPuts(); tc.recorded != "none" && stored >= int64(len(vol)) || n != 4 {
				t.Errorf("%d objects of %d bytes stored for a %d-byte volume", n, stored, len(vol))
			}
			if got := restoreBytes(t, f.engine, []chunked.Ref{d.Ref}, int64(len(vol))); !bytes.Equal(got, vol) {
				t.Fatal("restored bytes differ")
			}
		})
	}
}

// Objects compressed by Python's zlib and bz2 (and the zstd CLI) restore: what Cinder
// wrote, Scoria reads.
func TestRestoreReadsPythonCompression(t *testing.T) {
	plain, err := os.ReadFile("testdata/python.plain")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, algorithm string }{
		{"python.zlib", "zlib"}, {"python.zlib", "gzip"}, {"python.bz2", "bz2"}, {"python.zst", "zstd"}, {"python.plain", "none"},
	} {
		t.Run(tc.file+"_"+tc.algorithm, func(t *testing.T) {
			f := newFixture(t, smallOptions("none"))
			obj, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ref := chunked.Ref{Container: "py", Prefix: "p"}
			if err := f.posix.Put(ctx, ref.Container, chunked.ObjectName(ref.Prefix, 1), bytes.NewReader(obj)); err != nil {
				t.Fatal(err)
			}
			md := fmt.Sprintf(`{"backup_description": null, "backup_id": "b", "backup_name": null, "created_at": "x",
  "objects": [{"p-00001": {"compression": %q, "length": %d, "md5": %q, "offset": 0}}],
  "parent_id": null, "version": "1.0.0", "volume_id": "v", "volume_meta": null}`, tc.algorithm, len(plain), md5hex(plain))
			if err := f.posix.Put(ctx, ref.Container, chunked.MetadataName(ref.Prefix), strings.NewReader(md)); err != nil {
				t.Fatal(err)
			}
			if got := restoreBytes(t, f.engine, []chunked.Ref{ref}, int64(len(plain))); !bytes.Equal(got, plain) {
				t.Fatal("restored bytes differ from Python's input")
			}
		})
	}
}

// A sparse volume: its zeros are backed up (compressed) as Cinder does, and a restore
// onto a new volume writes none of them, so the volume stays sparse; onto an existing
// volume they are written.
func TestSparseVolume(t *testing.T) {
	const mib = 1 << 20
	opts := chunked.Options{FileSize: mib, SHABlockSize: testBlock, CompressionAlgorithm: "zlib"}
	f := newFixture(t, opts)
	vol := make([]byte, 8*mib)
	copy(vol[3*mib:], randomBytes(3, mib))
	d := describe("sparse", nil)
	mustBackup(t, f.engine, vol, d)
	if _, stored := f.store.dataPuts(); stored > mib+64*1024 {
		t.Errorf("%d bytes stored for 1 MiB of data and 7 MiB of zeros", stored)
	}

	t.Run("new volume stays sparse", func(t *testing.T) {
		out := volumeFile(t, int64(len(vol)), nil)
		if _, err := f.engine.Restore(context.Background(), []chunked.Ref{d.Ref}, out, chunked.RestoreOptions{VolumeIsNew: true}); err != nil {
			t.Fatal(err)
		}
		assertFile(t, out.Name(), vol)
		fi, err := out.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if allocated := fi.Sys().(*syscall.Stat_t).Blocks * 512; allocated > 2*mib {
			t.Errorf("restored volume allocates %d bytes for 1 MiB of data", allocated)
		}
	})
	t.Run("existing volume gets its zeros", func(t *testing.T) {
		out := volumeFile(t, int64(len(vol)), bytes.Repeat([]byte{0xAB}, len(vol)))
		if _, err := f.engine.Restore(context.Background(), []chunked.Ref{d.Ref}, out, chunked.RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		assertFile(t, out.Name(), vol)
	})
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the expected bytes", path)
	}
}
