//go:build ceph

package rbd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"github.com/scoria/scoria/pkg/driver"
)

// Version is the driver version reported to the scheduler (Cinder's RBD driver's).
const Version = "1.2.0"

// Suffixes Cinder gives the images and snapshots it keeps for clones.
const (
	cloneSnapSuffix = ".clone_snap" // the snapshot of a source volume a clone volume hangs from
	deletedSuffix   = ".deleted"    // a deleted volume kept while clones depend on it
)

// ErrSnapshotBusy is returned when a snapshot cannot be removed because volumes are
// clones of it (Cinder's SnapshotIsBusy). It is a driver.ErrBusy.
var ErrSnapshotBusy = driver.Mark(errors.New("snapshot is busy: volumes are clones of it"), driver.ErrBusy)

// ErrVolumeBusy is returned when a volume cannot be removed because it has snapshots
// (Cinder's VolumeIsBusy). It is a driver.ErrBusy.
var ErrVolumeBusy = driver.Mark(errors.New("volume is busy: it has snapshots"), driver.ErrBusy)

// Driver is the RBD backend: one pool of one cluster. Its fields are Cinder's options.
type Driver struct {
	Conn                 ConnConfig
	SecretUUID           string // rbd_secret_uuid: the libvirt secret of rbd_user
	FlattenFromSnapshot  bool   // rbd_flatten_volume_from_snapshot
	MaxCloneDepth        int    // rbd_max_clone_depth; 0 copies instead of cloning
	ChunkSizeMiB         int    // rbd_store_chunk_size: object size, so the image order
	ExclusivePool        bool   // rbd_exclusive_cinder_pool: false sums image sizes for provisioned_capacity_gb
	DynamicTotalCapacity bool   // report_dynamic_total_capacity
	BackendName          string
	Reserved             int
	OverSub              string

	once    sync.Once
	pool    *ConnPool
	keyring string // the keyring file's contents for the connection info, when configured
}

var (
	_ driver.Driver           = (*Driver)(nil)
	_ driver.Snapshotter      = (*Driver)(nil)
	_ driver.SnapshotRestorer = (*Driver)(nil)
	_ driver.Cloner           = (*Driver)(nil)
	_ driver.Extender         = (*Driver)(nil)
	_ driver.Reverter         = (*Driver)(nil)
	_ driver.Attacher         = (*Driver)(nil)
)

func (d *Driver) conns() *ConnPool {
	d.once.Do(func() { d.pool = NewConnPool(d.Conn) })
	return d.pool
}

// Close shuts the driver's connection down.
func (d *Driver) Close() { d.conns().Close() }

// order is the image order (log2 of the object size) of rbd_store_chunk_size MiB.
func (d *Driver) order() uint64 {
	mib := d.ChunkSizeMiB
	if mib < 1 {
		mib = 4
	}
	return uint64(math.Round(math.Log2(float64(mib) * (1 << 20))))
}

// Setup connects to the cluster and checks the pool: an unreachable cluster is an
// ErrUnreachable error within the connect and operation timeouts, never a hang.
func (d *Driver) Setup(ctx context.Context) error {
	if d.Conn.Pool == "" {
		return fmt.Errorf("%w: rbd_pool is empty", driver.ErrInvalidConfig)
	}
	if d.Conn.Keyring != "" {
		b, err := os.ReadFile(d.Conn.Keyring)
		if err != nil {
			return fmt.Errorf("%w: rbd_keyring_conf: %v", driver.ErrInvalidConfig, err)
		}
		d.keyring = string(b)
	}
	return d.conns().do(ctx, "rbd setup", func(s *session) error {
		_, err := rbd.GetImageNames(s.ioctx)
		return err
	})
}

// Create makes volume-<id>: format 2, layering, the order of rbd_store_chunk_size. One
// that exists is left alone.
func (d *Driver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	name := driver.StorageName(v.ID)
	return driver.Data{}, d.conns().do(ctx, "create "+name, func(s *session) error {
		return d.createImage(s, name, uint64(v.SizeGiB)*uint64(driver.GiB))
	})
}

func (d *Driver) createImage(s *session, name string, size uint64) error {
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	for _, o := range []struct {
		k rbd.ImageOption
		v uint64
	}{{rbd.ImageOptionFormat, 2}, {rbd.ImageOptionFeatures, rbd.FeatureLayering}, {rbd.ImageOptionOrder, d.order()}} {
		if err := opts.SetUint64(o.k, o.v); err != nil {
			return err
		}
	}
	err := rbd.CreateImage(s.ioctx, name, size, opts)
	if errors.Is(err, rbd.ErrExist) {
		return nil
	}
	return err
}

// Exists reports whether volume-<id> exists.
func (d *Driver) Exists(ctx context.Context, v driver.Volume) (bool, error) {
	var ok bool
	err := d.conns().do(ctx, "stat "+driver.StorageName(v.ID), func(s *session) error {
		img, err := rbd.OpenImageReadOnly(s.ioctx, driver.StorageName(v.ID), rbd.NoSnapshot)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return img.Close()
	})
	return ok, err
}

