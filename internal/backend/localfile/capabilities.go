package localfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
)

// The local-file backend's optional capabilities. A snapshot is a file snapshot-<id> beside
// the volumes: a copy of the volume file (a reflink where the filesystem shares extents, else
// a sparse copy), so it takes only the space of the data it holds. New volumes from a
// snapshot or a clone are copies the same way. Every copy is written under a temporary name
// and renamed, so a file named volume-<id> or snapshot-<id> is always complete.
var (
	_ driver.Snapshotter      = (*Driver)(nil)
	_ driver.SnapshotRestorer = (*Driver)(nil)
	_ driver.Cloner           = (*Driver)(nil)
	_ driver.Extender         = (*Driver)(nil)
	_ driver.Reverter         = (*Driver)(nil)
)

func (d *Driver) snapshotPath(s driver.Snapshot) string {
	return filepath.Join(d.Dir, driver.SnapshotStorageName(s.ID))
}

// fileSize returns the size of path, or -1 when it does not exist.
func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil:
		return st.Size(), nil
	case errors.Is(err, fs.ErrNotExist):
		return -1, nil
	default:
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
}

// CreateSnapshot copies volume v's file to snapshot-<id>. A snapshot that exists already is
// left as it is (a redelivered create).
func (d *Driver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	final := d.snapshotPath(s)
	if n, err := fileSize(final); err != nil || n >= 0 {
		return driver.Data{}, err
	}
	src := d.path(v)
	n, err := fileSize(src)
	if err != nil {
		return driver.Data{}, err
	}
	if n < 0 {
		return driver.Data{}, driver.Mark(fmt.Errorf("snapshot %s: volume file %s does not exist", s.ID, src), driver.ErrNotFound)
	}
	if err := copyFile(src, final, n); err != nil {
		return driver.Data{}, fmt.Errorf("snapshot %s of volume %s: %w", s.ID, v.ID, noSpace(err))
	}
	return driver.Data{}, nil
}

// DeleteSnapshot removes snapshot-<id> (and a partial copy of it); a missing one is fine.
func (d *Driver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	for _, p := range []string{d.snapshotPath(s), d.snapshotPath(s) + tmpSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove snapshot file: %w", err)
		}
	}
	return nil
}

// SnapshotExists reports whether snapshot-<id> (complete, by construction) exists.
func (d *Driver) SnapshotExists(ctx context.Context, s driver.Snapshot) (bool, error) {
	n, err := fileSize(d.snapshotPath(s))
	return n >= 0, err
}

// CreateVolumeFromSnapshot makes volume v as a copy of snapshot s, grown to v's size.
func (d *Driver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	return driver.Data{}, d.createFrom(v, d.snapshotPath(s), "snapshot "+s.ID)
}

// CreateClonedVolume makes volume v as a copy of volume src, grown to v's size.
func (d *Driver) CreateClonedVolume(ctx context.Context, v driver.Volume, src driver.Volume) (driver.Data, error) {
	return driver.Data{}, d.createFrom(v, d.path(src), "volume "+src.ID)
}

// createFrom copies the file src (what names it) to volume v's file of v's size. A volume
// file of that size that exists already is a create done before (a redelivery).
func (d *Driver) createFrom(v driver.Volume, src, what string) error {
	size := int64(v.SizeGiB) * driver.GiB
	final := d.path(v)
	n, err := fileSize(final)
	if err != nil {
		return err
	}
	if n == size {
		return nil
	}
	if n >= 0 {
		return fmt.Errorf("volume file %s exists with size %d, want %d", final, n, size)
	}
	m, err := fileSize(src)
	if err != nil {
		return err
	}
	if m < 0 {
		return driver.Mark(fmt.Errorf("create volume %s from %s: %s does not exist", v.ID, what, src), driver.ErrNotFound)
	}
	if m > size {
		return fmt.Errorf("create volume %s from %s: %d GiB is smaller than the source (%d bytes)", v.ID, what, v.SizeGiB, m)
	}
	if err := copyFile(src, final, size); err != nil {
		return fmt.Errorf("create volume %s from %s: %w", v.ID, what, noSpace(err))
	}
	return nil
}

// ExtendVolume grows volume v's file to newSizeGiB (sparse: it takes no space). A file that
// has that size already, or more, is left as it is: a file never shrinks.
func (d *Driver) ExtendVolume(ctx context.Context, v driver.Volume, newSizeGiB int) error {
	size := int64(newSizeGiB) * driver.GiB
	p := d.path(v)
	n, err := fileSize(p)
	if err != nil {
		return err
	}
	if n < 0 {
		return driver.Mark(fmt.Errorf("extend volume %s: volume file %s does not exist", v.ID, p), driver.ErrNotFound)
	}
	if n >= size {
		return nil
	}
	if err := os.Truncate(p, size); err != nil {
		return fmt.Errorf("extend volume %s: %w", v.ID, noSpace(err))
	}
	return nil
}

// RevertToSnapshot replaces volume v's file with a copy of snapshot s of v's size, in one
// rename: the volume holds either its old data or the snapshot's, never a mix.
func (d *Driver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	src := d.snapshotPath(s)
	m, err := fileSize(src)
	if err != nil {
		return err
	}
	if m < 0 {
		return driver.Mark(fmt.Errorf("revert volume %s: snapshot file %s does not exist", v.ID, src), driver.ErrNotFound)
	}
	size := max(int64(v.SizeGiB)*driver.GiB, m)
	if err := copyFile(src, d.path(v), size); err != nil {
		return fmt.Errorf("revert volume %s to snapshot %s: %w", v.ID, s.ID, noSpace(err))
	}
	return nil
}

// capabilities are the Cinder capability keys of what the backend supports beyond the
// minimum: a file grows while it is in use, and copies keep holes.
func capabilities() map[string]any {
	return map[string]any{"online_extend_support": true, "sparse_copy_volume": true}
}
