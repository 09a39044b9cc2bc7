package lvm

import (
	"context"
	"fmt"
	"strconv"

	"github.com/scoria/scoria/pkg/driver"
)

// The LVM backend's optional capabilities, as Cinder's LVM driver does them. A snapshot is
// the logical volume _snapshot-<id>: an LVM snapshot of the volume (thin: in the pool, no
// size; thick: with a copy-on-write area of the volume's size). On thin, new volumes from a
// snapshot and clones are thin snapshots made writable volumes; on thick they are copies
// with dd, written under <name>.partial and renamed when complete, so volume-<id> always is.
var (
	_ driver.Snapshotter      = (*Driver)(nil)
	_ driver.SnapshotRestorer = (*Driver)(nil)
	_ driver.Cloner           = (*Driver)(nil)
	_ driver.Extender         = (*Driver)(nil)
	_ driver.Reverter         = (*Driver)(nil)
)

// CreateSnapshot makes _snapshot-<id> of volume-<id>; one that exists is left alone.
func (d *Driver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return driver.Data{}, err
	}
	if _, ok := lvs[snapshotLV(s.ID)]; ok {
		return driver.Data{}, nil
	}
	if _, ok := lvs[driver.StorageName(v.ID)]; !ok {
		return driver.Data{}, fmt.Errorf("snapshot %s: volume %s: %w", s.ID, d.path(driver.StorageName(v.ID)), errNoSource)
	}
	return driver.Data{}, d.snapshotLV(ctx, snapshotLV(s.ID), driver.StorageName(v.ID), v.SizeGiB)
}

// snapshotLV makes LVM snapshot name of origin; thick snapshots get gib GiB of
// copy-on-write space.
func (d *Driver) snapshotLV(ctx context.Context, name, origin string, gib int) error {
	args := []string{"-y", "--name", name, "--snapshot", d.path(origin)}
	if !d.isThin() {
		args = append(args, "-L", sizeArg(gib))
	}
	if _, err := d.lvm(ctx, "lvcreate", args...); err != nil {
		return fmt.Errorf("snapshot %s of %s: %w", name, d.path(origin), err)
	}
	return nil
}

// DeleteSnapshot clears (thick: its copy-on-write area, as Cinder) and removes
// _snapshot-<id>; a missing one is fine.
func (d *Driver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	name := snapshotLV(s.ID)
	if _, ok := lvs[name]; !ok {
		return nil
	}
	if !d.isThin() {
		if err := d.clear(ctx, d.cowPath(name), int64(s.SizeGiB)*driver.GiB); err != nil {
			return err
		}
	}
	return d.removeLV(ctx, name)
}

// cowPath is the device-mapper node of a thick snapshot's copy-on-write area: dashes in the
// names doubled, as device-mapper names them.
func (d *Driver) cowPath(lv string) string {
	return "/dev/mapper/" + dmEscape(d.VolumeGroup) + "-" + dmEscape(lv) + "-cow"
}

func dmEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		if s[i] == '-' {
			out = append(out, '-')
		}
	}
	return string(out)
}

// SnapshotExists reports whether _snapshot-<id> exists.
func (d *Driver) SnapshotExists(ctx context.Context, s driver.Snapshot) (bool, error) {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return false, err
	}
	_, ok := lvs[snapshotLV(s.ID)]
	return ok, nil
}

// CreateVolumeFromSnapshot makes volume-<id> from _snapshot-<id>: thin, a writable thin
// snapshot of it; thick, a copy of its first s.SizeGiB GiB. Then grows it to v.SizeGiB.
func (d *Driver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	return driver.Data{}, d.createFrom(ctx, v, snapshotLV(s.ID), s.SizeGiB, true)
}

// CreateClonedVolume makes volume-<id> from volume src: thin, a writable thin snapshot of
// it; thick, a copy through a temporary snapshot clone-snap-<new id> (so src may stay in
// use). Then grows it to v.SizeGiB.
func (d *Driver) CreateClonedVolume(ctx context.Context, v driver.Volume, src driver.Volume) (driver.Data, error) {
	return driver.Data{}, d.createFrom(ctx, v, driver.StorageName(src.ID), src.SizeGiB, false)
}

