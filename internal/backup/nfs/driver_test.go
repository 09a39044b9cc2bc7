package nfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/backup/posix"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/nfsjudge"
	"github.com/scoria/scoria/internal/resource"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.Out = io.Discard
	return l
}

func smallChunks() chunked.Options {
	return chunked.Options{FileSize: 16 * 4096, SHABlockSize: 4096, CompressionAlgorithm: "zlib"}
}

// dirMounter answers a directory, or an error, for any share: it lets the unit tests
// below check what the driver does when the share's mount comes and goes.
type dirMounter struct {
	mu    sync.Mutex
	dir   string
	err   error
	calls int
}

func (m *dirMounter) MountShare(_ context.Context, share, options string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	return m.dir, m.err
}

func (m *dirMounter) set(dir string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dir, m.err = dir, err
}

// fileDevice is a volumeio.Device on a plain file.
type fileDevice struct {
	*os.File
	size int64
}

func (f *fileDevice) Size() int64 { return f.size }

func device(t *testing.T, path string) *fileDevice {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return &fileDevice{File: f, size: fi.Size()}
}

func TestNewDriverRefuses(t *testing.T) {
	down := errors.New("NFS server 10.0.0.9 does not answer MOUNT for /backups")
	tests := []struct {
		name string
		o    DriverOptions
		m    *dirMounter
		want string
	}{
		{"no backup_share", DriverOptions{Chunked: smallChunks()}, &dirMounter{dir: t.TempDir()}, "option backup_share: it is not set"},
		{"share down", DriverOptions{Share: "10.0.0.9:/backups", Chunked: smallChunks()}, &dirMounter{err: down}, "does not answer MOUNT"},
		{"mount point missing", DriverOptions{Share: "10.0.0.9:/backups", Chunked: smallChunks()}, &dirMounter{dir: filepath.Join(t.TempDir(), "gone")}, "is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDriver(tc.o, tc.m, quiet())
			if !errors.Is(err, ErrShareUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewDriver = %v, want ErrShareUnavailable with %q", err, tc.want)
			}
		})
	}
	_, err := NewDriver(DriverOptions{Share: "h:/b", Chunked: chunked.Options{FileSize: 1, SHABlockSize: 4096, CompressionAlgorithm: "zlib"}},
		&dirMounter{dir: t.TempDir()}, quiet())
	if !errors.Is(err, chunked.ErrInvalid) {
		t.Fatalf("bad backup_file_size: %v, want ErrInvalid", err)
	}
}

