package sheepdog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scoria/scoria/internal/sheep"
	"github.com/scoria/scoria/pkg/driver"
)

// needQemuImg skips the test without qemu-img, and fails it under CI=true.
func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is needed under CI=true (Debian: qemu-utils)")
		}
		t.Skip("qemu-img is not installed (Debian: qemu-utils)")
	}
}

// qcow2Image writes a qcow2 image of size bytes into dir holding fill at each of offs
// (4 KiB each), made with qemu-img from a raw file, and returns its path.
func qcow2Image(t *testing.T, dir string, size int64, fill byte, offs ...int64) string {
	t.Helper()
	raw := filepath.Join(dir, "src.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, off := range offs {
		if _, err := f.WriteAt(bytes.Repeat([]byte{fill}, 4096), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	out := filepath.Join(dir, "src.qcow2")
	if b, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v: %s", err, b)
	}
	os.Remove(raw)
	return out
}

// TestCopyImageStaysThin: an image written into a fresh VDI allocates only the objects the
// image has data in; the zeros after it are not written.
func TestCopyImageStaysThin(t *testing.T) {
	needQemuImg(t)
	sim := simulator(t, false)
	d := fromSim(t, sim)
	ctx := context.Background()
	v := driver.Volume{ID: "0b9e2f4c-5d53-4c4e-9f3b-000000000001", SizeGiB: 1}
	if _, err := d.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	img := qcow2Image(t, dir, 9<<20, 'x', 0, 8<<20) // objects 0 and 2 of 4 MiB
	before := sim.Requests(sheep.OpCreateAndWriteObj)
	if err := d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: img, Format: "qcow2"}); err != nil {
		t.Fatal(err)
	}
	if n := sim.Requests(sheep.OpCreateAndWriteObj) - before; n != 2 {
		t.Errorf("%d objects created for an image with data in 2", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the temporary raw file was left: %v", entries)
	}
}

// TestImageCopyFailures: what cannot be copied is refused with a reason, and nothing is left
// beside the files.
func TestImageCopyFailures(t *testing.T) {
	needQemuImg(t)
	sim := simulator(t, false)
	d := fromSim(t, sim)
	ctx := context.Background()
	v := driver.Volume{ID: "0b9e2f4c-5d53-4c4e-9f3b-000000000002", SizeGiB: 1}
	if _, err := d.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	missing := driver.Volume{ID: "0b9e2f4c-5d53-4c4e-9f3b-000000000003", SizeGiB: 1}
	dir := t.TempDir()
	big := qcow2Image(t, dir, 1<<30+1<<20, 'x', 0)
	notQcow2 := filepath.Join(dir, "plain")
	if err := os.WriteFile(notQcow2, []byte("not an image"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		call     func() error
		notFound bool
	}{
		{"image into a missing volume", func() error {
			return d.CopyImageToVolume(ctx, missing, driver.ImageFile{Path: big, Format: "qcow2"})
		}, true},
		{"image larger than the volume", func() error {
			return d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: big, Format: "qcow2"})
		}, false},
		{"image not in its declared format", func() error {
			return d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: notQcow2, Format: "qcow2"})
		}, false},
		{"missing volume to an image", func() error {
			return d.CopyVolumeToImage(ctx, missing, driver.ImageFile{Path: filepath.Join(dir, "out.qcow2"), Format: "qcow2"})
		}, true},
		{"volume to an unknown format", func() error {
			return d.CopyVolumeToImage(ctx, v, driver.ImageFile{Path: filepath.Join(dir, "out.nope"), Format: "nope"})
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil {
				t.Fatal("succeeded")
			}
			if got := errors.Is(err, driver.ErrNotFound); got != c.notFound {
				t.Errorf("%v: errors.Is ErrNotFound = %v, want %v", err, got, c.notFound)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("files left beside the image: %v", names)
			}
		})
	}
}
