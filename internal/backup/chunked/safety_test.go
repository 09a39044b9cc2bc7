package chunked_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/backup/chunked"
)

// A backup cancelled midway leaves no metadata: it is not complete, cannot be restored
// nor used as a parent, is deleted cleanly, and a new attempt under the same prefix
// completes.
func TestInterruptedBackup(t *testing.T) {
	f := newFixture(t, smallOptions("zlib"))
	vol := randomBytes(11, 6*testChunk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := describe("cut", nil)
	d.Progress = func(done, _ int64) {
		if done >= 2*testChunk {
			cancel()
		}
	}
	_, err := f.engine.Backup(ctx, bytes.NewReader(vol), int64(len(vol)), d)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup = %v, want context.Canceled", err)
	}
	bg := context.Background()
	names, _ := f.posix.List(bg, d.Container, d.Prefix)
	if len(names) == 0 {
		t.Fatal("the interrupted backup wrote nothing; the test proves nothing")
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_metadata") || strings.HasSuffix(n, "_sha256file") {
			t.Errorf("interrupted backup left %s", n)
		}
	}
	if _, err := f.engine.ReadMetadata(bg, d.Ref); !errors.Is(err, chunked.ErrIncomplete) {
		t.Errorf("ReadMetadata = %v, want ErrIncomplete", err)
	}
	if _, err := f.engine.Restore(bg, []chunked.Ref{d.Ref}, volumeFile(t, int64(len(vol)), nil), chunked.RestoreOptions{}); !errors.Is(err, chunked.ErrIncomplete) {
		t.Errorf("Restore = %v, want ErrIncomplete", err)
	}
	if _, err := f.engine.Backup(bg, bytes.NewReader(vol), int64(len(vol)), describe("child", &d.Ref)); !errors.Is(err, chunked.ErrIncomplete) {
		t.Errorf("incremental on it = %v, want ErrIncomplete", err)
	}

	t.Run("retried", func(t *testing.T) {
		// A crashed write's temporary file, and an object number the retry will not reach.
		tmp := filepath.Join(f.root, d.Container, chunked.ObjectName(d.Prefix, 3)+".part-123")
		if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		small := vol[:testChunk]
		d.Progress = nil
		res := mustBackup(t, f.engine, small, d)
		if res.ObjectCount != 1 {
			t.Errorf("ObjectCount %d, want 1", res.ObjectCount)
		}
		if got := restoreBytes(t, f.engine, []chunked.Ref{d.Ref}, int64(len(small))); !bytes.Equal(got, small) {
			t.Fatal("restored bytes differ")
		}
	})
	t.Run("deleted", func(t *testing.T) {
		if _, err := f.engine.Backup(ctx, bytes.NewReader(vol), int64(len(vol)), describe("cut2", nil)); err == nil {
			t.Fatal("backup with a cancelled context succeeded")
		}
		if err := f.engine.Delete(bg, describe("cut2", nil).Ref); err != nil {
			t.Fatal(err)
		}
		if names, _ := f.posix.List(bg, d.Container, describe("cut2", nil).Prefix); len(names) != 0 {
			t.Errorf("left after delete: %v", names)
		}
	})
}

// A store that fails after some puts, as a process dying or a disk filling would.
type failingStore struct {
	chunked.Store
	left int
}

func (s *failingStore) Put(ctx context.Context, container, name string, r io.Reader) error {
	if s.left == 0 {
		return errors.New("disk full")
	}
	s.left--
	return s.Store.Put(ctx, container, name, r)
}

func TestFailedPutsNeverComplete(t *testing.T) {
	vol := randomBytes(12, 3*testChunk)
	// 3 data objects, then the sha256file, then the metadata.
	for failAt := 0; failAt <= 4; failAt++ {
		t.Run(fmt.Sprint("after_", failAt), func(t *testing.T) {
			f := newFixture(t, smallOptions("none"))
			e, err := chunked.New(&failingStore{Store: f.posix, left: failAt}, smallOptions("none"), nil)
			if err != nil {
				t.Fatal(err)
			}
			d := describe("f", nil)
			if _, err := e.Backup(context.Background(), bytes.NewReader(vol), int64(len(vol)), d); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("Backup = %v, want the store's error", err)
			}
			if _, err := f.engine.ReadMetadata(context.Background(), d.Ref); !errors.Is(err, chunked.ErrIncomplete) {
				t.Fatalf("ReadMetadata = %v, want ErrIncomplete", err)
			}
		})
	}
}

