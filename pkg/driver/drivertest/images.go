package drivertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// The test image: imageSize bytes (not a whole number of MiB), with a block of data at each
// of imageData's offsets (the start, an offset aligned to nothing larger than a sector, the
// last block) and zeros between them.
const imageSize = 5<<20 + 64<<10

var imageData = []struct {
	off  int64
	fill byte
}{{0, 'A'}, {1<<20 + 512, 'B'}, {imageSize - 4096, 'C'}}

// oldDataAt are offsets a volume is written at before an image goes over it: inside the
// image where it holds zeros, and past its end (as patternAt, which the suite's write uses).
var oldDataAt = []int64{2 << 20}

// testImage: an image in qcow2 written into a new volume of 1 GiB — by the driver when it is
// a driver.ImageCopier, else, for a driver.LocalDevice, converted into its device path as the
// volume service does — reads back as the image's bytes followed by zeros (qemu-img compare),
// also when the volume held other data before (a re-image); written twice, it is the same
// (the volume service redelivers). An ImageCopier's volume read out as raw and as qcow2 is
// the image too.
func (r *runner) testImage(t *testing.T) {
	cp, isCopier := r.d.(driver.ImageCopier)
	ld, isLocal := r.d.(driver.LocalDevice)
	if !isCopier && !isLocal {
		t.Skip("the driver is neither a driver.ImageCopier nor a driver.LocalDevice: the volume service cannot write images into its volumes")
	}
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is needed under CI=true (Debian: qemu-utils)")
		}
		t.Skip("qemu-img is not installed (Debian: qemu-utils)")
	}
	dir := t.TempDir()
	raw, qcow2 := makeImage(t, dir)
	v := r.create(t, 1)
	dirty := isCopier && r.s.Probe.WriteAt != nil
	if dirty {
		r.write(t, v, 'z')
		for _, off := range oldDataAt {
			if err := r.s.Probe.WriteAt(r.ctx(t), v, pattern('z'), off); err != nil {
				t.Fatalf("write volume %s: %v", v.ID, err)
			}
		}
	}
	for i := range 2 {
		var err error
		if isCopier {
			err = cp.CopyImageToVolume(r.ctx(t), v, driver.ImageFile{Path: qcow2, Format: "qcow2"})
		} else {
			_, err = qemuImg(r.ctx(t), "convert", "-n", "-f", "qcow2", "-O", "raw", qcow2, ld.DevicePath(v))
		}
		if err != nil {
			t.Fatalf("write the image into volume %s (#%d): %v", v.ID, i+1, err)
		}
	}
	r.checkSize(t, v, 1)
	if r.s.Probe.ReadAt != nil {
		r.checkImageData(t, v)
	}
	if !isCopier {
		compareImage(t, r.ctx(t), qcow2, "qcow2", ld.DevicePath(v), "raw")
		return
	}
	for _, f := range []string{"raw", "qcow2"} {
		out := filepath.Join(dir, "out."+f)
		if err := cp.CopyVolumeToImage(r.ctx(t), v, driver.ImageFile{Path: out, Format: f}); err != nil {
			t.Fatalf("CopyVolumeToImage as %s: %v", f, err)
		}
		if size := virtualSize(t, r.ctx(t), out, f); size != driver.GiB {
			t.Errorf("CopyVolumeToImage as %s: virtual size %d, want the volume's %d", f, size, driver.GiB)
		}
		compareImage(t, r.ctx(t), raw, "raw", out, f)
	}
}

// checkImageData reads the volume through the probe: the image's blocks where it has data,
// zeros where it has none and past its end.
func (r *runner) checkImageData(t *testing.T, v driver.Volume) {
	t.Helper()
	want := map[int64]byte{}
	for _, b := range imageData {
		want[b.off] = b.fill
	}
	for _, off := range append(append([]int64{}, oldDataAt...), patternAt...) {
		if _, ok := want[off]; !ok {
			want[off] = 0
		}
	}
	buf := make([]byte, 4096)
	for off, fill := range want {
		if err := r.s.Probe.ReadAt(r.ctx(t), v, buf, off); err != nil {
			t.Fatalf("read volume %s at %d: %v", v.ID, off, err)
		}
		if !bytes.Equal(buf, pattern(fill)) {
			t.Errorf("volume %s at %d holds %q…, want 4096 × %q after the image was written", v.ID, off, buf[:8], fill)
		}
	}
}

// makeImage writes the test image as raw and converts it to qcow2 with qemu-img; it returns
// both paths.
func makeImage(t *testing.T, dir string) (string, string) {
	t.Helper()
	raw := filepath.Join(dir, "image.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(imageSize); err != nil {
		t.Fatal(err)
	}
	for _, b := range imageData {
		if _, err := f.WriteAt(pattern(b.fill), b.off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	qcow2 := filepath.Join(dir, "image.qcow2")
	if _, err := qemuImg(context.Background(), "convert", "-f", "raw", "-O", "qcow2", raw, qcow2); err != nil {
		t.Fatalf("make the qcow2 test image: %v", err)
	}
	return raw, qcow2
}

// compareImage fails the test unless b holds a's bytes, and zeros past a's end (qemu-img
// compare without -s: an image larger than the other must hold only zeros beyond it).
func compareImage(t *testing.T, ctx context.Context, a, aFmt, b, bFmt string) {
	t.Helper()
	if _, err := qemuImg(ctx, "compare", "-f", aFmt, "-F", bFmt, a, b); err != nil {
		t.Errorf("the volume's data is not the image's: %v", err)
	}
}

// virtualSize is qemu-img info's virtual size of path.
func virtualSize(t *testing.T, ctx context.Context, path, format string) int64 {
	t.Helper()
	out, err := qemuImg(ctx, "info", "--output=json", "-f", format, path)
	if err != nil {
		t.Fatalf("%v", err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	return info.VirtualSize
}

// qemuImg runs qemu-img; on failure its output comes with the error.
func qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}
