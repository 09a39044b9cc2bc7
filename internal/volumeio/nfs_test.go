package volumeio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// dirMounter answers a directory for every share: it stands in for a mounted NFS share so
// that these tests exercise the file handling. It is not NFS; the real NFS server is
// exercised by the NFS backup driver's tests through the NFS backend's mounter.
type dirMounter struct {
	dir string
	err error

	mu    sync.Mutex
	calls []string // share|options
}

func (m *dirMounter) MountShare(_ context.Context, share, options string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, share+"|"+options)
	return m.dir, m.err
}

func nfsInfo(name, format string) driver.ConnectionInfo {
	return driver.ConnectionInfo{DriverVolumeType: "nfs", Data: map[string]any{
		"export": "127.0.0.1:/exports/a", "name": name, "options": "vers=4.1", "format": format, "volume_id": "v1"}}
}

func TestOpenNFSRaw(t *testing.T) {
	m := &dirMounter{dir: t.TempDir()}
	a, scratch, _ := newTestAttacher(t, m)
	content := pattern(10, 1<<20)
	path := filepath.Join(m.dir, "volume-1")
	writeFile(t, path, content)
	for _, format := range []string{"raw", ""} { // no format is raw, as in os-brick
		d, err := a.Open(context.Background(), nfsInfo("volume-1", format), ReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "read back", readAll(t, d), content)
		patch := pattern(11, 1000)
		if _, err := d.WriteAt(patch, 777); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		copy(content[777:], patch)
		got, _ := os.ReadFile(path)
		mustEqual(t, "the file written in place", got, content)
	}
	if len(m.calls) != 2 || m.calls[0] != "127.0.0.1:/exports/a|vers=4.1" {
		t.Errorf("mount calls %q, want the export with its options", m.calls)
	}
	if left := scratchLeft(t, scratch); len(left) != 0 {
		t.Errorf("a raw file was staged: %v", left)
	}
}

func TestOpenNFSMountFails(t *testing.T) {
	m := &dirMounter{err: errors.New("mount.nfs: Connection refused")}
	a, _, _ := newTestAttacher(t, m)
	_, err := a.Open(context.Background(), nfsInfo("volume-1", "raw"), ReadOnly)
	if err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Fatalf("a failed mount answered %v", err)
	}
}

