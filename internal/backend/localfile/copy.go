package localfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyChunk is how much of a data region a sparse copy reads at once; an all-zero chunk is
// left as a hole.
const copyChunk = 1 << 20

// copyFile makes dst a complete copy of src of size bytes (size ≥ src's size: the rest is a
// hole), atomically: the copy is written to dst.partial, flushed, and renamed to dst, so a
// file named dst is never partial. It shares src's blocks (a reflink) where the filesystem
// can, else copies only the regions that hold data.
func copyFile(src, dst string, size int64) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if size < st.Size() {
		return fmt.Errorf("copy of %s: size %d is smaller than the source's %d", src, size, st.Size())
	}
	tmp := dst + tmpSuffix
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	if cerr := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); cerr != nil {
		// No reflink here (another filesystem, or one without shared extents): copy the data.
		if err := out.Truncate(0); err != nil {
			return fmt.Errorf("reset %s: %w", tmp, err)
		}
		if err := sparseCopy(in, out, st.Size()); err != nil {
			return fmt.Errorf("copy %s to %s: %w", src, tmp, err)
		}
	}
	if err := out.Truncate(size); err != nil {
		return fmt.Errorf("size %s: %w", tmp, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", tmp, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return syncDir(dst)
}

// sparseCopy copies the first n bytes of in to out, writing only the regions that hold data
// (SEEK_DATA/SEEK_HOLE where the filesystem tells them, the whole file where it does not)
// and, within them, only the chunks that are not all zeros. out keeps holes elsewhere;
// the caller sets its final size.
func sparseCopy(in, out *os.File, n int64) error {
	buf := make([]byte, copyChunk)
	zero := make([]byte, copyChunk)
	fd := int(in.Fd())
	for off := int64(0); off < n; {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // only a hole is left
		}
		if err != nil {
			start = off // no SEEK_DATA here: every byte may be data
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil || end > n {
			end = n
		}
		for pos := start; pos < end; {
			chunk := min(int64(len(buf)), end-pos)
			if _, err := in.ReadAt(buf[:chunk], pos); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if !bytes.Equal(buf[:chunk], zero[:chunk]) {
				if _, err := out.WriteAt(buf[:chunk], pos); err != nil {
					return err
				}
			}
			pos += chunk
		}
		off = end
	}
	return nil
}

// syncDir flushes the directory of path, so a rename in it survives a power loss.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("open directory of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("flush directory of %s: %w", path, err)
	}
	return nil
}