func isNotFound(err error) bool {
	return errors.Is(err, rbd.ErrNotFound) || errors.Is(err, rbd.ErrNotExist)
}

// Delete removes volume-<id> as Cinder does: a volume with snapshots of its own is busy; a
// volume whose .clone_snap snapshots have clones is renamed volume-<id>.deleted and removed
// when its last clone goes; removing a clone volume walks up its parents removing the
// .clone_snap it hung from and any .deleted parent left without snapshots.
func (d *Driver) Delete(ctx context.Context, v driver.Volume) error {
	return d.deleteImage(ctx, driver.StorageName(v.ID))
}

// deleteImage is Delete of image name (volume-<id>, or a volume-<id>.deleted that is no
// longer held: one still held stays as it is).
// backupSnap matches the snapshots the Ceph backup driver leaves on a volume it backed up
// (backup.<backup id>.snap.<timestamp>), Cinder's pattern.
var backupSnap = regexp.MustCompile(`^backup\.([a-z0-9\-]+?)\.snap\.(.+)$`)

func (d *Driver) deleteImage(ctx context.Context, name string) error {
	return d.conns().do(ctx, "delete "+name, func(s *session) error {
		img, err := rbd.OpenImage(s.ioctx, name, rbd.NoSnapshot)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		snaps, err := img.GetSnapshotNames()
		if err != nil {
			img.Close()
			return err
		}
		var keep bool // clone snapshots with children: the image stays, renamed
		for _, sn := range snaps {
			if backupSnap.MatchString(sn.Name) {
				// A Ceph backup's snapshot of this volume (the base of its next incremental
				// backup): it goes with the volume, as Cinder's _delete_backup_snaps.
				if err := removeSnap(img, sn.Name); err != nil {
					img.Close()
					return err
				}
				continue
			}
			if !strings.HasSuffix(sn.Name, cloneSnapSuffix) {
				img.Close()
				return fmt.Errorf("%w (%s)", ErrVolumeBusy, sn.Name)
			}
			children, err := childrenOf(img, sn.Name)
			if err != nil {
				img.Close()
				return err
			}
			if len(children) > 0 {
				keep = true
				continue
			}
			// A clone snapshot whose clone is gone (or was flattened): remove it.
			if err := removeSnap(img, sn.Name); err != nil {
				img.Close()
				return err
			}
		}
		parent, parentSnap := cloneParent(img, name)
		if err := img.Close(); err != nil {
			return err
		}
		if keep && strings.HasSuffix(name, deletedSuffix) {
			return nil
		}
		if keep {
			return rbd.GetImage(s.ioctx, name).Rename(name + deletedSuffix)
		}
		if err := rbd.RemoveImage(s.ioctx, name); err != nil && !isNotFound(err) {
			return err
		}
		if parent != "" {
			return d.dropParentRefs(s, parent, parentSnap)
		}
		return nil
	})
}

// cloneParent returns the parent of img when img is a clone volume made by
// CreateClonedVolume (its parent snapshot is <name>.clone_snap), else "".
func cloneParent(img *rbd.Image, name string) (string, string) {
	info, err := img.GetParent()
	if err != nil {
		return "", ""
	}
	base := strings.TrimSuffix(name, deletedSuffix)
	if info.Snap.SnapName != base+cloneSnapSuffix {
		return "", ""
	}
	return info.Image.ImageName, info.Snap.SnapName
}

// dropParentRefs removes snapshot snap of parent (the clone snapshot a removed clone hung
// from) and, when parent is a deleted volume left without snapshots, parent itself, then
// goes on with its own parent.
func (d *Driver) dropParentRefs(s *session, parent, snap string) error {
	img, err := rbd.OpenImage(s.ioctx, parent, rbd.NoSnapshot)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	grand, grandSnap := cloneParent(img, parent)
	if children, err := childrenOf(img, snap); err == nil && len(children) == 0 {
		if err := removeSnap(img, snap); err != nil {
			img.Close()
			return err
		}
	}
	snaps, err := img.GetSnapshotNames()
	img.Close()
	if err != nil {
		return err
	}
	if len(snaps) > 0 || !strings.HasSuffix(parent, deletedSuffix) {
		return nil
	}
	if err := rbd.RemoveImage(s.ioctx, parent); err != nil && !isNotFound(err) {
		return err
	}
	if grand != "" {
		return d.dropParentRefs(s, grand, grandSnap)
	}
	return nil
}

// childrenOf lists the clones of snapshot snap of img.
func childrenOf(img *rbd.Image, snap string) ([]string, error) {
	sn := img.GetSnapshot(snap)
	if err := sn.Set(); err != nil {
		return nil, err
	}
	defer img.SetSnapshot(rbd.NoSnapshot)
	_, images, err := img.ListChildren()
	if isNotFound(err) {
		return nil, nil
	}
	return images, err
}

