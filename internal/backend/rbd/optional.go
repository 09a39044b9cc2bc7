//go:build ceph

package rbd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ceph/go-ceph/rbd"

	"github.com/scoria/scoria/pkg/driver"
)

// CreateSnapshot makes snapshot-<id> of volume-<id> and protects it, so volumes can be
// cloned from it at once (Cinder protects at creation too). One that exists is protected
// if it is not yet.
func (d *Driver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	name, snap := driver.StorageName(v.ID), driver.SnapshotStorageName(s.ID)
	return driver.Data{}, d.conns().do(ctx, "snapshot "+name+"@"+snap, func(ss *session) error {
		img, err := rbd.OpenImage(ss.ioctx, name, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		return ensureProtectedSnap(img, snap)
	})
}

func ensureProtectedSnap(img *rbd.Image, snap string) error {
	sn, err := img.CreateSnapshot(snap)
	if errors.Is(err, rbd.ErrExist) {
		sn, err = img.GetSnapshot(snap), nil
	}
	if err != nil {
		return err
	}
	prot, err := sn.IsProtected()
	if err != nil || prot {
		return err
	}
	return sn.Protect()
}

// DeleteSnapshot unprotects and removes snapshot-<id>; one with clones is ErrSnapshotBusy
// (Cinder's SnapshotIsBusy), a missing one is fine.
func (d *Driver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	name, snap := driver.StorageName(v.ID), driver.SnapshotStorageName(s.ID)
	return d.conns().do(ctx, "delete snapshot "+name+"@"+snap, func(ss *session) error {
		img, err := rbd.OpenImage(ss.ioctx, name, rbd.NoSnapshot)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer img.Close()
		return removeSnap(img, snap)
	})
}

// SnapshotExists reports whether snapshot-<id> exists on its volume.
func (d *Driver) SnapshotExists(ctx context.Context, s driver.Snapshot) (bool, error) {
	name, snap := driver.StorageName(s.VolumeID), driver.SnapshotStorageName(s.ID)
	var ok bool
	err := d.conns().do(ctx, "stat snapshot "+name+"@"+snap, func(ss *session) error {
		img, err := rbd.OpenImageReadOnly(ss.ioctx, name, rbd.NoSnapshot)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer img.Close()
		snaps, err := img.GetSnapshotNames()
		for _, sn := range snaps {
			ok = ok || sn.Name == snap
		}
		return err
	})
	if err == nil && !ok && s.GroupSnapshotID != "" { // taken with its group (group_snapshots.go)
		return d.groupSnapExists(ctx, s)
	}
	return ok, err
}

// CloneDepth is the number of ancestors of volume-<id>: parents reached through clone
// snapshots and through user snapshots alike. Cinder counts only the .clone_snap links,
// which lets a chain of volumes made from snapshots grow without bound; every link costs
// reads, so Scoria counts them all.
func (d *Driver) CloneDepth(ctx context.Context, volumeID string) (int, error) {
	var depth int
	err := d.conns().do(ctx, "clone depth of "+driver.StorageName(volumeID), func(s *session) error {
		var err error
		depth, err = cloneDepth(s, driver.StorageName(volumeID))
		return err
	})
	return depth, err
}

func cloneDepth(s *session, name string) (int, error) {
	for depth := 0; depth < 1000; depth++ {
		img, err := rbd.OpenImageReadOnly(s.ioctx, name, rbd.NoSnapshot)
		if err != nil {
			return 0, err
		}
		info, err := img.GetParent()
		img.Close()
		if isNotFound(err) {
			return depth, nil
		}
		if err != nil {
			return 0, err
		}
		name = info.Image.ImageName
	}
	return 0, fmt.Errorf("clone chain of %s is longer than 1000", name)
}

// CreateVolumeFromSnapshot clones snapshot-<id> into volume-<id>, flattened when
// rbd_flatten_volume_from_snapshot is set or the snapshot's volume already has
// rbd_max_clone_depth ancestors (always with 0), then grows it to v.SizeGiB when that is
// larger.
func (d *Driver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	if s.GroupSnapshotID != "" { // taken with its group: a copy of the group snapshot's (group_snapshots.go)
		if done, err := d.volumeFromGroupSnap(ctx, v, s); done || err != nil {
			return driver.Data{}, err
		}
	}
	src, snap, dst := driver.StorageName(s.VolumeID), driver.SnapshotStorageName(s.ID), driver.StorageName(v.ID)
	return driver.Data{}, d.conns().do(ctx, "clone "+src+"@"+snap+" to "+dst, func(ss *session) error {
		depth, err := cloneDepth(ss, src)
		if err != nil {
			return err
		}
		if err := d.clone(ss, src, snap, dst); err != nil {
			return err
		}
		if d.FlattenFromSnapshot || depth >= d.MaxCloneDepth {
			if err := flatten(ss, dst); err != nil {
				return err
			}
		}
		return growTo(ss, dst, v.SizeGiB)
	})
}

// clone makes dst a clone of src@snap; a dst that exists (a redelivered call) is kept.
func (d *Driver) clone(s *session, src, snap, dst string) error {
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := opts.SetUint64(rbd.ImageOptionFeatures, rbd.FeatureLayering); err != nil {
		return err
	}
	if err := opts.SetUint64(rbd.ImageOptionOrder, d.order()); err != nil {
		return err
	}
	err := rbd.CloneImage(s.ioctx, src, snap, s.ioctx, dst, opts)
	if errors.Is(err, rbd.ErrExist) {
		return nil
	}
	return err
}

func flatten(s *session, name string) error {
	img, err := rbd.OpenImage(s.ioctx, name, rbd.NoSnapshot)
	if err != nil {
		return err
	}
	defer img.Close()
	err = img.Flatten()
	if errors.Is(err, rbd.ErrNotFound) || errors.Is(err, rbd.ErrNotExist) { // no parent
		return nil
	}
	var ce interface{ ErrorCode() int }
	if errors.As(err, &ce) && ce.ErrorCode() == -22 { // EINVAL: not a clone (any more)
		return nil
	}
	return err
}

// growTo resizes name to gib GiB when it is smaller.
func growTo(s *session, name string, gib int) error {
	img, err := rbd.OpenImage(s.ioctx, name, rbd.NoSnapshot)
	if err != nil {
		return err
	}
	defer img.Close()
	size, err := img.GetSize()
	if err != nil {
		return err
	}
	if want := uint64(gib) * uint64(driver.GiB); want > size {
		return img.Resize(want)
	}
	return nil
}

// CreateClonedVolume makes volume-<id> a copy of src as Cinder does: with
// rbd_max_clone_depth 0 a full copy; otherwise a protected snapshot
// volume-<new>.clone_snap of src and a clone of it, flattened (and the snapshot removed)
// when src already has rbd_max_clone_depth ancestors (see CloneDepth).
func (d *Driver) CreateClonedVolume(ctx context.Context, v driver.Volume, src driver.Volume) (driver.Data, error) {
	from, dst := driver.StorageName(src.ID), driver.StorageName(v.ID)
	snap := dst + cloneSnapSuffix
	return driver.Data{}, d.conns().do(ctx, "clone "+from+" to "+dst, func(s *session) error {
		img, err := rbd.OpenImage(s.ioctx, from, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		if d.MaxCloneDepth <= 0 {
			if err := img.Copy(s.ioctx, dst); err != nil && !errors.Is(err, rbd.ErrExist) {
				return err
			}
			return growTo(s, dst, v.SizeGiB)
		}
		if err := ensureProtectedSnap(img, snap); err != nil {
			return err
		}
		if err := d.clone(s, from, snap, dst); err != nil {
			if rerr := removeSnap(img, snap); rerr != nil {
				err = fmt.Errorf("%w (and removing %s@%s: %v)", err, from, snap, rerr)
			}
			return err
		}
		depth, err := cloneDepth(s, from)
		if err != nil {
			return err
		}
		if depth >= d.MaxCloneDepth {
			if err := flatten(s, dst); err != nil {
				return fmt.Errorf("flatten at rbd_max_clone_depth %d: %w", d.MaxCloneDepth, err)
			}
			if err := removeSnap(img, snap); err != nil {
				return err
			}
		}
		return growTo(s, dst, v.SizeGiB)
	})
}

// ExtendVolume grows volume-<id> to newSizeGiB; a volume already that large is fine.
func (d *Driver) ExtendVolume(ctx context.Context, v driver.Volume, newSizeGiB int) error {
	name := driver.StorageName(v.ID)
	return d.conns().do(ctx, "extend "+name, func(s *session) error { return growTo(s, name, newSizeGiB) })
}

// RevertToSnapshot rolls volume-<id> back to snapshot-<id> and keeps the volume's size
// (the rollback restores the snapshot's).
func (d *Driver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	name, snap := driver.StorageName(v.ID), driver.SnapshotStorageName(s.ID)
	return d.conns().do(ctx, "revert "+name+" to "+snap, func(ss *session) error {
		img, err := rbd.OpenImage(ss.ioctx, name, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		if err := img.GetSnapshot(snap).Rollback(); err != nil {
			return err
		}
		want := uint64(v.SizeGiB) * uint64(driver.GiB)
		size, err := img.GetSize()
		if err != nil {
			return err
		}
		if size != want {
			return img.Resize(want)
		}
		return nil
	})
}

// monAddrs returns the monitors' v1 addresses from the monitor map (`mon dump`), as hosts
// and ports, the way Cinder's _get_mon_addrs reads them.
func monAddrs(s *session) (hosts, ports []string, err error) {
	var m struct {
		Mons []struct {
			Addr string `json:"addr"`
		} `json:"mons"`
	}
	if err := monCommand(s.conn, map[string]any{"prefix": "mon dump", "format": "json"}, &m); err != nil {
		return nil, nil, err
	}
	for _, mon := range m.Mons {
		addr, _, _ := strings.Cut(mon.Addr, "/")
		i := strings.LastIndex(addr, ":")
		if i < 0 {
			continue
		}
		hosts = append(hosts, strings.Trim(addr[:i], "[]"))
		ports = append(ports, addr[i+1:])
	}
	if len(hosts) == 0 {
		return nil, nil, errors.New("mon dump lists no monitor address")
	}
	return hosts, ports, nil
}

// InitializeConnection returns Cinder's rbd connection info: the image as pool/name, the
// monitors from the monitor map, the cephx user and libvirt secret, and the keyring's
// contents when rbd_keyring_conf is set.
func (d *Driver) InitializeConnection(ctx context.Context, v driver.Volume, _ driver.Connector) (driver.ConnectionInfo, error) {
	var hosts, ports []string
	err := d.conns().do(ctx, "monitor addresses", func(s *session) error {
		var err error
		hosts, ports, err = monAddrs(s)
		return err
	})
	if err != nil {
		return driver.ConnectionInfo{}, err
	}
	var user any
	if d.Conn.User != "" {
		user = d.Conn.User
	}
	var secret any
	if d.SecretUUID != "" {
		secret = d.SecretUUID
	}
	data := map[string]any{
		"name":          d.Conn.Pool + "/" + driver.StorageName(v.ID),
		"hosts":         hosts,
		"ports":         ports,
		"cluster_name":  d.Conn.ClusterName,
		"auth_enabled":  d.Conn.User != "",
		"auth_username": user,
		"secret_type":   "ceph",
		"secret_uuid":   secret,
		"volume_id":     v.ID,
		"discard":       true,
	}
	if d.keyring != "" {
		data["keyring"] = d.keyring
	}
	return driver.ConnectionInfo{DriverVolumeType: "rbd", Data: data}, nil
}

// TerminateConnection has nothing to do: hosts connect to the cluster themselves.
func (d *Driver) TerminateConnection(context.Context, driver.Volume, driver.Connector) error {
	return nil
}
