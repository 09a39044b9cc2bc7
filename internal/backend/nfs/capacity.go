package nfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// Capacity is one mounted share's space in bytes, as Cinder's RemoteFS drivers measure it.
type Capacity struct {
	Total     uint64 // the file system's size (stat -f: block size × blocks)
	Available uint64 // what a non-root user may still write (block size × available blocks)
	Allocated uint64 // the apparent size of the files on it, snapshots excluded
}

// MeasureCapacity measures the share mounted at mountPoint as Cinder's _get_capacity_info
// does: `stat -f -c '%S %b %a'` for total and available, and `du -sb --apparent-size
// --exclude '*snapshot*'` for allocated, which counts what volumes may grow to, sparse or not.
func MeasureCapacity(mountPoint string) (Capacity, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(mountPoint, &st); err != nil {
		return Capacity{}, fmt.Errorf("statfs %s: %w", mountPoint, err)
	}
	c := Capacity{Total: uint64(st.Frsize) * st.Blocks, Available: uint64(st.Frsize) * st.Bavail}
	root := strings.TrimSuffix(mountPoint, "/") + "/" // "/": a mount point that is a link is walked
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != root && errors.Is(err, fs.ErrNotExist) {
				return nil // removed or renamed (a .partial into place) while walking
			}
			return err
		}
		if path != root && strings.Contains(d.Name(), "snapshot") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed or renamed since the directory was read
		}
		if err != nil {
			return err
		}
		c.Allocated += uint64(info.Size())
		return nil
	})
	if err != nil {
		return Capacity{}, fmt.Errorf("sizes of the files on %s: %w", mountPoint, err)
	}
	return c, nil
}
