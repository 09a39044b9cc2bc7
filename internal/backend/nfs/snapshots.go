package nfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
)

// Snapshots are Cinder's qcow2 chain (remotefs.py's _create_snapshot): taking snapshot S of
// volume V makes the overlay volume-V.S, backed by the file that was active (by its relative
// name, so a hypervisor that mounts the share elsewhere opens the chain), and makes it the
// active file; S's data is what the overlay's backing file holds. volume-V.info maps "active"
// and each snapshot id to its file. Deleting S merges its overlay into its backing file
// (qemu-img commit) and points the next overlay at that file (qemu-img rebase -u).
// Everything here is done only with nfs_snapshot_support; attached volumes are refused, as
// their snapshots need the hypervisor (Cinder's assisted snapshots through Nova).
var (
	_ driver.Snapshotter      = (*Driver)(nil)
	_ driver.SnapshotRestorer = (*Driver)(nil)
	_ driver.Reverter         = (*Driver)(nil)
)

// ErrSnapshotsDisabled is Cinder's answer to a snapshot request with nfs_snapshot_support off.
var ErrSnapshotsDisabled = errors.New("NFS driver snapshot support is disabled in cinder.conf.")

// errAttached is the refusal of snapshot work on an attached volume.
func errAttached(what, volumeID string) error {
	return fmt.Errorf("cannot %s of volume %s while it is attached: NFS snapshots of an attached volume need the hypervisor's assisted snapshot (Nova's os-assisted-volume-snapshots), which Scoria does not drive; detach the volume first", what, volumeID)
}

// snapshotShare finds the share of snapshot s's volume v.
func (d *Driver) snapshotShare(ctx context.Context, s driver.Snapshot, v driver.Volume) (Share, bool, error) {
	if v.ID == "" {
		v.ID = s.VolumeID
	}
	if v.Data.Location == "" {
		v.Data.Location = s.Data.Location
	}
	return d.locate(ctx, v)
}

// CreateSnapshot adds the overlay of snapshot s on top of volume v's chain.
func (d *Driver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	defer d.lock(v.ID)()
	sh, found, err := d.snapshotShare(ctx, s, v)
	if err != nil {
		return driver.Data{}, err
	}
	if !found {
		return driver.Data{}, driver.Mark(fmt.Errorf("snapshot %s: volume %s has no file on any share", s.ID, v.ID), driver.ErrNotFound)
	}
	if !d.SnapshotSupport {
		return driver.Data{}, ErrSnapshotsDisabled
	}
	if v.Attached {
		return driver.Data{}, errAttached("take snapshot "+s.ID, v.ID)
	}
	v.ID = s.VolumeID
	base := d.volumePath(sh, v)
	active, format, info, err := d.active(ctx, sh, v)
	if err != nil {
		return driver.Data{}, fmt.Errorf("snapshot %s of volume %s: %w", s.ID, v.ID, err)
	}
	name := filepath.Base(base) + "." + s.ID
	path := filepath.Join(d.mountPoint(sh), name)
	if info[s.ID] == name {
		return driver.Data{Location: sh.Address}, nil // done already
	}
	// An overlay without its .info entry is what a crash between the two left: it holds no
	// data yet (nothing opened it), so it is made again.
	os.Remove(path)
	tmp := path + tmpSuffix
	os.Remove(tmp)
	if err := d.createOverlay(ctx, tmp, active, format, v.SizeGiB); err != nil {
		os.Remove(tmp)
		return driver.Data{}, fmt.Errorf("snapshot %s of volume %s: %w", s.ID, v.ID, noSpace(err))
	}
	if err := d.finish(tmp, path); err != nil {
		return driver.Data{}, fmt.Errorf("snapshot %s of volume %s: %w", s.ID, v.ID, err)
	}
	info[activeKey], info[s.ID] = name, name
	if err := d.writeInfo(base, info); err != nil {
		os.Remove(path)
		return driver.Data{}, fmt.Errorf("snapshot %s of volume %s: %w", s.ID, v.ID, err)
	}
	return driver.Data{Location: sh.Address}, nil
}

