package nfs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// testImage writes a qcow2 image of size bytes into dir, 4 KiB of fill at each of offs, made
// with qemu-img from a raw file; it returns its path.
func testImage(t *testing.T, dir string, size int64, fill byte, offs ...int64) string {
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

// readBlock reads 4 KiB of volume v at off through qemu-io, as a hypervisor would.
func readBlock(t *testing.T, d *Driver, v driver.Volume, off int64) []byte {
	t.Helper()
	p := make([]byte, 4096)
	if err := qemuProbe(&d).ReadAt(context.Background(), v, p, off); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeBlock(t *testing.T, d *Driver, v driver.Volume, fill byte, off int64) {
	t.Helper()
	if err := qemuProbe(&d).WriteAt(context.Background(), v, bytes.Repeat([]byte{fill}, 4096), off); err != nil {
		t.Fatal(err)
	}
}

// TestCopyImageToVolumeFormats: the image goes into the volume's file in the volume's format,
// grown to its size, thin or written in full as nfs_sparsed_volumes says, and no .partial
// file stays.
func TestCopyImageToVolumeFormats(t *testing.T) {
	for _, c := range []struct {
		name          string
		qcow2, sparse bool
		format        string
	}{
		{"raw sparse", false, true, FormatRaw},
		{"raw thick", false, false, FormatRaw},
		{"qcow2", true, true, FormatQCOW2},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, _ := localDriver(t, c.qcow2, false, c.sparse)
			ctx := context.Background()
			if err := d.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			v := driver.Volume{ID: "5f0c1c6e-2a8e-4f43-8d65-000000000001", SizeGiB: 1}
			data, err := d.Create(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			v.Data = data
			img := testImage(t, t.TempDir(), 3<<20, 'i', 0, 2<<20)
			if err := d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: img, Format: "qcow2"}); err != nil {
				t.Fatal(err)
			}
			s, _ := d.share(v.Data.Location)
			path := d.volumePath(s, v)
			ii, err := d.imageInfo(ctx, path, filepath.Base(path), c.format)
			if err != nil || ii.Format != c.format || ii.VirtualSize != driver.GiB {
				t.Fatalf("volume file: %+v, %v; want %s of 1 GiB", ii, err, c.format)
			}
			if c.qcow2 {
				if probed, _ := d.imageInfo(ctx, path, filepath.Base(path), ""); probed.Format != FormatQCOW2 {
					t.Errorf("volume file probed as %q, want qcow2", probed.Format)
				}
			}
			var st syscall.Stat_t
			if err := syscall.Stat(path, &st); err != nil {
				t.Fatal(err)
			}
			allocated := st.Blocks * 512
			if thick := !c.sparse && !c.qcow2; thick && allocated < driver.GiB {
				t.Errorf("thick volume file has %d bytes allocated, want all of 1 GiB", allocated)
			} else if !thick && allocated > 64<<20 {
				t.Errorf("thin volume file has %d bytes allocated for an image of 8 KiB of data", allocated)
			}
			if got := readBlock(t, d, v, 2<<20); !bytes.Equal(got, bytes.Repeat([]byte{'i'}, 4096)) {
				t.Errorf("volume at 2 MiB holds %q…, want the image's", got[:8])
			}
			if _, err := os.Stat(path + tmpSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a .partial file stays: %v", err)
			}
		})
	}
}

// TestCopyImageToVolumeRefused: a volume with snapshots, an image larger than the volume and
// a missing volume are refused with the reason; the volume keeps its data and no .partial
// file stays.
func TestCopyImageToVolumeRefused(t *testing.T) {
	d, _ := localDriver(t, false, true, true)
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	img := testImage(t, dir, 1<<20, 'i', 0)
	big := filepath.Join(dir, "big.qcow2")
	if b, err := exec.Command("qemu-img", "create", "-f", "qcow2", big, "2G").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	create := func(id string) driver.Volume {
		v := driver.Volume{ID: id, SizeGiB: 1}
		data, err := d.Create(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		v.Data = data
		writeBlock(t, d, v, 'o', 0)
		return v
	}
	withSnapshot := create("5f0c1c6e-2a8e-4f43-8d65-000000000002")
	if _, err := d.CreateSnapshot(ctx, driver.Snapshot{ID: "7a1d2b3c-0000-4000-8000-000000000001", VolumeID: withSnapshot.ID}, withSnapshot); err != nil {
		t.Fatal(err)
	}
	plain := create("5f0c1c6e-2a8e-4f43-8d65-000000000003")
	for _, c := range []struct {
		name     string
		v        driver.Volume
		src      string
		want     string
		notFound bool
	}{
		{"volume with a snapshot", withSnapshot, img, "it has 1 snapshot(s)", false},
		{"image larger than the volume", plain, big, "exceeds the volume's 1G", false},
		{"missing volume", driver.Volume{ID: "5f0c1c6e-2a8e-4f43-8d65-000000000004", SizeGiB: 1}, img, "on no share", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := d.CopyImageToVolume(ctx, c.v, driver.ImageFile{Path: c.src, Format: "qcow2"})
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, driver.ErrNotFound) != c.notFound {
				t.Fatalf("error %v; want one saying %q (not found: %v)", err, c.want, c.notFound)
			}
			if c.notFound {
				return
			}
			if got := readBlock(t, d, c.v, 0); got[0] != 'o' {
				t.Errorf("the refused volume holds %q… at 0, want its old data", got[:8])
			}
			s, _ := d.share(c.v.Data.Location)
			if _, err := os.Stat(d.volumePath(s, c.v) + tmpSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a .partial file stays: %v", err)
			}
		})
	}
}

// TestCopyVolumeToImageFlattensChain: a volume with a snapshot is read out as a hypervisor
// reads it — data from before the snapshot and after it — into one file without a backing
// file.
func TestCopyVolumeToImageFlattensChain(t *testing.T) {
	d, _ := localDriver(t, false, true, true)
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	v := driver.Volume{ID: "5f0c1c6e-2a8e-4f43-8d65-000000000005", SizeGiB: 1}
	data, err := d.Create(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	v.Data = data
	writeBlock(t, d, v, 'a', 0)
	if _, err := d.CreateSnapshot(ctx, driver.Snapshot{ID: "7a1d2b3c-0000-4000-8000-000000000002", VolumeID: v.ID}, v); err != nil {
		t.Fatal(err)
	}
	writeBlock(t, d, v, 'b', 4096)
	for _, format := range []string{"raw", "qcow2"} {
		out := filepath.Join(t.TempDir(), "out")
		if err := d.CopyVolumeToImage(ctx, v, driver.ImageFile{Path: out, Format: format}); err != nil {
			t.Fatal(err)
		}
		raw := out
		if format != "raw" {
			raw = out + ".raw"
			if b, err := exec.Command("qemu-img", "convert", "-f", format, "-O", "raw", out, raw).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
		}
		f, err := os.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		got := make([]byte, 3*4096)
		if _, err := f.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if st.Size() != driver.GiB || got[0] != 'a' || got[4096] != 'b' || got[8192] != 0 {
			t.Errorf("%s image: %d bytes, %q at 0, %q at 4096, %q at 8192; want 1 GiB, a, b, 0", format, st.Size(), got[0], got[4096], got[8192])
		}
	}
}