// TestShareLostAfterStart: every call mounts (reusing the mount); a share that cannot be
// mounted any more fails each call clearly, and works again once it can.
func TestShareLostAfterStart(t *testing.T) {
	dir := t.TempDir()
	m := &dirMounter{dir: dir}
	d, err := NewDriver(DriverOptions{Share: "10.0.0.9:/backups", Chunked: smallChunks()}, m, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if d.Service() != config.BackupDriverNFS || d.MountPoint() != dir {
		t.Fatalf("Service %q, MountPoint %q", d.Service(), d.MountPoint())
	}
	vol := filepath.Join(t.TempDir(), "vol")
	if err := os.WriteFile(vol, bytes.Repeat([]byte("v"), 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &resource.Backup{ID: uuid.NewString(), VolumeID: uuid.NewString()}
	res, err := d.Backup(context.Background(), b, nil, device(t, vol), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Container, b.ServiceMetadata = res.Container, res.ServiceMetadata
	if _, err := os.Stat(filepath.Join(dir, res.Container, res.ServiceMetadata+"_metadata")); err != nil {
		t.Fatalf("the backup is not under the mount point: %v", err)
	}

	m.set("", errors.New("mount.nfs: Connection timed out"))
	calls := map[string]func() error{
		"backup":  func() error { _, err := d.Backup(context.Background(), b, nil, device(t, vol), nil); return err },
		"restore": func() error { return d.Restore(context.Background(), []*resource.Backup{b}, "v", device(t, vol), nil) },
		"delete":  func() error { return d.Delete(context.Background(), b) },
		"import":  func() error { return d.ImportRecord(context.Background(), b, nil) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrShareUnavailable) || !strings.Contains(err.Error(), "Connection timed out") {
			t.Errorf("%s with the share gone: %v, want ErrShareUnavailable", name, err)
		}
	}
	m.set(dir, nil)
	if err := d.ImportRecord(context.Background(), b, nil); err != nil {
		t.Fatalf("import once the share is back: %v", err)
	}
	if err := d.Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// requireServer answers the test NFS server, for the bind-mount TEST STAND-IN: root for
// mount --bind and nfs-ls to ask the server; under CI=true a missing one fails.
func requireServer(t *testing.T) nfsjudge.Env {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root (mount --bind)"
	} else if _, err := exec.LookPath("nfs-ls"); err != nil {
		missing = "nfs-ls (libnfs-utils)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s needed under CI=true", missing)
		}
		t.Skipf("needs %s", missing)
	}
	return nfsjudge.Require(t)
}

// mountsAt counts the mounts at dir in this mount namespace.
func mountsAt(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[1] == dir {
			n++
		}
	}
	return n
}

// unmountAll removes the bind mounts at dir (needed only where the tests could not run in
// a mount namespace of their own).
func unmountAll(t *testing.T, dir string) {
	for mountsAt(t, dir) > 0 {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			return
		}
	}
}

