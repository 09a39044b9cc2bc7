package nfsjudge

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests ask the real nfs-ganesha of deploy/nfs/nfs-up.sh (Require skips without it, or
// fails under CI=true) and compare its answers with the exported directory seen locally.

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// scratch returns a file name unique to this test run, removed from dir at the end.
func scratch(t *testing.T, dir, kind string) string {
	name := fmt.Sprintf("nfsjudge-%s-%d-%d", kind, os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { os.Remove(filepath.Join(dir, name)) })
	return name
}

// unusedPort returns a TCP port on 127.0.0.1 that nothing listens on (just closed).
func unusedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestMountOnRealServer(t *testing.T) {
	e := Require(t)
	ctx := testCtx(t)
	host, _ := Split(e.Shares[0])
	tests := []struct {
		name    string
		server  Server
		export  string
		wantErr string
	}{
		{name: "first share", server: Server{Host: host}, export: func() string { _, x := Split(e.Shares[0]); return x }()},
		{name: "last share", server: Server{Host: host}, export: func() string { _, x := Split(e.Shares[len(e.Shares)-1]); return x }()},
		{name: "an export the server does not have", server: Server{Host: host}, export: "/scoria-no-such-export", wantErr: "MNT3ERR_"},
		{name: "no MOUNT service on the port", server: Server{Host: host, MountPort: unusedPort(t)}, export: "/export1", wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh, err := tt.server.Mount(ctx, tt.export)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(fh) == 0 || len(fh) > 64 {
				t.Fatalf("root file handle of %d bytes", len(fh))
			}
		})
	}
}

// TestFSStatAgreesWithStatfs compares the server's FSSTAT with statfs(2) of the directory it
// exports (ganesha's FSAL VFS answers from the same statfs). The total is a property of the
// file system: equal to the byte. Free and available move with whatever else on this machine
// writes to that disk between the two calls (other packages' tests write volumes of up to a
// few hundred MiB at the same time), so they must agree within 512 MiB — while a judge that
// read the wrong words of the reply would be off by far more (the fields differ by tens of GiB
// here, or read as file counts).
func TestFSStatAgreesWithStatfs(t *testing.T) {
	e := Require(t)
	ctx := testCtx(t)
	const tolerance = 512 << 20
	for i, share := range e.Shares {
		t.Run(share, func(t *testing.T) {
			host, export := Split(share)
			got, err := FSStat(ctx, host, export)
			if err != nil {
				t.Fatal(err)
			}
			var st syscall.Statfs_t
			if err := syscall.Statfs(e.Dirs[i], &st); err != nil {
				t.Fatal(err)
			}
			bs := uint64(st.Frsize)
			if got.TotalBytes != st.Blocks*bs {
				t.Errorf("FSSTAT total %d bytes, statfs %d", got.TotalBytes, st.Blocks*bs)
			}
			near := func(what string, a, b uint64) {
				if d := int64(a) - int64(b); d > tolerance || d < -tolerance {
					t.Errorf("FSSTAT %s %d bytes, statfs %d", what, a, b)
				}
			}
			near("free", got.FreeBytes, st.Bfree*bs)
			near("available", got.AvailBytes, st.Bavail*bs)
			if got.AvailBytes > got.FreeBytes || got.FreeBytes > got.TotalBytes {
				t.Errorf("FSSTAT out of order: %+v", got)
			}
			if got.TotalFiles != st.Files {
				t.Errorf("FSSTAT %d files, statfs %d", got.TotalFiles, st.Files)
			}
		})
	}
}

