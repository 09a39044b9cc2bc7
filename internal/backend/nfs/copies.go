package nfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
)

// outFormat is the format of new volume files.
func (d *Driver) outFormat() string {
	if d.QCOW2 {
		return FormatQCOW2
	}
	return FormatRaw
}

// copyInto writes src (format srcFmt, its chain flattened) as the new volume v's file on
// share s, grown to v's size, under a temporary name renamed into place when complete.
// Zeros stay holes, but for regular (thick) raw files, which get every byte written.
func (d *Driver) copyInto(ctx context.Context, s Share, v driver.Volume, src, srcFmt string) error {
	path := d.volumePath(s, v)
	tmp := path + tmpSuffix
	os.Remove(tmp)
	out := d.outFormat()
	args := []string{"convert", "-f", srcFmt, "-O", out}
	if out == FormatRaw && !d.Sparse {
		args = append(args, "-S", "0")
	}
	if out == FormatQCOW2 {
		args = append(args, "-o", "preallocation=metadata")
	}
	if _, err := d.qemuImg(ctx, append(args, src, tmp)...); err != nil {
		os.Remove(tmp)
		return noSpace(err)
	}
	ii, err := d.imageInfo(ctx, tmp, filepath.Base(tmp), out)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if want := int64(v.SizeGiB) * driver.GiB; ii.VirtualSize < want {
		if err := d.resize(ctx, tmp, out, v.SizeGiB, !d.Sparse); err != nil {
			os.Remove(tmp)
			return noSpace(err)
		}
	}
	return d.finish(tmp, path)
}

// CreateClonedVolume makes v a copy of src's current data (its chain flattened) in the
// configured format, on v's pool's share or else src's (Cinder puts a clone beside its
// source). An attached source is refused as Cinder refuses it: a guest may be writing it.
func (d *Driver) CreateClonedVolume(ctx context.Context, v, src driver.Volume) (driver.Data, error) {
	if src.Attached {
		return driver.Data{}, fmt.Errorf("Invalid source volume state. Acceptable states for this operation: ['available', 'backing-up', 'downloading']. Current source volume state: in-use.")
	}
	defer d.lock(src.ID)()
	if v.ID != src.ID {
		defer d.lock(v.ID)()
	}
	if s, found, err := d.locate(ctx, v); err == nil && found {
		return driver.Data{Location: s.Address}, nil
	}
	ss, found, err := d.locate(ctx, src)
	if err != nil {
		return driver.Data{}, err
	}
	if !found {
		return driver.Data{}, driver.Mark(fmt.Errorf("clone of volume %s: its file is on no share", src.ID), driver.ErrNotFound)
	}
	active, format, _, err := d.active(ctx, ss, src)
	if err != nil {
		return driver.Data{}, fmt.Errorf("clone of volume %s: %w", src.ID, err)
	}
	dst := ss
	if s, ok := d.share(v.Pool); ok && s.Address != ss.Address {
		if err := d.ensureMounted(ctx, s); err != nil {
			return driver.Data{}, driver.Mark(err, driver.ErrUnavailable)
		}
		dst = s
	}
	if err := d.copyInto(ctx, dst, v, filepath.Join(d.mountPoint(ss), active), format); err != nil {
		return driver.Data{}, fmt.Errorf("clone volume %s to %s: %w", src.ID, v.ID, err)
	}
	return driver.Data{Location: dst.Address}, nil
}

// ExtendVolume grows v's active file to newSizeGiB: raw files grow (with zeros written for
// regular files), qcow2 files by qemu-img resize. As Cinder, an attached volume is refused,
// and so is growth the share has no room for.
func (d *Driver) ExtendVolume(ctx context.Context, v driver.Volume, newSizeGiB int) error {
	if v.Attached {
		return fmt.Errorf("Cannot extend volume %s while it is attached.", v.ID)
	}
	defer d.lock(v.ID)()
	s, found, err := d.locate(ctx, v)
	if err != nil {
		return err
	}
	if !found {
		return driver.Mark(fmt.Errorf("extend volume %s: its file is on no share", v.ID), driver.ErrNotFound)
	}
	active, format, _, err := d.active(ctx, s, v)
	if err != nil {
		return fmt.Errorf("extend volume %s: %w", v.ID, err)
	}
	path := filepath.Join(d.mountPoint(s), active)
	ii, err := d.imageInfo(ctx, path, driver.StorageName(v.ID), format)
	if err != nil {
		return fmt.Errorf("extend volume %s: %w", v.ID, err)
	}
	want := int64(newSizeGiB) * driver.GiB
	if ii.VirtualSize >= want {
		return nil // done already
	}
	c, err := MeasureCapacity(d.mountPoint(s))
	if err != nil {
		return fmt.Errorf("extend volume %s: %w", v.ID, err)
	}
	by := newSizeGiB - int((ii.VirtualSize+driver.GiB-1)/driver.GiB)
	if !d.eligible(c, by) {
		return driver.Mark(fmt.Errorf("Insufficient space to extend volume %s to %dG", v.ID, newSizeGiB), driver.ErrNoSpace)
	}
	if err := d.resize(ctx, path, format, newSizeGiB, !d.Sparse); err != nil {
		return fmt.Errorf("extend volume %s: %w", v.ID, noSpace(err))
	}
	if format == FormatQCOW2 {
		ii, err := d.imageInfo(ctx, path, driver.StorageName(v.ID), format)
		if err != nil || ii.VirtualSize != want {
			return fmt.Errorf("extend volume %s: Resizing image file failed.", v.ID)
		}
	}
	return nil
}
