package qemuimg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is not installed (CI=true)")
		}
		t.Skip("qemu-img is not installed")
	}
}

func qemu(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %v: %v: %s", args, err, out)
	}
}

func TestFormatOf(t *testing.T) {
	for in, want := range map[string]string{"vhd": "vpc", "ploop": "parallels", "iso": "raw", "qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk"} {
		if got := FormatOf(in); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConvertAndCheck converts a raw file with data to qcow2 and back, and checks what
// CheckImage refuses: a declared format that is not the data's, a backing file.
func TestConvertAndCheck(t *testing.T) {
	needQemuImg(t)
	ctx := context.Background()
	dir := t.TempDir()
	raw := filepath.Join(dir, "a.raw")
	data := bytes.Repeat([]byte("scoria!"), 1<<16)
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 3<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	q := filepath.Join(dir, "a.qcow2")
	if err := Convert(ctx, driver.ImageFile{Path: raw, Format: "raw"}, driver.ImageFile{Path: q, Format: "qcow2"}, Options{}); err != nil {
		t.Fatal(err)
	}
	info, err := CheckImage(ctx, q, "qcow2")
	if err != nil || info.Format != "qcow2" || info.VirtualSize != 8<<20 {
		t.Fatalf("CheckImage(qcow2) = %+v, %v", info, err)
	}
	if _, err := CheckImage(ctx, q, "raw"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("qcow2 declared raw: err = %v, want ErrUnsafe", err)
	}
	back := filepath.Join(dir, "b.raw")
	qemu(t, "create", "-f", "raw", back, "8M")
	if err := Convert(ctx, driver.ImageFile{Path: q, Format: "qcow2"}, driver.ImageFile{Path: back, Format: "raw"}, Options{TargetExists: true}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(raw)
	if !bytes.Equal(got, want) {
		t.Error("raw → qcow2 → raw changed the data")
	}
	overlay := filepath.Join(dir, "o.qcow2")
	qemu(t, "create", "-f", "qcow2", "-b", q, "-F", "qcow2", overlay)
	if _, err := CheckImage(ctx, overlay, "qcow2"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("image with a backing file: err = %v, want ErrUnsafe", err)
	}
	if err := Convert(ctx, driver.ImageFile{Path: raw}, driver.ImageFile{Path: back, Format: "raw"}, Options{}); err == nil {
		t.Error("Convert without a source format: want an error")
	}
}
