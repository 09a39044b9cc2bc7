package volumeio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// openNFS opens os-brick's RemoteFS ("nfs") connection: data.export (host:/path) mounted
// through the Mounter with data.options, then the file data.name in it, in data.format: raw
// is opened in place, qcow2 is staged as a raw scratch file.
func (a *Attacher) openNFS(ctx context.Context, data connData, mode Mode) (Device, error) {
	export, err := data.required("export")
	if err != nil {
		return nil, err
	}
	name, err := data.required("name")
	if err != nil {
		return nil, err
	}
	if name != filepath.Base(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("connection info name %q is not a file name on the share", name)
	}
	options, err := data.str("options")
	if err != nil {
		return nil, err
	}
	format, err := data.str("format")
	if err != nil {
		return nil, err
	}
	format = strings.ToLower(format)
	if format == "" {
		format = "raw"
	}
	if format != "raw" && format != "qcow2" {
		return nil, fmt.Errorf("nfs volume %s is in format %q: only raw and qcow2 can be opened", name, format)
	}
	if a.opts.Mounter == nil {
		return nil, fmt.Errorf("%w: nfs (no share mounter configured)", ErrUnsupported)
	}
	dir, err := a.opts.Mounter.MountShare(ctx, export, options)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", export, err)
	}
	path := filepath.Join(dir, name)
	if format == "raw" {
		dev, err := openFile(path, mode)
		if err != nil {
			return nil, fmt.Errorf("volume file on %s: %w", export, err)
		}
		return dev, nil
	}
	return a.openQCOW2(ctx, path, mode)
}

// openQCOW2 stages the qcow2 file path as a raw scratch file. ReadOnly copies the image
// (with its backing chain) into it. ReadWrite starts from zeros and Close writes the
// scratch file over the image's whole virtual size with `convert -n`: the file keeps its
// header and backing file (the snapshots under it are untouched), and what was zero in the
// scratch file is written as zeros, hiding the backing file's data there.
func (a *Attacher) openQCOW2(ctx context.Context, path string, mode Mode) (dev Device, err error) {
	ii, err := qemuInfo(ctx, "", "-f", "qcow2", path)
	if err != nil {
		return nil, err
	}
	size := ii.VirtualSize
	if mode == ReadOnly {
		size = 0 // qemu-img convert sizes it
	}
	scratch, err := a.newScratch(size)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(scratch)
		}
	}()
	if mode == ReadOnly {
		if _, err := qemuImg(ctx, "", "convert", "-f", "qcow2", "-O", "raw", path, scratch); err != nil {
			return nil, fmt.Errorf("copy %s: %w", path, err)
		}
	}
	fd, err := openFile(scratch, mode)
	if err != nil {
		return nil, err
	}
	fd.scratch = scratch
	if fd.size != ii.VirtualSize {
		_ = fd.Close()
		return nil, fmt.Errorf("copy of %s has %d bytes, its virtual size is %d", path, fd.size, ii.VirtualSize)
	}
	if mode == ReadWrite {
		bg := context.WithoutCancel(ctx)
		fd.writeBack = func() error {
			if _, err := qemuImg(bg, "", "convert", "-n", "-f", "raw", "-O", "qcow2", scratch, path); err != nil {
				return fmt.Errorf("write back %s: %w", path, err)
			}
			return nil
		}
	}
	return fd, nil
}
