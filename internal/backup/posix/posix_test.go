package posix

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/backup/chunked"
)

func newStore(t *testing.T, create bool) (*Store, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "backup")
	s, err := New(Options{Path: root, CreateContainers: create})
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func TestNewOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no path", Options{}, "backup_posix_path is not set"},
		{"a file", Options{Path: file}, "is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); !errors.Is(err, chunked.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	if got := DefaultOptions("/var/lib/cinder"); got.Path != "/var/lib/cinder/backup" || !got.CreateContainers {
		t.Fatalf("DefaultOptions = %+v", got)
	}
}

func TestNaming(t *testing.T) {
	id := "2b9f5e43-6f0d-4c5e-9b7e-0c6f3a1d2e77"
	if got := ContainerName(id, ""); got != "2b/9f/"+id {
		t.Errorf("ContainerName = %q", got)
	}
	if got := ContainerName(id, "mine"); got != "mine" {
		t.Errorf("ContainerName with a request = %q", got)
	}
	at := time.Date(2026, 12, 7, 22, 20, 15, 999, time.FixedZone("x", 3600))
	if got, want := ObjectPrefix("vol", id, at), "volume_vol_20261207212015_backup_"+id; got != want {
		t.Errorf("ObjectPrefix = %q, want %q", got, want)
	}
}

func TestPutGetListDelete(t *testing.T) {
	s, root := newStore(t, true)
	ctx := context.Background()
	const container = "2b/9f/2b9f"
	objects := map[string]string{"p-00001": "one", "p-00002": strings.Repeat("two", 100000), "p_metadata": "{}", "q-00001": "other"}
	for name, body := range objects {
		if err := s.Put(ctx, container, name, strings.NewReader(body)); err != nil {
			t.Fatalf("Put %s: %v", name, err)
		}
	}
	for name, body := range objects {
		r, err := s.Get(ctx, container, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		_ = r.Close()
		if err != nil || string(got) != body {
			t.Errorf("Get %s: %d bytes, %v", name, len(got), err)
		}
	}
	// Overwriting replaces.
	if err := s.Put(ctx, container, "p-00001", strings.NewReader("uno")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, container, "p-00001")); string(b) != "uno" {
		t.Errorf("after overwrite: %q", b)
	}
	// Cinder's modes: directories 0770, files 0660.
	for _, d := range []string{"2b", "2b/9f", container} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || fi.Mode().Perm() != 0o770 {
			t.Errorf("%s: %v %v, want 0770", d, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, container, "p-00001")); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("object mode %v %v, want 0660", fi.Mode(), err)
	}

	listTests := []struct {
		container, prefix string
		want              []string
	}{
		{container, "p", []string{"p-00001", "p-00002", "p_metadata"}},
		{container, "q", []string{"q-00001"}},
		{container, "", []string{"p-00001", "p-00002", "p_metadata", "q-00001"}},
		{container, "z", nil},
		{"absent", "p", nil},
		{"2b", "", nil}, // directories are not objects
	}
	for _, tc := range listTests {
		got, err := s.List(ctx, tc.container, tc.prefix)
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("List(%q, %q) = %v, %v; want %v", tc.container, tc.prefix, got, err, tc.want)
		}
	}

	if _, err := s.Get(ctx, container, "nope"); !errors.Is(err, chunked.ErrNotFound) {
		t.Errorf("Get of an absent object = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "absent", "nope"); !errors.Is(err, chunked.ErrNotFound) {
		t.Errorf("Get in an absent container = %v, want ErrNotFound", err)
	}
	for range 2 {
		for _, name := range []string{"p-00001", "never"} {
			if err := s.Delete(ctx, container, name); err != nil {
				t.Errorf("Delete %s: %v", name, err)
			}
		}
	}
	if err := s.Delete(ctx, "absent", "x"); err != nil {
		t.Errorf("Delete in an absent container: %v", err)
	}
	if _, err := s.Get(ctx, container, "p-00001"); !errors.Is(err, chunked.ErrNotFound) {
		t.Errorf("deleted object still there: %v", err)
	}

	// RemoveContainer keeps a non-empty container, removes an empty one and its parents.
	if err := s.RemoveContainer(container); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, container)); err != nil {
		t.Fatalf("non-empty container removed: %v", err)
	}
	for _, name := range []string{"p-00002", "p_metadata", "q-00001"} {
		if err := s.Delete(ctx, container, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveContainer(container); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "2b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("emptied container's parents left: %v", err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("the root went too: %v", err)
	}
}

func TestBadNames(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := context.Background()
	tests := []struct{ container, name string }{
		{"", "o"}, {"/abs", "o"}, {"../up", "o"}, {"a/../../b", "o"}, {"a//b", "o"}, {"a/./b", "o"},
		{"c", ""}, {"c", "a/b"}, {"c", ".."}, {"c", "."}, {"c", "nul\x00"},
	}
	for _, tc := range tests {
		if err := s.Put(ctx, tc.container, tc.name, strings.NewReader("x")); !errors.Is(err, chunked.ErrInvalid) {
			t.Errorf("Put(%q, %q) = %v, want ErrInvalid", tc.container, tc.name, err)
		}
		if _, err := s.Get(ctx, tc.container, tc.name); !errors.Is(err, chunked.ErrInvalid) {
			t.Errorf("Get(%q, %q) = %v, want ErrInvalid", tc.container, tc.name, err)
		}
		if err := s.Delete(ctx, tc.container, tc.name); !errors.Is(err, chunked.ErrInvalid) {
			t.Errorf("Delete(%q, %q) = %v, want ErrInvalid", tc.container, tc.name, err)
		}
	}
}

func TestCreateContainersOff(t *testing.T) {
	s, root := newStore(t, false)
	ctx := context.Background()
	err := s.Put(ctx, "c", "o", strings.NewReader("x"))
	if !errors.Is(err, chunked.ErrNotFound) || !strings.Contains(err.Error(), "backup_create_containers is false") {
		t.Fatalf("Put = %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "c"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "c", "o", strings.NewReader("x")); err != nil {
		t.Fatalf("Put into an existing container: %v", err)
	}
}

// errReader fails after some bytes, as a dying source would.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("source died")
	}
	n := min(len(p), r.n)
	clear(p[:n])
	r.n -= n
	return n, nil
}

// A put that fails or is cancelled leaves neither the object nor a temporary file; an
// earlier version of the object stays whole.
func TestPutFailureLeavesNothing(t *testing.T) {
	s, root := newStore(t, true)
	ctx := context.Background()
	if err := s.Put(ctx, "c", "o", strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		want error
	}{
		{"source fails", ctx, &errReader{n: 100000}, nil},
		{"cancelled", cancelled, strings.NewReader("new"), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"o", "fresh"} {
				err := s.Put(tc.ctx, "c", name, tc.r)
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("Put %s = %v", name, err)
				}
			}
			entries, _ := os.ReadDir(filepath.Join(root, "c"))
			if len(entries) != 1 || entries[0].Name() != "o" {
				t.Errorf("container holds %v, want only o", entries)
			}
			if b, _ := os.ReadFile(filepath.Join(root, "c", "o")); string(b) != "old" {
				t.Errorf("o = %q, want the old version", b)
			}
		})
	}
}

// Concurrent puts of different objects into a new container all land (race detector).
func TestConcurrentPuts(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte(i)}, 1000*i)
			errs <- s.Put(ctx, "new/deep/container", chunked.ObjectName("p", i+1), bytes.NewReader(body))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	names, err := s.List(ctx, "new/deep/container", "p-")
	if err != nil || len(names) != 16 {
		t.Fatalf("List = %d names, %v", len(names), err)
	}
}
