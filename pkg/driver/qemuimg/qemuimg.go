// Package qemuimg runs qemu-img for the image data paths of drivers and of the volume
// service: what an image file is (Info, with the safety checks Cinder makes of images it is
// given: no backing file, no external data file, a format that matches the one declared),
// converting between formats (Convert), and the names qemu-img gives Glance's disk formats
// (FormatOf). Every qemu-img it starts dies with the process that started it, and Info runs
// under address-space and CPU limits (prlimit), as Cinder's image_utils does, so a crafted
// header cannot exhaust the host.
package qemuimg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/scoria/scoria/pkg/driver"
)

// Info is what `qemu-img info` says of one file.
type Info struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	ActualSize  int64  `json:"actual-size"`
	BackingFile string `json:"backing-filename"`
	// DataFile is a qcow2 image's external data file ("" for none).
	DataFile  string `json:"-"`
	Encrypted bool   `json:"encrypted"`
}

// Limits of `qemu-img info` (Cinder's QEMU_IMG_LIMITS: 1 GiB of address space, 30 s of CPU).
const (
	infoAddressSpace = 1 << 30
	infoCPUSeconds   = 30
)

// ErrUnsafe marks an image Scoria will not read: a backing file, an external data file, or
// a format other than the one declared.
var ErrUnsafe = errors.New("unsafe image")

// FormatOf returns qemu-img's name of a Glance disk_format (vhd is vpc, ploop parallels;
// iso is read as raw); others are the same.
func FormatOf(diskFormat string) string {
	switch diskFormat {
	case "vhd":
		return "vpc"
	case "ploop":
		return "parallels"
	case "iso":
		return "raw"
	}
	return diskFormat
}

// run runs qemu-img (under prlimit when limit and prlimit is installed) and returns its
// standard output; a failure carries its standard error.
func run(ctx context.Context, limit bool, args ...string) ([]byte, error) {
	name := "qemu-img"
	if limit {
		if p, err := exec.LookPath("prlimit"); err == nil {
			args = append([]string{fmt.Sprintf("--as=%d", infoAddressSpace), fmt.Sprintf("--cpu=%d", infoCPUSeconds), "qemu-img"}, args...)
			name = p
		}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Inspect returns what qemu-img says of path, read as format ("" lets qemu-img probe: only
// for files whose format is not under a guest's control).
func Inspect(ctx context.Context, path, format string) (Info, error) {
	args := []string{"info", "--output=json", "--force-share"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := run(ctx, true, append(args, path)...)
	if err != nil {
		return Info{}, err
	}
	var raw struct {
		Info
		FormatSpecific struct {
			Data struct {
				DataFile string `json:"data-file"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return Info{}, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	info := raw.Info
	info.DataFile = raw.FormatSpecific.Data.DataFile
	return info, nil
}

// CheckImage inspects an image file as qemu-img probes it and refuses, as Cinder does, one
// whose format is not declared (the Glance disk_format, "" to skip that check), one with a
// backing file or an external data file, and an encrypted one. It returns the info.
func CheckImage(ctx context.Context, path, declared string) (Info, error) {
	info, err := Inspect(ctx, path, "")
	if err != nil {
		return info, err
	}
	switch {
	case info.BackingFile != "":
		return info, fmt.Errorf("%w: the image has a backing file (%s)", ErrUnsafe, info.BackingFile)
	case info.DataFile != "":
		return info, fmt.Errorf("%w: the image has an external data file (%s)", ErrUnsafe, info.DataFile)
	case info.Encrypted:
		return info, fmt.Errorf("%w: the image is encrypted", ErrUnsafe)
	case declared != "" && info.Format != FormatOf(declared):
		return info, fmt.Errorf("%w: the image's data is %s, its disk_format says %s", ErrUnsafe, info.Format, declared)
	}
	return info, nil
}

// Options tune a conversion.
type Options struct {
	// TargetExists writes into an existing target (qemu-img -n), such as a block device or a
	// volume file, instead of creating it.
	TargetExists bool
	// Sparse skips writing zeros (qemu-img -S 4k; the default). Set Dense for targets that
	// must be written in full, such as a thick volume that was not zeroed.
	Dense bool
	// TargetOptions are -o options of the target format, e.g. preallocation=metadata.
	TargetOptions []string
}

// Convert writes src into dst in dst's format, with qemu-img convert: the source read as its
// declared format only (never probed), the target flushed before it returns (cache
// writeback: qemu-img syncs at the end).
func Convert(ctx context.Context, src, dst driver.ImageFile, o Options) error {
	if src.Format == "" || dst.Format == "" {
		return fmt.Errorf("qemu-img convert %s to %s: both formats must be given", src.Path, dst.Path)
	}
	args := []string{"convert", "-f", src.Format, "-O", dst.Format, "-t", "writeback"}
	if o.TargetExists {
		args = append(args, "-n")
	}
	if o.Dense {
		args = append(args, "-S", "0")
	}
	for _, opt := range o.TargetOptions {
		args = append(args, "-o", opt)
	}
	_, err := run(ctx, false, append(args, src.Path, dst.Path)...)
	return err
}