// TestOnRealServer backs up to the real ganesha of deploy/nfs/nfs-up.sh through the
// TEST STAND-IN mount, checks over NFSv3 (nfsjudge) that the server holds the objects
// byte for byte, restores a chain, imports into a second driver and deletes.
func TestOnRealServer(t *testing.T) {
	env := requireServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	share := env.Shares[0]
	base := t.TempDir()
	m, err := NewShareMounter(MounterOptions{Base: base, TestExports: env.SubstituteExports(), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	// A container of this run's own, so that runs and other tests on the export never meet.
	container := "scoria-backup-test-" + uuid.NewString()[:8]
	d, err := NewDriver(DriverOptions{Share: share, Chunked: smallChunks(), DefaultContainer: container}, m, quiet())
	if err != nil {
		t.Fatal(err)
	}
	mp := d.MountPoint()
	t.Cleanup(func() {
		_ = os.RemoveAll(filepath.Join(env.Dirs[0], container))
		unmountAll(t, mp)
	})
	if want := md5Dir(base, share); mp != want {
		t.Fatalf("mount point %s, want %s", mp, want)
	}

	rng := rand.New(rand.NewPCG(11, 12))
	data := make([]byte, 512<<10)
	for i := range 200_000 {
		data[i] = byte(rng.UintN(256))
	}
	vol := filepath.Join(t.TempDir(), "vol")
	if err := os.WriteFile(vol, data, 0o600); err != nil {
		t.Fatal(err)
	}
	volID := uuid.NewString()
	full := &resource.Backup{ID: uuid.NewString(), VolumeID: volID, CreatedAt: time.Now()}
	record := func(b *resource.Backup, parent *resource.Backup) {
		t.Helper()
		res, err := d.Backup(ctx, b, parent, device(t, vol), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Container, b.ServiceMetadata, b.ObjectCount = res.Container, res.ServiceMetadata, res.ObjectCount
	}
	record(full, nil)
	first := bytes.Clone(data)
	for i := 300_000; i < 310_000; i++ {
		data[i] = byte(rng.UintN(256))
	}
	if err := os.WriteFile(vol, data, 0o600); err != nil {
		t.Fatal(err)
	}
	inc := &resource.Backup{ID: uuid.NewString(), VolumeID: volID, ParentID: full.ID, CreatedAt: time.Now()}
	record(inc, full)
	if full.Container != container || inc.Container != container {
		t.Fatalf("containers %q, %q; want backup_container %q", full.Container, inc.Container, container)
	}

	// The server holds each object as written under the mount point.
	for _, b := range []*resource.Backup{full, inc} {
		for _, name := range []string{b.ServiceMetadata + "_metadata", b.ServiceMetadata + "_sha256file", chunked.ObjectName(b.ServiceMetadata, 1)} {
			local, err := os.ReadFile(filepath.Join(mp, b.Container, name))
			if err != nil {
				t.Fatal(err)
			}
			url := nfsjudge.URL(share, b.Container+"/"+name)
			size, _, err := nfsjudge.Stat(ctx, url)
			if err != nil {
				t.Fatalf("the NFS server does not have %s: %v", name, err)
			}
			remote, err := nfsjudge.ReadAt(ctx, url, 0, size)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(remote, local) {
				t.Fatalf("%s: the NFS server has %d bytes that differ from the %d written", name, len(remote), len(local))
			}
		}
	}

	for i, tc := range []struct {
		chain []*resource.Backup
		want  []byte
	}{{[]*resource.Backup{full}, first}, {[]*resource.Backup{full, inc}, data}} {
		target := filepath.Join(t.TempDir(), "target")
		if err := os.WriteFile(target, bytes.Repeat([]byte{0xee}, len(data)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := d.Restore(ctx, tc.chain, "target", device(t, target), nil); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Fatalf("restore %d differs from the volume at its backup", i)
		}
	}

	// A second driver (a restarted service) reuses the mount and imports the records.
	d2, err := NewDriver(DriverOptions{Share: share, Chunked: smallChunks()}, m, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, mp); d2.MountPoint() != mp || n != 1 {
		t.Fatalf("second driver at %s with %d mounts there, want %s and 1", d2.MountPoint(), n, mp)
	}
	for _, b := range []*resource.Backup{full, inc} {
		rec := &resource.Backup{ID: b.ID, VolumeID: resource.ImportVolumeID, Container: b.Container, ServiceMetadata: b.ServiceMetadata}
		if err := d2.ImportRecord(ctx, rec, map[string]any{}); err != nil {
			t.Fatalf("import %s: %v", b.ID, err)
		}
	}

	for _, b := range []*resource.Backup{inc, full} {
		if err := d2.Delete(ctx, b); err != nil {
			t.Fatal(err)
		}
		url := nfsjudge.URL(share, b.Container+"/"+b.ServiceMetadata+"_metadata")
		if _, _, err := nfsjudge.Stat(ctx, url); err == nil {
			t.Fatalf("the NFS server still has %s after delete", url)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(mp, container, "*")); len(left) != 0 {
		t.Fatalf("delete left %v", left)
	}
	if err := d2.ImportRecord(ctx, &resource.Backup{ID: full.ID, Container: full.Container, ServiceMetadata: full.ServiceMetadata}, nil); !errors.Is(err, posix.ErrNotInStore) {
		t.Fatalf("import of a deleted backup: %v, want ErrNotInStore", err)
	}
}

// TestShareNotExported: a share the real server does not export fails at start, with the
// server's refusal of its MOUNT.
func TestShareNotExported(t *testing.T) {
	env := requireServer(t)
	host, _ := nfsjudge.Split(env.Shares[0])
	bogus := fmt.Sprintf("%s:/not-exported-%d", host, time.Now().UnixNano())
	m, err := NewShareMounter(MounterOptions{Base: t.TempDir(), TestExports: []string{bogus + "=" + t.TempDir()}, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewDriver(DriverOptions{Share: bogus, Chunked: smallChunks()}, m, quiet())
	if !errors.Is(err, ErrShareUnavailable) || !strings.Contains(err.Error(), "does not answer MOUNT") {
		t.Fatalf("NewDriver on a share not exported: %v, want ErrShareUnavailable with the server's refusal", err)
	}
}