// SnapshotExists reports whether snapshot s is in its volume's chain.
func (d *Driver) SnapshotExists(ctx context.Context, s driver.Snapshot) (bool, error) {
	v := driver.Volume{ID: s.VolumeID, Data: driver.Data{Location: s.Data.Location}}
	sh, found, err := d.locate(ctx, v)
	if err != nil || !found {
		return false, err
	}
	info, err := readInfo(d.volumePath(sh, v))
	if err != nil {
		return false, err
	}
	name, ok := info[s.ID]
	if !ok {
		return false, nil
	}
	_, err = os.Stat(filepath.Join(d.mountPoint(sh), name))
	return err == nil, nil
}

// DeleteSnapshot removes snapshot s from volume v's chain as Cinder's _delete_snapshot does
// offline: the overlay made when s was taken is committed into its backing file, the overlay
// above it (if any) is rebased onto that file, and the overlay goes. Each step can be
// repeated after a crash: the overlay is renamed to a .partial name before the .info file
// forgets it, and a rebase already done is recognised.
func (d *Driver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	defer d.lock(s.VolumeID)()
	sh, found, err := d.snapshotShare(ctx, s, v)
	if err != nil || !found {
		return err
	}
	v.ID = s.VolumeID
	dir := d.mountPoint(sh)
	base := d.volumePath(sh, v)
	volName := filepath.Base(base)
	info, err := readInfo(base)
	if err != nil {
		return err
	}
	name, ok := info[s.ID]
	if !ok {
		os.Remove(filepath.Join(dir, volName+"."+s.ID+tmpSuffix))
		return nil // not in the chain: never taken, or removed already
	}
	if v.Attached {
		return errAttached("delete snapshot "+s.ID, v.ID)
	}
	path := filepath.Join(dir, name)
	pending := path + tmpSuffix
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(pending); err != nil {
			if info[activeKey] == name {
				return fmt.Errorf("delete snapshot %s: the active file %s of volume %s is missing", s.ID, name, v.ID)
			}
			delete(info, s.ID) // a stale entry
			return d.writeInfo(base, info)
		}
		return d.forget(ctx, base, info, s.ID, pending) // renamed by an interrupted delete
	}
	ii, err := d.imageInfo(ctx, path, volName, FormatQCOW2)
	if err != nil {
		return fmt.Errorf("delete snapshot %s: %w", s.ID, err)
	}
	if ii.BackingFile == "" {
		if info[activeKey] == name {
			return fmt.Errorf("delete snapshot %s: the active file %s of volume %s has no backing file", s.ID, name, v.ID)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		delete(info, s.ID)
		return d.writeInfo(base, info)
	}
	if info[activeKey] == name {
		if err := d.commit(ctx, path); err != nil {
			return fmt.Errorf("delete snapshot %s: %w", s.ID, err)
		}
	} else {
		higher, err := d.above(ctx, dir, volName, info, name)
		if err != nil {
			return fmt.Errorf("delete snapshot %s: %w", s.ID, err)
		}
		if higher != "" { // "": rebased already by an interrupted delete
			if err := d.commit(ctx, path); err != nil {
				return fmt.Errorf("delete snapshot %s: %w", s.ID, err)
			}
			if err := d.rebaseUnsafe(ctx, filepath.Join(dir, higher), ii.BackingFile, ii.BackingFmt); err != nil {
				return fmt.Errorf("delete snapshot %s: %w", s.ID, err)
			}
		}
	}
	if err := os.Rename(path, pending); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", s.ID, err)
	}
	return d.forget(ctx, base, info, s.ID, pending)
}

// forget drops snapshot id from the chain info once its overlay, merged, was renamed to
// pending: the active file becomes the overlay's backing file when the overlay was active.
func (d *Driver) forget(ctx context.Context, base string, info chainInfo, id, pending string) error {
	if info[activeKey] == info[id] {
		ii, err := d.imageInfo(ctx, pending, filepath.Base(base), FormatQCOW2)
		if err != nil {
			return fmt.Errorf("delete snapshot %s: %w", id, err)
		}
		info[activeKey] = ii.BackingFile
	}
	delete(info, id)
	if err := d.writeInfo(base, info); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	if err := os.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return nil
}

// above returns the file of the chain backed by name, "" when none is.
func (d *Driver) above(ctx context.Context, dir, volName string, info chainInfo, name string) (string, error) {
	seen := map[string]bool{}
	for _, f := range info {
		if f == name || seen[f] || f == volName {
			continue
		}
		seen[f] = true
		ii, err := d.imageInfo(ctx, filepath.Join(dir, f), volName, FormatQCOW2)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if ii.BackingFile == name {
			return f, nil
		}
	}
	return "", nil
}