// TestFileSeenOverNFS writes a file in the exported directory and reads it back through the
// server: attributes with LOOKUP, bytes with READ (over several READs) and with nfs-cat.
func TestFileSeenOverNFS(t *testing.T) {
	e := Require(t)
	ctx := testCtx(t)
	data := make([]byte, 3*readChunk+1234)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	name := scratch(t, e.Dirs[0], "file")
	path := filepath.Join(e.Dirs[0], name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sparse := scratch(t, e.Dirs[0], "sparse")
	if err := os.WriteFile(filepath.Join(e.Dirs[0], sparse), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(e.Dirs[0], sparse), 1<<30); err != nil {
		t.Fatal(err)
	}
	url := URL(e.Shares[0], name)

	for _, tt := range []struct{ name, file string }{{"written", name}, {"sparse", sparse}} {
		t.Run("Stat "+tt.name, func(t *testing.T) {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(e.Dirs[0], tt.file), &st); err != nil {
				t.Fatal(err)
			}
			size, used, err := Stat(ctx, URL(e.Shares[0], tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if size != st.Size || used != st.Blocks*512 {
				t.Errorf("over NFS size %d used %d; locally size %d, %d bytes allocated", size, used, st.Size, st.Blocks*512)
			}
		})
	}
	t.Run("Stat of a missing file", func(t *testing.T) {
		if _, _, err := Stat(ctx, URL(e.Shares[0], name+".missing")); err == nil || !strings.Contains(err.Error(), "NFS3ERR_NOENT") {
			t.Errorf("error %v, want NFS3ERR_NOENT", err)
		}
	})
	t.Run("Cat", func(t *testing.T) {
		got, err := Cat(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("nfs-cat read %d bytes that differ from the %d written", len(got), len(data))
		}
	})
	for _, tt := range []struct {
		name   string
		off, n int64
		want   []byte
	}{
		{"whole", 0, int64(len(data)), data},
		{"across READs", readChunk - 10, readChunk + 20, data[readChunk-10 : 2*readChunk+10]},
		{"past the end", int64(len(data)) - 5, 100, data[len(data)-5:]},
	} {
		t.Run("ReadAt "+tt.name, func(t *testing.T) {
			got, err := ReadAt(ctx, url, tt.off, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("read %d bytes at %d that differ from the %d expected", len(got), tt.off, len(tt.want))
			}
		})
	}
}

// TestQemuOverNFS creates images in the exported directory with qemu-img and reads what qemu
// sees through its nfs:// driver; writes through qemu-io over nfs:// are checked on disk.
func TestQemuOverNFS(t *testing.T) {
	e := Require(t)
	ctx := testCtx(t)
	for _, bin := range []string{"qemu-img", "qemu-io"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s needed under CI=true: %v", bin, err)
			}
			t.Skipf("%s missing: %v", bin, err)
		}
	}
	dir := e.Dirs[0]
	base := scratch(t, dir, "base")
	overlay := scratch(t, dir, "overlay")
	raw := scratch(t, dir, "raw")
	for _, args := range [][]string{
		{"create", "-q", "-f", "qcow2", filepath.Join(dir, base), "64M"},
		{"create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", filepath.Join(dir, overlay)},
		{"create", "-q", "-f", "raw", filepath.Join(dir, raw), "8M"},
	} {
		if out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v: %s", args, err, out)
		}
	}
	tests := []struct {
		file        string
		format      string
		virtualSize int64
		backing     string
	}{
		{base, "qcow2", 64 << 20, ""},
		{overlay, "qcow2", 64 << 20, base},
		{raw, "raw", 8 << 20, ""},
	}
	for _, tt := range tests {
		t.Run("info "+tt.file, func(t *testing.T) {
			format, size, backing, err := QemuImgInfo(ctx, URL(e.Shares[0], tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format || size != tt.virtualSize || backing != tt.backing {
				t.Errorf("format %q size %d backing %q; want %q %d %q", format, size, backing, tt.format, tt.virtualSize, tt.backing)
			}
		})
	}
	data := []byte("scoria wrote this through qemu's nfs:// driver")
	for _, tt := range []struct {
		file, format string
		off          int64
	}{{base, "qcow2", 1 << 20}, {raw, "raw", 3<<20 + 7}} {
		t.Run("write and read "+tt.format, func(t *testing.T) {
			url := URL(e.Shares[0], tt.file)
			if err := QemuIOWrite(ctx, url, tt.format, data, tt.off); err != nil {
				t.Fatal(err)
			}
			got, err := QemuIORead(ctx, url, tt.format, tt.off, int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("qemu-io read %q", got)
			}
			if tt.format == "raw" { // the bytes are in the exported file, where they were written
				f, err := os.ReadFile(filepath.Join(dir, tt.file))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(f[tt.off:tt.off+int64(len(data))], data) {
					t.Errorf("the exported file holds %q at %d", f[tt.off:tt.off+int64(len(data))], tt.off)
				}
			} else { // and a qcow2 read locally by qemu-io agrees with the one over nfs://
				out, err := exec.CommandContext(ctx, "qemu-io", "-f", "qcow2", "-c", fmt.Sprintf("read -P 0x73 %d 1", tt.off), filepath.Join(dir, tt.file)).CombinedOutput()
				if err != nil || strings.Contains(string(out), "Pattern verification failed") {
					t.Errorf("locally the qcow2 does not start with 's' at %d: %v: %s", tt.off, err, out)
				}
			}
		})
	}
}