// removeSnap unprotects (when protected) and removes snapshot snap of img.
func removeSnap(img *rbd.Image, snap string) error {
	sn := img.GetSnapshot(snap)
	prot, err := sn.IsProtected()
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if prot {
		if err := sn.Unprotect(); err != nil {
			var ce interface{ ErrorCode() int }
			if errors.As(err, &ce) && ce.ErrorCode() == -16 { // EBUSY
				return fmt.Errorf("%w: %v", ErrSnapshotBusy, err)
			}
			return err
		}
	}
	if err := sn.Remove(); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// dfPool is one pool of `ceph df --format json`.
type dfPool struct {
	Name  string `json:"name"`
	Stats struct {
		BytesUsed uint64 `json:"bytes_used"`
		MaxAvail  uint64 `json:"max_avail"`
	} `json:"stats"`
}

// df is `ceph df --format json`, the parts the capacity report reads.
type df struct {
	Stats struct {
		TotalBytes uint64 `json:"total_bytes"`
	} `json:"stats"`
	Pools []dfPool `json:"pools"`
}

func monCommand(conn *rados.Conn, cmd map[string]any, out any) error {
	b, _ := json.Marshal(cmd)
	buf, status, err := conn.MonCommand(b)
	if err != nil {
		return fmt.Errorf("mon command %s: %w (%s)", cmd["prefix"], err, status)
	}
	if err := json.Unmarshal(buf, out); err != nil {
		return fmt.Errorf("mon command %s: %w", cmd["prefix"], err)
	}
	return nil
}

// Capacity is the pool's capacity as Cinder's RBD driver computes it from `df` and the pool
// quota: with a quota, total is the quota and free what is left of it (at most max_avail);
// without, free is max_avail and total the cluster's size, or used + free when
// report_dynamic_total_capacity. Both in GiB, rounded to 2 places.
func (d *Driver) Capacity(ctx context.Context) (free, total float64, err error) {
	err = d.conns().do(ctx, "capacity of pool "+d.Conn.Pool, func(s *session) error {
		var data df
		if err := monCommand(s.conn, map[string]any{"prefix": "df", "format": "json"}, &data); err != nil {
			return err
		}
		var quota struct {
			MaxBytes uint64 `json:"quota_max_bytes"`
		}
		if err := monCommand(s.conn, map[string]any{"prefix": "osd pool get-quota", "pool": d.Conn.Pool, "format": "json"}, &quota); err != nil {
			return err
		}
		var pool *dfPool
		for i := range data.Pools {
			if data.Pools[i].Name == d.Conn.Pool {
				pool = &data.Pools[i]
			}
		}
		if pool == nil {
			return fmt.Errorf("pool %q is not in ceph df", d.Conn.Pool)
		}
		var fb, tb float64
		if quota.MaxBytes > 0 {
			tb = float64(quota.MaxBytes)
			fb = math.Max(math.Min(tb-float64(pool.Stats.BytesUsed), float64(pool.Stats.MaxAvail)), 0)
		} else {
			tb = float64(data.Stats.TotalBytes)
			fb = float64(pool.Stats.MaxAvail)
		}
		if d.DynamicTotalCapacity {
			tb = fb + float64(pool.Stats.BytesUsed)
		}
		free = math.Round(fb/float64(driver.GiB)*100) / 100
		total = math.Round(tb/float64(driver.GiB)*100) / 100
		return nil
	})
	return free, total, err
}

// provisioned sums the sizes of the pool's volume images in GiB (rbd_exclusive_cinder_pool
// false: the pool is shared, so the scheduler cannot know it from its own records).
func (d *Driver) provisioned(ctx context.Context) (float64, error) {
	var sum uint64
	err := d.conns().do(ctx, "provisioned size of pool "+d.Conn.Pool, func(s *session) error {
		names, err := rbd.GetImageNames(s.ioctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "volume-") {
				continue
			}
			img, err := rbd.OpenImageReadOnly(s.ioctx, n, rbd.NoSnapshot)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			size, err := img.GetSize()
			img.Close()
			if err != nil {
				return err
			}
			sum += size
		}
		return nil
	})
	return math.Ceil(float64(sum) / float64(driver.GiB)), err
}

// Stats reports the pool as Cinder's RBD driver does: thin provisioning, multiattach,
// capacity from `df`; an unreachable cluster is an error (the volume service reports the
// backend down with it).
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	free, total, err := d.Capacity(ctx)
	if err != nil {
		return driver.Stats{}, err
	}
	pool := driver.Pool{
		Name:                     d.BackendName,
		TotalCapacityGB:          driver.Capacity(total),
		FreeCapacityGB:           driver.Capacity(free),
		ReservedPercentage:       d.Reserved,
		MaxOverSubscriptionRatio: d.OverSub,
		ThinProvisioningSupport:  true,
		Multiattach:              true,
		Extra:                    map[string]any{"backend_state": "up", "rbd_pool": d.Conn.Pool},
	}
	if !d.ExclusivePool {
		p, err := d.provisioned(ctx)
		if err != nil {
			return driver.Stats{}, err
		}
		pool.ProvisionedCapacityGB = p
	}
	return driver.Stats{
		VolumeBackendName: d.BackendName,
		VendorName:        "Open Source",
		DriverVersion:     Version,
		StorageProtocol:   "ceph",
		Pools:             []driver.Pool{pool},
	}, nil
}