// snapshotData returns the file holding snapshot s's data (the backing file of the overlay
// made when s was taken) and its format, with the share.
func (d *Driver) snapshotData(ctx context.Context, s driver.Snapshot) (Share, string, string, error) {
	v := driver.Volume{ID: s.VolumeID, Data: driver.Data{Location: s.Data.Location}}
	sh, found, err := d.locate(ctx, v)
	if err != nil {
		return Share{}, "", "", err
	}
	if !found {
		return Share{}, "", "", driver.Mark(fmt.Errorf("snapshot %s: volume %s has no file on any share", s.ID, s.VolumeID), driver.ErrNotFound)
	}
	base := d.volumePath(sh, v)
	info, err := readInfo(base)
	if err != nil {
		return Share{}, "", "", err
	}
	name, ok := info[s.ID]
	if !ok {
		return Share{}, "", "", driver.Mark(fmt.Errorf("snapshot %s is not in the chain of volume %s", s.ID, s.VolumeID), driver.ErrNotFound)
	}
	ii, err := d.imageInfo(ctx, filepath.Join(d.mountPoint(sh), name), filepath.Base(base), FormatQCOW2)
	if err != nil {
		return Share{}, "", "", err
	}
	if ii.BackingFile == "" {
		return Share{}, "", "", fmt.Errorf("snapshot %s: overlay %s has no backing file", s.ID, name)
	}
	return sh, filepath.Join(d.mountPoint(sh), ii.BackingFile), ii.BackingFmt, nil
}

// CreateVolumeFromSnapshot makes v a copy of snapshot s's data (qemu-img convert, as Cinder's
// _copy_volume_from_snapshot) in the configured format, grown to v's size, on v's pool's
// share or the one Cinder's _find_share picks.
func (d *Driver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	defer d.lock(v.ID)()
	if sh, found, err := d.locate(ctx, v); err == nil && found {
		return driver.Data{Location: sh.Address}, nil
	}
	_, src, format, err := d.snapshotData(ctx, s)
	if err != nil {
		return driver.Data{}, fmt.Errorf("volume %s from snapshot %s: %w", v.ID, s.ID, err)
	}
	dst, err := d.placement(ctx, v)
	if err != nil {
		return driver.Data{}, err
	}
	if err := d.copyInto(ctx, dst, v, src, format); err != nil {
		return driver.Data{}, fmt.Errorf("volume %s from snapshot %s: %w", v.ID, s.ID, err)
	}
	return driver.Data{Location: dst.Address}, nil
}

// RevertToSnapshot rolls volume v back to its latest snapshot s as Cinder's
// RevertToSnapshotMixin: the active overlay is replaced by an empty one on the same backing
// file (atomically: made under a temporary name, renamed over it). Only the latest snapshot
// can be reverted to.
func (d *Driver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	if v.Attached {
		return errAttached("revert to snapshot "+s.ID, v.ID)
	}
	defer d.lock(v.ID)()
	sh, found, err := d.snapshotShare(ctx, s, v)
	if err != nil {
		return err
	}
	if !found {
		return driver.Mark(fmt.Errorf("revert volume %s: its file is on no share", v.ID), driver.ErrNotFound)
	}
	base := d.volumePath(sh, v)
	info, err := readInfo(base)
	if err != nil {
		return err
	}
	name, ok := info[s.ID]
	if !ok {
		return driver.Mark(fmt.Errorf("snapshot %s is not in the chain of volume %s", s.ID, v.ID), driver.ErrNotFound)
	}
	if info[activeKey] != name {
		return fmt.Errorf("Could not revert volume '%s' to snapshot '%s' as it does not appear to be the latest snapshot. Current active image: %s.", v.ID, s.ID, info[activeKey])
	}
	path := filepath.Join(d.mountPoint(sh), name)
	ii, err := d.imageInfo(ctx, path, filepath.Base(base), FormatQCOW2)
	if err != nil {
		return fmt.Errorf("revert volume %s: %w", v.ID, err)
	}
	tmp := path + tmpSuffix
	os.Remove(tmp)
	size := v.SizeGiB
	if vs := int((ii.VirtualSize + driver.GiB - 1) / driver.GiB); vs > size {
		size = vs
	}
	if err := d.createOverlay(ctx, tmp, ii.BackingFile, ii.BackingFmt, size); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("revert volume %s: %w", v.ID, noSpace(err))
	}
	return d.finish(tmp, path)
}
