package volumeio

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

func TestOpenLocal(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newTestAttacher(t, nil)
	dir := t.TempDir()
	content := pattern(1, 3<<20+512)
	cases := []struct {
		name string
		mode Mode
	}{
		{"read-only", ReadOnly},
		{"read-write", ReadWrite},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			writeFile(t, path, content)
			d, err := a.Open(ctx, driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": path}}, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Size() != int64(len(content)) {
				t.Fatalf("Size() = %d, want %d", d.Size(), len(content))
			}
			mustEqual(t, "read back", readAll(t, d), content)
			patch := pattern(2, 4096)
			_, err = d.WriteAt(patch, 1<<20)
			if tc.mode == ReadOnly {
				if err == nil {
					t.Fatal("a write to a read-only device succeeded")
				}
			} else if err != nil {
				t.Fatal(err)
			}
			// a write past the end fails instead of growing the file
			if n, err := d.WriteAt(make([]byte, 1024), d.Size()-512); err == nil || (tc.mode == ReadWrite && n != 512) {
				t.Fatalf("a write across the end answered n=%d err=%v, want 512 and an error", n, err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			got, _ := os.ReadFile(path)
			want := append([]byte(nil), content...)
			if tc.mode == ReadWrite {
				copy(want[1<<20:], patch)
				copy(want[len(want)-512:], make([]byte, 512))
			}
			mustEqual(t, "file after close", got, want)
		})
	}
}

func TestOpenLocalRefusesCharDevice(t *testing.T) {
	// /dev/zero is a character device: refused, with its type named.
	a, _, _ := newTestAttacher(t, nil)
	_, err := a.Open(context.Background(), driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": "/dev/zero"}}, ReadOnly)
	if err == nil || !strings.Contains(err.Error(), "neither a regular file nor a block device") {
		t.Fatalf("opening a character device answered %v", err)
	}
}

func TestOpenRefusals(t *testing.T) {
	a, scratch, _ := newTestAttacher(t, nil)
	cases := []struct {
		name        string
		info        driver.ConnectionInfo
		unsupported bool
		want        string
	}{
		{"unknown type", driver.ConnectionInfo{DriverVolumeType: "fibre_channel"}, true, `"fibre_channel"`},
		{"local without path", driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{}}, false, "no device_path"},
		{"local path not a string", driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": 3.0}}, false, "not a string"},
		{"local missing file", driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": "/nonexistent/x"}}, false, "no such file"},
		{"nfs without mounter", driver.ConnectionInfo{DriverVolumeType: "nfs", Data: map[string]any{"export": "h:/e", "name": "volume-1"}}, true, "no share mounter"},
		{"nfs name with a path", driver.ConnectionInfo{DriverVolumeType: "nfs", Data: map[string]any{"export": "h:/e", "name": "../etc/passwd"}}, false, "not a file name"},
		{"nfs vmdk", driver.ConnectionInfo{DriverVolumeType: "nfs", Data: map[string]any{"export": "h:/e", "name": "v", "format": "vmdk"}}, false, `"vmdk"`},
		{"iscsi without portal", driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{"target_iqn": "iqn.x", "target_lun": 1}}, false, "no target_portal"},
		{"iscsi without lun", driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{"target_portal": "1.2.3.4:3260", "target_iqn": "iqn.x"}}, false, "no target_lun"},
		{"iscsi bad lun", driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{"target_portal": "1.2.3.4:3260", "target_iqn": "iqn.x", "target_lun": 1.5}}, false, "not an integer"},
		{"iscsi CHAP without password", driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{"target_portal": "1.2.3.4:3260", "target_iqn": "iqn.x", "target_lun": 1, "auth_method": "CHAP", "auth_username": "u"}}, false, "no auth_password"},
		{"iscsi other auth", driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{"target_portal": "1.2.3.4:3260", "target_iqn": "iqn.x", "target_lun": 1, "auth_method": "kerberos"}}, false, "only CHAP"},
		{"rbd without name", driver.ConnectionInfo{DriverVolumeType: "rbd", Data: map[string]any{}}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := a.Open(context.Background(), tc.info, ReadOnly)
			if err == nil {
				d.Close()
				t.Fatal("opened")
			}
			if tc.unsupported != errors.Is(err, ErrUnsupported) && tc.info.DriverVolumeType != "rbd" {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v: %v", !tc.unsupported, tc.unsupported, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	if left := scratchLeft(t, scratch); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
	if _, err := a.Open(context.Background(), driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": "/dev/null"}}, Mode(7)); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

func TestRemoveStale(t *testing.T) {
	a, scratch, _ := newTestAttacher(t, nil)
	keep := filepath.Join(scratch, "other.raw")
	writeFile(t, keep, nil)
	for range 2 {
		if _, err := a.newScratch(10); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RemoveStale(); err != nil {
		t.Fatal(err)
	}
	if left := scratchLeft(t, scratch); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file not ours was removed: %v", err)
	}
}

// TestOpenLocalBlockDevice opens a loop device (root only) in both modes: its size is the
// device's, and what is written reaches the file behind it.
func TestOpenLocalBlockDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	losetup := need(t, "losetup")
	backing := filepath.Join(t.TempDir(), "loop.img")
	content := pattern(3, 2<<20)
	writeFile(t, backing, content)
	out, err := exec.Command(losetup, "-f", "--show", backing).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("losetup: %v %s", err, out)
		}
		t.Skipf("no loop device here: %v %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command(losetup, "-d", dev).Run() })
	a, _, _ := newTestAttacher(t, nil)
	info := driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": dev}}
	d, err := a.Open(context.Background(), info, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != int64(len(content)) {
		t.Fatalf("Size() of %s = %d, want %d", dev, d.Size(), len(content))
	}
	mustEqual(t, "read back", readAll(t, d), content)
	patch := pattern(4, 8192)
	if _, err := d.WriteAt(patch, 4096); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	copy(content[4096:], patch)
	ro, err := a.Open(context.Background(), info, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	mustEqual(t, "read back after a write", readAll(t, ro), content)
}