// createFrom is the work of CreateVolumeFromSnapshot (fromSnapshot) and CreateClonedVolume.
func (d *Driver) createFrom(ctx context.Context, v driver.Volume, origin string, originGiB int, fromSnapshot bool) (err error) {
	name := driver.StorageName(v.ID)
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	if _, ok := lvs[name]; ok {
		return d.ExtendVolume(ctx, v, v.SizeGiB)
	}
	if _, ok := lvs[origin]; !ok {
		return fmt.Errorf("volume %s from %s: %w", v.ID, d.path(origin), errNoSource)
	}
	if d.isThin() {
		if err := d.snapshotLV(ctx, name, origin, originGiB); err != nil {
			return err
		}
		// A thin snapshot skips activation; a volume must not (Cinder's activate_lv
		// is_snapshot, permanent).
		if _, err := d.lvm(ctx, "lvchange", "-a", "y", "-K", "-k", "n", d.path(name)); err != nil {
			return fmt.Errorf("activate %s: %w", d.path(name), err)
		}
		return d.ExtendVolume(ctx, v, v.SizeGiB)
	}
	tmp := partial(name)
	if _, ok := lvs[tmp]; ok { // an interrupted copy: start again
		if err := d.removeLV(ctx, tmp); err != nil {
			return err
		}
	}
	source := origin
	if !fromSnapshot {
		source = "clone-snap-" + v.ID
		if _, ok := lvs[source]; !ok {
			if err := d.snapshotLV(ctx, source, origin, originGiB); err != nil {
				return err
			}
		}
		defer func() {
			if rerr := d.removeLV(context.WithoutCancel(ctx), source); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	size := max(v.SizeGiB, originGiB)
	if err = d.createLV(ctx, tmp, size); err != nil {
		return err
	}
	if err = d.copyLV(ctx, source, tmp, originGiB); err != nil {
		return err
	}
	if _, err = d.lvm(ctx, "lvrename", d.VolumeGroup, tmp, name); err != nil {
		return fmt.Errorf("rename %s to %s: %w", d.path(tmp), name, err)
	}
	return nil
}

// copyLV copies the first gib GiB of logical volume src onto dst, with direct I/O.
func (d *Driver) copyLV(ctx context.Context, src, dst string, gib int) error {
	err := d.copyData(ctx, "if="+d.devPath(src), "of="+d.devPath(dst), "bs=1M",
		"count="+strconv.Itoa(gib*1024), "iflag=direct", "oflag=direct", "conv=fdatasync")
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", d.path(src), d.path(dst), err)
	}
	return nil
}

// ExtendVolume grows volume-<id> to newSizeGiB; one that is that large already is left alone.
func (d *Driver) ExtendVolume(ctx context.Context, v driver.Volume, newSizeGiB int) error {
	name := driver.StorageName(v.ID)
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	lv, ok := lvs[name]
	if !ok {
		return fmt.Errorf("extend volume %s: %s: %w", v.ID, d.path(name), errNoSource)
	}
	if lv.bytes() >= int64(newSizeGiB)*driver.GiB {
		return nil
	}
	if _, err := d.lvm(ctx, "lvextend", "-L", sizeArg(newSizeGiB), d.path(name)); err != nil {
		return fmt.Errorf("extend %s: %w", d.path(name), err)
	}
	return nil
}

// RevertToSnapshot copies _snapshot-<id> back over volume-<id> (Cinder's generic revert: the
// snapshot stays). A thin snapshot skips activation, so it is activated first.
func (d *Driver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	name, snap := driver.StorageName(v.ID), snapshotLV(s.ID)
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	for _, lv := range []string{name, snap} {
		if _, ok := lvs[lv]; !ok {
			return fmt.Errorf("revert volume %s to snapshot %s: %s: %w", v.ID, s.ID, d.path(lv), errNoSource)
		}
	}
	if d.isThin() {
		if _, err := d.lvm(ctx, "lvchange", "-a", "y", "-K", d.path(snap)); err != nil {
			return fmt.Errorf("activate %s: %w", d.path(snap), err)
		}
	}
	return d.copyLV(ctx, snap, name, s.SizeGiB)
}