// What is stored differs from the metadata: restore fails clearly, before writing
// anything when it can know (the object list), at the object otherwise.
func TestCorruptBackup(t *testing.T) {
	vol := append(textBytes(2*testChunk), randomBytes(13, testChunk)...)
	tests := []struct {
		name      string
		algorithm string
		damage    func(t *testing.T, dir string, d chunked.Description)
		want      string
	}{
		{"flipped byte, uncompressed", "none", func(t *testing.T, dir string, d chunked.Description) {
			flip(t, filepath.Join(dir, chunked.ObjectName(d.Prefix, 2)), 100)
		}, "has md5"},
		{"flipped byte, zlib", "zlib", func(t *testing.T, dir string, d chunked.Description) {
			flip(t, filepath.Join(dir, chunked.ObjectName(d.Prefix, 1)), 40)
		}, "object"},
		{"truncated, zstd", "zstd", func(t *testing.T, dir string, d chunked.Description) {
			truncate(t, filepath.Join(dir, chunked.ObjectName(d.Prefix, 1)), 10)
		}, "object"},
		{"truncated, uncompressed", "none", func(t *testing.T, dir string, d chunked.Description) {
			truncate(t, filepath.Join(dir, chunked.ObjectName(d.Prefix, 3)), testChunk-1)
		}, "shorter than the 16384 bytes"},
		{"missing object", "none", func(t *testing.T, dir string, d chunked.Description) {
			if err := os.Remove(filepath.Join(dir, chunked.ObjectName(d.Prefix, 2))); err != nil {
				t.Fatal(err)
			}
		}, "actual object list does not match object list stored in metadata"},
		{"extra object", "none", func(t *testing.T, dir string, d chunked.Description) {
			if err := os.WriteFile(filepath.Join(dir, chunked.ObjectName(d.Prefix, 4)), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "actual object list does not match"},
		{"metadata not JSON", "none", func(t *testing.T, dir string, d chunked.Description) {
			if err := os.WriteFile(filepath.Join(dir, chunked.MetadataName(d.Prefix)), []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "_metadata in container c/1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, smallOptions(tc.algorithm))
			d := describe("x", nil)
			mustBackup(t, f.engine, vol, d)
			tc.damage(t, filepath.Join(f.root, d.Container), d)
			_, err := f.engine.Restore(context.Background(), []chunked.Ref{d.Ref}, volumeFile(t, int64(len(vol)), nil), chunked.RestoreOptions{})
			if !errors.Is(err, chunked.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore = %v, want ErrCorrupt with %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func flip(t *testing.T, path string, at int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0xFF
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// Delete removes every object of a backup, the metadata first, and is idempotent; a
// backup that never existed deletes fine.
func TestDelete(t *testing.T) {
	f := newFixture(t, smallOptions("zlib"))
	full := describe("full", nil)
	mustBackup(t, f.engine, randomBytes(14, 2*testChunk+5), full)
	other := describe("other", nil)
	mustBackup(t, f.engine, randomBytes(15, testChunk), other)
	ctx := context.Background()

	var deleted []string
	e, err := chunked.New(&recordingDeletes{Store: f.posix, deleted: &deleted}, smallOptions("zlib"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, ref := range []chunked.Ref{full.Ref, full.Ref, {Container: "never", Prefix: "made"}} {
		if err := e.Delete(ctx, ref); err != nil {
			t.Fatalf("Delete %d: %v", i+1, err)
		}
	}
	if len(deleted) < 2 || deleted[0] != chunked.MetadataName(full.Prefix) {
		t.Errorf("deletes %v: the metadata must go first", deleted)
	}
	if names, _ := f.posix.List(ctx, full.Container, full.Prefix); len(names) != 0 {
		t.Errorf("left: %v", names)
	}
	// The other backup of the container is untouched.
	if _, err := f.engine.ReadMetadata(ctx, other.Ref); err != nil {
		t.Errorf("the other backup: %v", err)
	}
	// No prefix (a backup that failed before naming its objects): nothing is deleted,
	// not the whole container.
	deleted = nil
	for _, ref := range []chunked.Ref{{Container: "c/1"}, {Prefix: other.Prefix}} {
		if err := e.Delete(ctx, ref); err != nil {
			t.Errorf("Delete %+v: %v", ref, err)
		}
	}
	if len(deleted) != 0 {
		t.Errorf("Delete without container or prefix deleted %v", deleted)
	}
	if _, err := f.engine.ReadMetadata(ctx, other.Ref); err != nil {
		t.Errorf("the other backup after prefix-less deletes: %v", err)
	}
}

type recordingDeletes struct {
	chunked.Store
	deleted *[]string
}

func (r *recordingDeletes) Delete(ctx context.Context, container, name string) error {
	*r.deleted = append(*r.deleted, name)
	return r.Store.Delete(ctx, container, name)
}

// Backing up to a prefix that holds the complete backup answers it without writing;
// another backup's prefix is refused.
func TestBackupIdempotent(t *testing.T) {
	f := newFixture(t, smallOptions("zlib"))
	vol := randomBytes(16, testChunk+1)
	d := describe("once", nil)
	first := mustBackup(t, f.engine, vol, d)
	f.store.reset()
	again := mustBackup(t, f.engine, vol, d)
	if !again.Existing || again.ObjectCount != first.ObjectCount || len(f.store.order) != 0 {
		t.Errorf("second backup: existing %v, %d objects, puts %v", again.Existing, again.ObjectCount, f.store.order)
	}
	d.BackupID = "someone-else"
	if _, err := f.engine.Backup(context.Background(), bytes.NewReader(vol), int64(len(vol)), d); !errors.Is(err, chunked.ErrInvalid) {
		t.Errorf("Backup over another backup's prefix = %v, want ErrInvalid", err)
	}
}

func TestBackupBadInput(t *testing.T) {
	f := newFixture(t, smallOptions("zlib"))
	vol := bytes.NewReader(make([]byte, 10))
	self := describe("self", nil)
	self.Parent = &self.Ref
	tests := []struct {
		name string
		src  io.ReaderAt
		size int64
		d    chunked.Description
		want string
	}{
		{"no reader", nil, 10, describe("a", nil), "no volume to read"},
		{"zero size", vol, 0, describe("a", nil), "volume size 0 is invalid"},
		{"no backup id", vol, 10, chunked.Description{VolumeID: "v", Ref: chunked.Ref{Container: "c", Prefix: "p"}}, "backup id"},
		{"no container", vol, 10, chunked.Description{BackupID: "b", VolumeID: "v", Ref: chunked.Ref{Prefix: "p"}}, "no container"},
		{"no prefix", vol, 10, chunked.Description{BackupID: "b", VolumeID: "v", Ref: chunked.Ref{Container: "c"}}, "no object prefix"},
		{"own parent", vol, 10, self, "its own parent"},
		{"container escapes", vol, 10, chunked.Description{BackupID: "b", VolumeID: "v", Ref: chunked.Ref{Container: "../x", Prefix: "p"}}, "container"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.engine.Backup(context.Background(), tc.src, tc.size, tc.d)
			if !errors.Is(err, chunked.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Backup = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	// A volume shorter than the size said.
	_, err := f.engine.Backup(context.Background(), vol, 100, describe("short", nil))
	if err == nil || !strings.Contains(err.Error(), "short read") {
		t.Fatalf("Backup of a short volume = %v", err)
	}
}

// The metadata the engine writes has exactly the keys of Cinder's (the golden file), at
// every level, and its sha256file likewise.
func TestWrittenKeysMatchCinder(t *testing.T) {
	if want := keyPaths(t, []byte(`{"objects": [{"n": {"md5": "x"}}], "version": "1"}`)); want != ".objects\n.version\nobjects[].*\nobjects[].*.md5" {
		t.Fatalf("keyPaths = %q", want)
	}
	f := newFixture(t, smallOptions("zlib"))
	full := describe("full", nil)
	mustBackup(t, f.engine, randomBytes(17, testChunk+3), full)
	inc := describe("inc", &full.Ref)
	mustBackup(t, f.engine, randomBytes(18, testChunk+3), inc)
	for _, tc := range []struct{ object, golden string }{
		{chunked.MetadataName(inc.Prefix), "cinder_metadata.json"},
		{chunked.SHA256FileName(inc.Prefix), "cinder_sha256file.json"},
	} {
		written, err := os.ReadFile(filepath.Join(f.root, inc.Container, tc.object))
		if err != nil {
			t.Fatal(err)
		}
		golden, err := os.ReadFile(filepath.Join("testdata", tc.golden))
		if err != nil {
			t.Fatal(err)
		}
		got, want := keyPaths(t, written), keyPaths(t, golden)
		if !strings.Contains(want, ".version") {
			t.Fatalf("golden keys %q", want)
		}
		if got != want {
			t.Errorf("%s keys:\n%s\nCinder's:\n%s", tc.object, got, want)
		}
	}
}

// keyPaths lists the key paths of a JSON document, object names in "objects" as "*".
func keyPaths(t *testing.T, doc []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if path == "objects[]" {
					k = "*"
				}
				set[path+"."+k] = true
				walk(path+"."+k, c)
			}
		case []any:
			for _, c := range x {
				walk(strings.TrimPrefix(path, ".")+"[]", c)
			}
		}
	}
	walk("", v)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, "\n")
}
