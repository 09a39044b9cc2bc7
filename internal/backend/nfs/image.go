package nfs

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// The formats of volume files.
const (
	FormatRaw   = "raw"
	FormatQCOW2 = "qcow2"
)

// ImageInfo is what `qemu-img info` tells of one file (not its chain).
type ImageInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	ActualSize  int64  `json:"actual-size"`
	BackingFile string `json:"backing-filename"`
	BackingFmt  string `json:"backing-filename-format"`
}

// execRunner runs a command on this host. The command dies with the service (Pdeathsig): a
// qemu-img commit left running by a killed service would race the one its restart runs to
// resume the same snapshot delete.
func execRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd.CombinedOutput()
}

// qemuImg runs qemu-img with args, its output in the error when it fails.
func (d *Driver) qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	out, err := d.run(ctx, "qemu-img", args...)
	if err != nil {
		return out, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// imageInfo reads path's header. format is the format the caller knows the file has ("" to
// let qemu-img probe it: only for files Scoria made as qcow2, never for a raw volume, whose
// guest could have written a qcow2 header into it). A backing file must be one of the
// volume's own files, named as Cinder names them (Cinder's _qemu_img_info_base check), so a
// crafted header cannot make Scoria read another file.
func (d *Driver) imageInfo(ctx context.Context, path, volumeName, format string) (ImageInfo, error) {
	args := []string{"info", "--output=json", "--force-share"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := d.qemuImg(ctx, append(args, path)...)
	if err != nil {
		return ImageInfo{}, err
	}
	var info ImageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return ImageInfo{}, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	if info.BackingFile != "" {
		if !backingFileOf(volumeName).MatchString(info.BackingFile) {
			return ImageInfo{}, fmt.Errorf("file %s has an unacceptable backing file %q: only the files of %s are", path, info.BackingFile, volumeName)
		}
		info.BackingFile = filepath.Base(info.BackingFile)
	}
	return info, nil
}

// backingFileOf is Cinder's backing_file_template for volumeName: the volume's own file or one
// of its snapshot overlays (volume-<id>.<snapshot id>, volume-<id>.tmp-snap-<id>), by a
// relative name or within a mount point.
func backingFileOf(volumeName string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(/.*/[0-9a-f]+/)?` + regexp.QuoteMeta(volumeName) + `(\.(tmp-snap-)?[0-9a-f-]+)?$`)
}

// createQCOW2 makes a qcow2 file of sizeGiB with its metadata preallocated, as Cinder's
// _create_qcow2_file.
func (d *Driver) createQCOW2(ctx context.Context, path string, sizeGiB int) error {
	_, err := d.qemuImg(ctx, "create", "-f", FormatQCOW2, "-o", "preallocation=metadata", path, strconv.FormatInt(int64(sizeGiB)<<30, 10))
	return err
}

// createOverlay makes path a qcow2 overlay of backing (a name relative to path's directory,
// as Cinder writes it so that a hypervisor mounting the share elsewhere opens the chain) of
// sizeGiB.
func (d *Driver) createOverlay(ctx context.Context, path, backing, backingFmt string, sizeGiB int) error {
	_, err := d.qemuImg(ctx, "create", "-f", FormatQCOW2, "-F", backingFmt, "-b", backing, path, strconv.FormatInt(int64(sizeGiB)<<30, 10))
	return err
}

// convert writes src (format srcFmt, its chain flattened) to dst as outFmt, leaving zeros as
// holes.
func (d *Driver) convert(ctx context.Context, src, srcFmt, dst, outFmt string) error {
	args := []string{"convert", "-f", srcFmt, "-O", outFmt}
	if outFmt == FormatQCOW2 {
		args = append(args, "-o", "preallocation=metadata")
	}
	_, err := d.qemuImg(ctx, append(args, src, dst)...)
	return err
}

// resize grows path (format) to sizeGiB; full writes the new part as zeros (thick raw files).
func (d *Driver) resize(ctx context.Context, path, format string, sizeGiB int, full bool) error {
	args := []string{"resize", "-f", format}
	if full && format == FormatRaw {
		args = append(args, "--preallocation=full")
	}
	_, err := d.qemuImg(ctx, append(args, path, strconv.FormatInt(int64(sizeGiB)<<30, 10))...)
	return err
}

// commit merges the overlay path into its backing file (Cinder's _img_commit, without
// emptying the overlay, which is removed next).
func (d *Driver) commit(ctx context.Context, path string) error {
	_, err := d.qemuImg(ctx, "commit", "-f", FormatQCOW2, "-d", path)
	return err
}

// rebaseUnsafe points the overlay path at backing (relative) without copying data: the
// caller has made backing hold what the old backing file held (Cinder's _rebase_img).
func (d *Driver) rebaseUnsafe(ctx context.Context, path, backing, backingFmt string) error {
	_, err := d.qemuImg(ctx, "rebase", "-u", "-f", FormatQCOW2, "-b", backing, "-F", backingFmt, path)
	return err
}