// TestOpenNFSQCOW2ReadOnly reads a qcow2 file whose data is partly in its backing file: the
// device reads as the whole chain, and its scratch copy is gone after Close.
func TestOpenNFSQCOW2ReadOnly(t *testing.T) {
	need(t, "qemu-img")
	m := &dirMounter{dir: t.TempDir()}
	a, scratch, _ := newTestAttacher(t, m)
	content, overlay := qcow2Chain(t, m.dir)

	d, err := a.Open(context.Background(), nfsInfo(filepath.Base(overlay), "qcow2"), ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != int64(len(content)) {
		t.Fatalf("Size() = %d, want %d", d.Size(), len(content))
	}
	mustEqual(t, "read back", readAll(t, d), content)
	if _, err := d.WriteAt([]byte{1}, 0); err == nil {
		t.Error("a read-only device took a write")
	}
	if len(scratchLeft(t, scratch)) != 1 {
		t.Errorf("scratch files while open: %v, want one", scratchLeft(t, scratch))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if left := scratchLeft(t, scratch); len(left) != 0 {
		t.Errorf("scratch files left after Close: %v", left)
	}

	// a file that is not qcow2 fails to open and leaves no scratch file
	writeFile(t, filepath.Join(m.dir, "volume-bad"), []byte("not an image"))
	if _, err := a.Open(context.Background(), nfsInfo("volume-bad", "qcow2"), ReadOnly); err == nil {
		t.Error("a raw file opened as qcow2")
	}
	if left := scratchLeft(t, scratch); len(left) != 0 {
		t.Errorf("scratch files left after a failed open: %v", left)
	}
}

// TestOpenNFSQCOW2ReadWrite writes a qcow2 overlay whose backing file holds data: after
// Close the overlay reads exactly as the device did (qemu-img compare), it still names its
// backing file, and the backing file is untouched.
func TestOpenNFSQCOW2ReadWrite(t *testing.T) {
	need(t, "qemu-img")
	for _, withBacking := range []bool{true, false} {
		name := map[bool]string{true: "with a backing file", false: "alone"}[withBacking]
		t.Run(name, func(t *testing.T) {
			m := &dirMounter{dir: t.TempDir()}
			a, scratch, _ := newTestAttacher(t, m)
			content, overlay := qcow2Chain(t, m.dir)
			base := filepath.Join(m.dir, "volume-1")
			baseBefore := run(t, "qemu-img", "info", "--output", "json", base)
			if !withBacking {
				run(t, "qemu-img", "convert", "-O", "qcow2", overlay, overlay+".flat")
				if err := os.Rename(overlay+".flat", overlay); err != nil {
					t.Fatal(err)
				}
			}
			d, err := a.Open(context.Background(), nfsInfo(filepath.Base(overlay), "qcow2"), ReadWrite)
			if err != nil {
				t.Fatal(err)
			}
			if d.Size() != int64(len(content)) {
				t.Fatalf("Size() = %d, want %d", d.Size(), len(content))
			}
			// the device starts as zeros: the volume becomes exactly what is written
			want := make([]byte, len(content))
			for _, off := range []int64{0, 65536 + 100, int64(len(content)) - 4096} {
				p := pattern(off, 4096)
				if _, err := d.WriteAt(p, off); err != nil {
					t.Fatal(err)
				}
				copy(want[off:], p)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if left := scratchLeft(t, scratch); len(left) != 0 {
				t.Errorf("scratch files left after Close: %v", left)
			}
			expected := filepath.Join(t.TempDir(), "expected.raw")
			writeFile(t, expected, want)
			run(t, "qemu-img", "compare", "-f", "raw", "-F", "qcow2", expected, overlay)
			info := run(t, "qemu-img", "info", "--output", "json", overlay)
			if withBacking != strings.Contains(info, `"backing-filename": "volume-1"`) {
				t.Errorf("the overlay's backing file changed:\n%s", info)
			}
			if withBacking {
				if after := run(t, "qemu-img", "info", "--output", "json", base); after != baseBefore {
					t.Errorf("the backing file changed:\n%s\nwas\n%s", after, baseBefore)
				}
				got, _ := os.ReadFile(base)
				mustEqual(t, "the backing file", got, pattern(20, len(content)))
			}
		})
	}
}

// qcow2Chain makes, in dir, a raw base volume-1 and a qcow2 overlay volume-1.snap on it
// (named relative to it, as the NFS backend's snapshots are) with part of the data
// rewritten; it answers what the overlay reads as and the overlay's path.
func qcow2Chain(t *testing.T, dir string) ([]byte, string) {
	t.Helper()
	const size = 2 << 20
	base := filepath.Join(dir, "volume-1")
	writeFile(t, base, pattern(20, size))
	overlay := filepath.Join(dir, "volume-1.snap")
	run(t, "qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", "volume-1", overlay)
	// rewrite 1 MiB in the overlay through qemu-img: convert a staged raw onto it
	content := pattern(20, size)
	copy(content[size/2:], pattern(21, size/4))
	staged := filepath.Join(t.TempDir(), "staged.raw")
	writeFile(t, staged, content)
	run(t, "qemu-img", "convert", "-n", "-f", "raw", "-O", "qcow2", "-B", "volume-1", "-F", "raw", staged, overlay)
	run(t, "qemu-img", "compare", "-f", "raw", "-F", "qcow2", staged, overlay)
	return content, overlay
}

// TestQCOW2WriteBackFails removes the volume file under an open read-write device: Close
// fails (the writes did not reach the volume), says so again when called again, from
// several goroutines, and leaves no scratch file.
func TestQCOW2WriteBackFails(t *testing.T) {
	need(t, "qemu-img")
	m := &dirMounter{dir: t.TempDir()}
	a, scratch, hook := newTestAttacher(t, m)
	path := filepath.Join(m.dir, "volume-2")
	run(t, "qemu-img", "create", "-f", "qcow2", path, "1M")
	d, err := a.Open(context.Background(), nfsInfo("volume-2", "qcow2"), ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt([]byte("data"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Close()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "write back") {
			t.Errorf("Close answered %v, want the failed write back", err)
		}
	}
	if left := scratchLeft(t, scratch); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
	if n := strings.Count(logged(hook), "could not close the volume"); n != 1 {
		t.Errorf("the failed Close was logged %d times, want once:\n%s", n, logged(hook))
	}
}
