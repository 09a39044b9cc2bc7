package sheepdog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/qemuimg"
)

// A VDI is no local file or device: the driver copies images into and out of it through the
// sheep protocol (Cinder's SheepdogDriver did the same with qemu-img's sheepdog: protocol,
// which Debian's qemu no longer has).
var _ driver.ImageCopier = (*Driver)(nil)

// maxChunk bounds the bytes held in memory per transfer (twice: data and the VDI's own).
const maxChunk = 4 << 20

// chunkSize is the transfer unit of a VDI of that block size shift: its data object (4 MiB by default), so each
// write fills one object, bounded by maxChunk.
func chunkSize(blockSizeShift uint8) int64 {
	if blockSizeShift == 0 || blockSizeShift > 22 {
		return maxChunk
	}
	return 1 << blockSizeShift
}

// CopyImageToVolume writes the image src over the whole of v's VDI: the image converted to
// raw in a temporary file beside src (not for an image that is raw already), then written
// chunk by chunk. A chunk of zeros, in the image or past its end, is written only where the
// VDI does not read as zeros already, so a fresh VDI stays thin and a re-imaged one keeps
// none of its old data.
func (d *Driver) CopyImageToVolume(ctx context.Context, v driver.Volume, src driver.ImageFile) error {
	n := name(v)
	vdi, err := d.Client.Lookup(ctx, n, "")
	if err != nil {
		return wrap(err, "copy image to volume %s", v.ID)
	}
	raw := src.Path
	if src.Format != "raw" {
		// Refused before a conversion that would fill the disk for nothing.
		info, err := qemuimg.Inspect(ctx, src.Path, src.Format)
		if err != nil {
			return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
		}
		if info.VirtualSize > int64(vdi.Size) {
			return fmt.Errorf("copy image to volume %s: the image's virtual size %d bytes exceeds the volume's %d", v.ID, info.VirtualSize, vdi.Size)
		}
		tmp, err := tempBeside(src.Path, n)
		if err != nil {
			return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
		}
		defer os.Remove(tmp)
		if err := qemuimg.Convert(ctx, src, driver.ImageFile{Path: tmp, Format: "raw"}, qemuimg.Options{}); err != nil {
			return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
		}
		raw = tmp
	}
	f, err := os.Open(raw)
	if err != nil {
		return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
	}
	size, total := st.Size(), int64(vdi.Size)
	if size > total {
		return fmt.Errorf("copy image to volume %s: the image's virtual size %d bytes exceeds the volume's %d", v.ID, size, total)
	}
	chunk := chunkSize(vdi.BlockSizeShift)
	data, cur := make([]byte, chunk), make([]byte, chunk)
	for off := int64(0); off < total; off += chunk {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("copy image to volume %s: %w", v.ID, err)
		}
		p := data[:min(chunk, total-off)]
		m := 0
		if off < size {
			m, err = f.ReadAt(p[:min(int64(len(p)), size-off)], off)
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("copy image to volume %s: read %s: %w", v.ID, raw, err)
			}
		}
		clear(p[m:])
		if isZero(p) {
			c := cur[:len(p)]
			if err := d.Client.ReadAt(ctx, n, "", c, off); err != nil {
				return wrap(err, "copy image to volume %s", v.ID)
			}
			if isZero(c) {
				continue // zeros already: an unwritten object stays unallocated
			}
		}
		if err := d.Client.WriteAt(ctx, n, p, off); err != nil {
			return wrap(err, "copy image to volume %s", v.ID)
		}
	}
	return nil
}

// CopyVolumeToImage reads v's VDI into a sparse raw temporary file beside dst (objects of
// zeros are not written) and converts it to dst's format; a raw dst is the temporary file
// renamed. A failed copy leaves no dst.
func (d *Driver) CopyVolumeToImage(ctx context.Context, v driver.Volume, dst driver.ImageFile) error {
	n := name(v)
	vdi, err := d.Client.Lookup(ctx, n, "")
	if err != nil {
		return wrap(err, "copy volume %s to an image", v.ID)
	}
	tmp, err := tempBeside(dst.Path, n)
	if err != nil {
		return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
	}
	defer os.Remove(tmp) // after a rename, nothing
	if err := d.readVDI(ctx, n, int64(vdi.Size), chunkSize(vdi.BlockSizeShift), tmp); err != nil {
		return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
	}
	if dst.Format == "raw" {
		if err := os.Rename(tmp, dst.Path); err != nil {
			return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
		}
		return nil
	}
	if err := qemuimg.Convert(ctx, driver.ImageFile{Path: tmp, Format: "raw"}, dst, qemuimg.Options{}); err != nil {
		os.Remove(dst.Path)
		return fmt.Errorf("copy volume %s to an image: %w", v.ID, err)
	}
	return nil
}

// readVDI copies the working VDI n of size bytes into the file path, leaving holes where it
// reads zeros.
func (d *Driver) readVDI(ctx context.Context, n string, size, chunk int64, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	buf := make([]byte, chunk)
	for off := int64(0); off < size; off += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := buf[:min(chunk, size-off)]
		if err := d.Client.ReadAt(ctx, n, "", p, off); err != nil {
			return wrap(err, "read %s at %d", n, off)
		}
		if isZero(p) {
			continue
		}
		if _, err := f.WriteAt(p, off); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// tempBeside makes an empty temporary file in path's directory, named for VDI n.
func tempBeside(path, n string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+n+"-*.raw")
	if err != nil {
		return "", err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

var zeros = make([]byte, maxChunk)

// isZero reports whether p holds only zeros.
func isZero(p []byte) bool {
	for len(p) > 0 {
		k := min(len(p), len(zeros))
		if !bytes.Equal(p[:k], zeros[:k]) {
			return false
		}
		p = p[k:]
	}
	return true
}
