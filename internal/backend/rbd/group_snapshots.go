//go:build ceph

package rbd

// Consistent group snapshots (driver.GroupSnapshotter) as Ceph takes them: the members'
// images join an rbd group named after the group snapshot (group-snapshot-<id>), `rbd group
// snap create` captures them at one point in time, and the images leave the group again (an
// image may be in one rbd group only; the group snapshot outlives their membership, and its
// images' snapshots stay in the group namespace). A member snapshot is thus its image's
// group-namespace snapshot: SnapshotExists finds it there, CreateVolumeFromSnapshot copies
// from it (Pacific's librbd cannot clone from a snapshot outside the user namespace).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ceph/go-ceph/rbd"

	"github.com/scoria/scoria/pkg/driver"
)

// groupSnapPrefix starts the names librbd gives an image's snapshots in the group namespace.
const groupSnapPrefix = ".group."

// CreateGroupSnapshot makes the one rbd group snapshot of gs (idempotent: a complete one is
// kept, an incomplete one is taken again); on failure it removes what it made. Its members
// are found by name: it returns no driver data.
func (d *Driver) CreateGroupSnapshot(ctx context.Context, gs driver.GroupSnapshot) (map[string]driver.Data, error) {
	return nil, d.conns().do(ctx, "group snapshot "+gs.Name, func(ss *session) error {
		err := makeGroupSnap(ss, gs)
		if err != nil {
			if cerr := removeGroupSnap(ss, gs); cerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", cerr))
			}
		}
		return err
	})
}

func makeGroupSnap(ss *session, gs driver.GroupSnapshot) error {
	if err := rbd.GroupCreate(ss.ioctx, gs.Name); err != nil && !errors.Is(err, rbd.ErrExist) {
		return fmt.Errorf("rbd group create %s: %w", gs.Name, err)
	}
	snaps, err := rbd.GroupSnapList(ss.ioctx, gs.Name)
	if err != nil {
		return fmt.Errorf("rbd group snap ls %s: %w", gs.Name, err)
	}
	for _, sn := range snaps {
		if sn.Name != gs.Name {
			continue
		}
		if sn.State == rbd.GroupSnapStateComplete {
			return releaseImages(ss, gs)
		}
		if err := rbd.GroupSnapRemove(ss.ioctx, gs.Name, sn.Name); err != nil && !isNotFound(err) {
			return fmt.Errorf("rbd group snap rm %s@%s (incomplete): %w", gs.Name, sn.Name, err)
		}
	}
	for _, m := range gs.Members {
		name := driver.StorageName(m.Volume.ID)
		in, err := groupOf(ss, name)
		if err != nil {
			return err
		}
		if in != "" && in != gs.Name { // still held by an earlier group snapshot's group
			if err := rbd.GroupImageRemove(ss.ioctx, in, ss.ioctx, name); err != nil && !isNotFound(err) {
				return fmt.Errorf("rbd group image rm %s %s: %w", in, name, err)
			}
		}
		if in != gs.Name {
			if err := rbd.GroupImageAdd(ss.ioctx, gs.Name, ss.ioctx, name); err != nil && !errors.Is(err, rbd.ErrExist) {
				return fmt.Errorf("rbd group image add %s %s: %w", gs.Name, name, err)
			}
		}
	}
	if err := rbd.GroupSnapCreate(ss.ioctx, gs.Name, gs.Name); err != nil {
		return fmt.Errorf("rbd group snap create %s@%s: %w", gs.Name, gs.Name, err)
	}
	return releaseImages(ss, gs)
}

// groupOf returns the rbd group image name is in, "" for none.
func groupOf(ss *session, name string) (string, error) {
	img, err := rbd.OpenImageReadOnly(ss.ioctx, name, rbd.NoSnapshot)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", name, err)
	}
	defer img.Close()
	info, err := img.GetGroup()
	if err != nil {
		return "", fmt.Errorf("group of %s: %w", name, err)
	}
	return info.Name, nil
}

// releaseImages takes every image out of the rbd group of gs.
func releaseImages(ss *session, gs driver.GroupSnapshot) error {
	images, err := rbd.GroupImageList(ss.ioctx, gs.Name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rbd group image list %s: %w", gs.Name, err)
	}
	for _, im := range images {
		if err := rbd.GroupImageRemove(ss.ioctx, gs.Name, ss.ioctx, im.Name); err != nil && !isNotFound(err) {
			return fmt.Errorf("rbd group image rm %s %s: %w", gs.Name, im.Name, err)
		}
	}
	return nil
}

