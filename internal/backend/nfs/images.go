package nfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/qemuimg"
)

// The driver copies images itself (Cinder's RemoteFSDriver copy_image_to_volume and
// copy_volume_to_image): a volume file is not a device the volume service may convert into
// blindly, since it may be qcow2 and may be the base of a snapshot chain.
var _ driver.ImageCopier = (*Driver)(nil)

// CopyImageToVolume writes the image src into volume v's file, in the file's format (raw,
// sparse or written in full as nfs_sparsed_volumes says, or qcow2 with its metadata
// preallocated), grown to v's size after, as Cinder's fetch_to_volume_format then
// resize_image. The new file is written under the .partial name and renamed over the old one
// when complete, so the volume holds its old data or the image, never half of it; a crash
// leaves a .partial file that the next copy or the volume's delete removes. A volume with
// snapshots is refused: its active file is an overlay whose backing files are the
// snapshots' data, which an image must not replace.
//
// The rename gives the volume a new file: a hypervisor that has the old one open keeps
// writing the old one. The callers (create from an image, re-image) run with no guest on the
// volume, as Nova detaches it before it asks for a re-image.
func (d *Driver) CopyImageToVolume(ctx context.Context, v driver.Volume, src driver.ImageFile) error {
	defer d.lock(v.ID)()
	s, found, err := d.locate(ctx, v)
	if err != nil {
		return err
	}
	if !found {
		return driver.Mark(fmt.Errorf("copy image to volume %s: its file is on no share", v.ID), driver.ErrNotFound)
	}
	base := d.volumePath(s, v)
	info, err := readInfo(base)
	if err != nil {
		return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
	}
	if n := len(info.snapshots()); n > 0 || (info[activeKey] != "" && info[activeKey] != filepath.Base(base)) {
		return fmt.Errorf("cannot write an image into volume %s: it has %d snapshot(s), whose data its file chain holds; delete them first", v.ID, n)
	}
	format, err := d.baseFormat(ctx, s, v, info)
	if err != nil {
		return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
	}
	tmp := base + tmpSuffix
	os.Remove(tmp)
	opts := qemuimg.Options{Dense: format == FormatRaw && !d.Sparse}
	if format == FormatQCOW2 {
		opts.TargetOptions = []string{"preallocation=metadata"}
	}
	if err := qemuimg.Convert(ctx, src, driver.ImageFile{Path: tmp, Format: format}, opts); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy image to volume %s: %w", v.ID, noSpace(err))
	}
	if err := d.growTo(ctx, tmp, format, v.SizeGiB); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
	}
	if err := d.finish(tmp, base); err != nil {
		return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
	}
	return nil
}

// growTo grows the new volume file path (format) to sizeGiB, written in full for thick raw
// files, and refuses one that is larger (an image whose virtual size exceeds the volume).
func (d *Driver) growTo(ctx context.Context, path, format string, sizeGiB int) error {
	ii, err := d.imageInfo(ctx, path, filepath.Base(path), format)
	if err != nil {
		return err
	}
	want := int64(sizeGiB) * driver.GiB
	switch {
	case ii.VirtualSize > want:
		return fmt.Errorf("the image's virtual size %d bytes exceeds the volume's %dG", ii.VirtualSize, sizeGiB)
	case ii.VirtualSize < want:
		if err := d.resize(ctx, path, format, sizeGiB, !d.Sparse); err != nil {
			return noSpace(err)
		}
	}
	return nil
}

// CopyVolumeToImage writes volume v's data — its active file with the chain under it
// flattened, as a hypervisor reads it — into the new file dst in dst's format. A failed copy
// leaves no dst.
func (d *Driver) CopyVolumeToImage(ctx context.Context, v driver.Volume, dst driver.ImageFile) error {
	defer d.lock(v.ID)()
	s, found, err := d.locate(ctx, v)
	if err != nil {
		return err
	}
	if !found {
		return driver.Mark(fmt.Errorf("copy volume %s to an image: its file is on no share", v.ID), driver.ErrNotFound)
	}
	active, format, _, err := d.active(ctx, s, v)
	if err != nil {
		return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
	}
	path := filepath.Join(d.mountPoint(s), active)
	// The chain's backing files must be the volume's own (imageInfo checks each name), so a
	// header a guest could not write anyway points nowhere else.
	if _, err := d.imageInfo(ctx, path, driver.StorageName(v.ID), format); err != nil {
		return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
	}
	if err := qemuimg.Convert(ctx, driver.ImageFile{Path: path, Format: format}, dst, qemuimg.Options{}); err != nil {
		os.Remove(dst.Path)
		return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
	}
	return nil
}