// removeGroupSnap removes the rbd group of gs with its snapshots (and so its images'
// group-namespace snapshots); a missing group is fine.
func removeGroupSnap(ss *session, gs driver.GroupSnapshot) error {
	if err := releaseImages(ss, gs); err != nil {
		return err
	}
	snaps, err := rbd.GroupSnapList(ss.ioctx, gs.Name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rbd group snap ls %s: %w", gs.Name, err)
	}
	for _, sn := range snaps {
		if err := rbd.GroupSnapRemove(ss.ioctx, gs.Name, sn.Name); err != nil && !isNotFound(err) {
			return fmt.Errorf("rbd group snap rm %s@%s: %w", gs.Name, sn.Name, err)
		}
	}
	if err := rbd.GroupRemove(ss.ioctx, gs.Name); err != nil && !isNotFound(err) {
		return fmt.Errorf("rbd group rm %s: %w", gs.Name, err)
	}
	return nil
}

// DeleteGroupSnapshot removes the members' own snapshots (those taken one by one) and the
// rbd group snapshot of gs with its group.
func (d *Driver) DeleteGroupSnapshot(ctx context.Context, gs driver.GroupSnapshot) error {
	for _, m := range gs.Members {
		if err := d.DeleteSnapshot(ctx, m.Snapshot, m.Volume); err != nil {
			return err
		}
	}
	return d.conns().do(ctx, "delete group snapshot "+gs.Name, func(ss *session) error {
		return removeGroupSnap(ss, gs)
	})
}

// groupSnapID returns the id of the snapshot of image name taken by the rbd group snapshot
// of group snapshot gsID, and whether there is one.
func groupSnapID(img *rbd.Image, gsID string) (uint64, bool, error) {
	group := driver.GroupSnapshotStorageName(gsID)
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		return 0, false, err
	}
	for _, sn := range snaps {
		if !strings.HasPrefix(sn.Name, groupSnapPrefix) {
			continue
		}
		ns, err := img.GetSnapGroupNamespace(sn.Id)
		if err != nil {
			return 0, false, err
		}
		if ns != nil && ns.GroupName == group && ns.GroupSnapName == group {
			return sn.Id, true, nil
		}
	}
	return 0, false, nil
}

// groupSnapExists reports whether member snapshot s exists as its volume's snapshot of its
// rbd group snapshot.
func (d *Driver) groupSnapExists(ctx context.Context, s driver.Snapshot) (bool, error) {
	name := driver.StorageName(s.VolumeID)
	var ok bool
	err := d.conns().do(ctx, "stat group snapshot of "+name, func(ss *session) error {
		img, err := rbd.OpenImageReadOnly(ss.ioctx, name, rbd.NoSnapshot)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer img.Close()
		_, ok, err = groupSnapID(img, s.GroupSnapshotID)
		return err
	})
	return ok, err
}

// volumeFromGroupSnap makes volume v as a copy of member snapshot s when s is its volume's
// snapshot of an rbd group snapshot (not a user snapshot of its own); it reports whether it
// was.
func (d *Driver) volumeFromGroupSnap(ctx context.Context, v driver.Volume, s driver.Snapshot) (bool, error) {
	src, dst := driver.StorageName(s.VolumeID), driver.StorageName(v.ID)
	var used bool
	err := d.conns().do(ctx, "copy group snapshot of "+src+" to "+dst, func(ss *session) error {
		img, err := rbd.OpenImageReadOnly(ss.ioctx, src, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		id, ok, err := groupSnapID(img, s.GroupSnapshotID)
		if err != nil || !ok {
			return err
		}
		used = true
		if err := img.SetSnapByID(id); err != nil {
			return err
		}
		// A copy a crash interrupted is made again from the start.
		if err := rbd.RemoveImage(ss.ioctx, dst); err != nil && !isNotFound(err) {
			return err
		}
		if err := img.Copy(ss.ioctx, dst); err != nil {
			return fmt.Errorf("copy %s@%s to %s: %w", src, driver.GroupSnapshotStorageName(s.GroupSnapshotID), dst, err)
		}
		return growTo(ss, dst, v.SizeGiB)
	})
	return used, err
}
