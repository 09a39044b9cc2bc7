package sheepdog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/scoria/scoria/internal/sheep"
	"github.com/scoria/scoria/pkg/driver"
)

// Version is reported as driver_version (Cinder's SheepdogDriver VERSION).
const Version = "1.0.0"

// Driver keeps volumes as VDIs of one sheep cluster, reached at Address:Port.
type Driver struct {
	BackendName string
	Address     string
	Port        int
	Client      *sheep.Client
	Reserved    int    // reserved_percentage
	OverSub     string // max_over_subscription_ratio

	// vdiLocks holds a *sync.Mutex per VDI name. A snapshot is two requests (the tag written
	// into the working inode, then NEW_VDI), so two at once on one VDI (a user's snapshot and
	// a clone's temporary one, which the volume service runs concurrently) would interleave:
	// the second tag overwrites the first and the clone's cleanup deletes the user's snapshot.
	// Everything that snapshots or replaces a working VDI holds its name's lock.
	vdiLocks sync.Map
}

// lockVDI takes the lock of VDI name and returns its release.
func (d *Driver) lockVDI(name string) func() {
	m, _ := d.vdiLocks.LoadOrStore(name, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

var (
	_ driver.Driver           = (*Driver)(nil)
	_ driver.Snapshotter      = (*Driver)(nil)
	_ driver.SnapshotRestorer = (*Driver)(nil)
	_ driver.Cloner           = (*Driver)(nil)
	_ driver.Extender         = (*Driver)(nil)
	_ driver.Reverter         = (*Driver)(nil)
	_ driver.TargetBacked     = (*Driver)(nil)
)

func name(v driver.Volume) string { return driver.StorageName(v.ID) }

// snapshotTag is the tag of snapshot s on its volume's VDI (Cinder's snapshot name).
func snapshotTag(s driver.Snapshot) string { return driver.SnapshotStorageName(s.ID) }

// tempTag is the tag of the temporary snapshot of src a clone to dst is made from (Cinder's
// tmp-snap-<source name>-<clone id>).
func tempTag(src driver.Volume, dstID string) string { return "tmp-snap-" + name(src) + "-" + dstID }

// clusterErr is the reason the cluster cannot serve, with Cinder's wording, or nil when it runs.
func (d *Driver) clusterErr(ctx context.Context) error {
	info, err := d.Client.ClusterInfo(ctx)
	if err != nil {
		return driver.Mark(fmt.Errorf("sheep at %s: %w", d.Client.Addr(), err), driver.ErrUnavailable)
	}
	if info.Running() {
		return nil
	}
	reason := fmt.Sprintf("Invalid sheepdog cluster status (%s).", info.Status)
	switch err := info.Err(); {
	case errors.Is(err, sheep.ErrWaitForFormat):
		reason = `Cluster is not formatted. You should probably perform "dog cluster format".`
	case errors.Is(err, sheep.ErrWaitForJoin):
		reason = "Waiting for all nodes to join cluster. Ensure all sheep daemons are running."
	}
	return driver.Mark(fmt.Errorf("sheep at %s: %s", d.Client.Addr(), reason), driver.ErrUnavailable)
}

// Setup checks the cluster runs (Cinder's check_cluster_status).
func (d *Driver) Setup(ctx context.Context) error { return d.clusterErr(ctx) }

// wrap gives err context and marks sheep's answers with the kit's typed errors.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf(format+": %w", append(args, err)...)
	switch {
	case errors.Is(err, sheep.ErrNoVDI), errors.Is(err, sheep.ErrNoTag):
		return driver.Mark(err, driver.ErrNotFound)
	case errors.Is(err, sheep.ErrNoSpace):
		return driver.Mark(err, driver.ErrNoSpace)
	case errors.Is(err, sheep.ErrUnreachable), errors.Is(err, sheep.ErrWaitForFormat), errors.Is(err, sheep.ErrWaitForJoin):
		return driver.Mark(err, driver.ErrUnavailable)
	}
	return err
}

// ensureSize grows VDI n to sizeGiB unless it is that large already.
func (d *Driver) ensureSize(ctx context.Context, n string, sizeGiB int) error {
	vdi, err := d.Client.Lookup(ctx, n, "")
	if err != nil {
		return wrap(err, "look up %s", n)
	}
	want := uint64(sizeGiB) * uint64(driver.GiB)
	if vdi.Size >= want {
		return nil
	}
	return wrap(d.Client.Resize(ctx, n, want), "resize %s to %dG", n, sizeGiB)
}

// Create makes the VDI volume-<id> of the volume's size. A VDI of that name and size is a
// create done already.
func (d *Driver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	want := uint64(v.SizeGiB) * uint64(driver.GiB)
	_, err := d.Client.Create(ctx, name(v), want)
	if errors.Is(err, sheep.ErrVDIExists) {
		vdi, lerr := d.Client.Lookup(ctx, name(v), "")
		if lerr == nil && vdi.Size == want {
			return driver.Data{}, nil
		}
		return driver.Data{}, fmt.Errorf("create volume %s: VDI %s exists with another size (%d bytes, want %d)", v.ID, name(v), vdi.Size, want)
	}
	return driver.Data{}, wrap(err, "create volume %s", v.ID)
}

// Delete removes the volume's working VDI (its data references zeroed first, so the cluster
// frees the objects); a VDI already gone is fine.
func (d *Driver) Delete(ctx context.Context, v driver.Volume) error {
	err := d.Client.Delete(ctx, name(v), "")
	if errors.Is(err, sheep.ErrNoVDI) {
		return nil
	}
	return wrap(err, "delete volume %s", v.ID)
}

// Exists reports whether the volume's working VDI exists.
func (d *Driver) Exists(ctx context.Context, v driver.Volume) (bool, error) {
	_, err := d.Client.Lookup(ctx, name(v), "")
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sheep.ErrNoVDI):
		return false, nil
	}
	return false, wrap(err, "look up volume %s", v.ID)
}

// Stats reports the cluster as one pool named after the backend: total and used as the sheep
// answers them, thin (VDIs take objects only as they are written). A cluster that does not
// run (unreachable, not formatted, waiting for nodes) is an error with the reason, which the
// volume service reports as the backend down.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	if err := d.clusterErr(ctx); err != nil {
		return driver.Stats{}, err
	}
	total, used, err := d.Client.Capacity(ctx)
	if err != nil {
		return driver.Stats{}, wrap(err, "capacity of the sheep cluster at %s", d.Client.Addr())
	}
	gib := float64(driver.GiB)
	ratio := d.OverSub
	if ratio == "" {
		ratio = "20.0"
	}
	return driver.Stats{
		VolumeBackendName: d.BackendName,
		VendorName:        "Open Source",
		DriverVersion:     Version,
		StorageProtocol:   "sheepdog", // Cinder's; the connections are iSCSI through tgtd
		Pools: []driver.Pool{{
			Name:                     d.BackendName,
			TotalCapacityGB:          driver.Capacity(round2(float64(total) / gib)),
			FreeCapacityGB:           driver.Capacity(round2(float64(total-min(used, total)) / gib)),
			ReservedPercentage:       d.Reserved,
			MaxOverSubscriptionRatio: ratio,
			ThinProvisioningSupport:  true,
			Multiattach:              false,
			Extra:                    map[string]any{"backend_state": "up", "sheepdog_store": d.Client.Addr()},
		}},
	}, nil
}

func round2(f float64) float64 { return math.Floor(f*100) / 100 }

// CreateSnapshot snapshots the volume's VDI under the tag snapshot-<id> (the working VDI gets
// a new VID; the old one is the snapshot). A tag that exists is a snapshot taken already.
func (d *Driver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	defer d.lockVDI(driver.StorageName(s.VolumeID))()
	_, err := d.Client.Snapshot(ctx, driver.StorageName(s.VolumeID), snapshotTag(s))
	if errors.Is(err, sheep.ErrTagExists) {
		return driver.Data{}, nil
	}
	return driver.Data{}, wrap(err, "snapshot %s of volume %s", s.ID, s.VolumeID)
}

// DeleteSnapshot removes the snapshot; one already gone is fine. Volumes cloned from it keep
// their data (sheep keeps the objects they share).
func (d *Driver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	err := d.Client.Delete(ctx, driver.StorageName(s.VolumeID), snapshotTag(s))
	if errors.Is(err, sheep.ErrNoTag) || errors.Is(err, sheep.ErrNoVDI) {
		return nil
	}
	return wrap(err, "delete snapshot %s of volume %s", s.ID, s.VolumeID)
}

// SnapshotExists reports whether the snapshot's tag exists on its volume's VDIs.
func (d *Driver) SnapshotExists(ctx context.Context, s driver.Snapshot) (bool, error) {
	_, err := d.Client.Lookup(ctx, driver.StorageName(s.VolumeID), snapshotTag(s))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sheep.ErrNoTag), errors.Is(err, sheep.ErrNoVDI):
		return false, nil
	}
	return false, wrap(err, "look up snapshot %s", s.ID)
}

// clone makes VDI dst a clone of src's snapshot tag and grows it to sizeGiB; a dst that exists
// already (a redelivered request) is only grown.
func (d *Driver) clone(ctx context.Context, src, tag, dst string, sizeGiB int) error {
	_, err := d.Client.Clone(ctx, src, tag, dst)
	if err != nil && !errors.Is(err, sheep.ErrVDIExists) {
		return wrap(err, "clone %s of %s to %s", tag, src, dst)
	}
	return d.ensureSize(ctx, dst, sizeGiB)
}

// CreateVolumeFromSnapshot clones the snapshot into volume-<id> and grows it to the volume's
// size (Cinder's create_volume_from_snapshot).
func (d *Driver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	err := d.clone(ctx, driver.StorageName(s.VolumeID), snapshotTag(s), name(v), v.SizeGiB)
	return driver.Data{}, wrap(err, "volume %s from snapshot %s", v.ID, s.ID)
}

// CreateClonedVolume copies src as Cinder's create_cloned_volume: a temporary snapshot
// tmp-snap-<source>-<clone id> of src, a clone of it grown to v's size, and the temporary
// snapshot removed (the clone keeps the objects it shares). Each step can be repeated: a clone
// that exists already only has the temporary snapshot removed.
func (d *Driver) CreateClonedVolume(ctx context.Context, v, src driver.Volume) (driver.Data, error) {
	defer d.lockVDI(name(src))()
	tag := tempTag(src, v.ID)
	if _, err := d.Client.Lookup(ctx, name(v), ""); err == nil {
		err = d.Client.Delete(ctx, name(src), tag)
		if err != nil && !errors.Is(err, sheep.ErrNoTag) && !errors.Is(err, sheep.ErrNoVDI) {
			return driver.Data{}, wrap(err, "remove the temporary snapshot of clone %s", v.ID)
		}
		return driver.Data{}, d.ensureSize(ctx, name(v), v.SizeGiB)
	}
	if _, err := d.Client.Snapshot(ctx, name(src), tag); err != nil && !errors.Is(err, sheep.ErrTagExists) {
		return driver.Data{}, wrap(err, "clone volume %s to %s: temporary snapshot", src.ID, v.ID)
	}
	cerr := d.clone(ctx, name(src), tag, name(v), v.SizeGiB)
	err := d.Client.Delete(ctx, name(src), tag)
	if err != nil && !errors.Is(err, sheep.ErrNoTag) && !errors.Is(err, sheep.ErrNoVDI) && cerr == nil {
		cerr = wrap(err, "remove the temporary snapshot of clone %s", v.ID)
	}
	return driver.Data{}, wrap(cerr, "clone volume %s to %s", src.ID, v.ID)
}

// ExtendVolume grows the VDI to newSizeGiB (sheep grows only; a VDI that size already is
// fine).
func (d *Driver) ExtendVolume(ctx context.Context, v driver.Volume, newSizeGiB int) error {
	return wrap(d.ensureSize(ctx, name(v), newSizeGiB), "extend volume %s", v.ID)
}

// RevertToSnapshot rolls the volume back to snapshot s as dog's vdi rollback does: the working
// VDI is deleted and made again as a clone of the snapshot, then grown back to the volume's
// size. Repeated after a crash between the two, it finds the working VDI gone and clones.
func (d *Driver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	n, tag := name(v), snapshotTag(s)
	defer d.lockVDI(n)()
	if _, err := d.Client.Lookup(ctx, n, tag); err != nil {
		return wrap(err, "revert volume %s to snapshot %s", v.ID, s.ID)
	}
	if err := d.Client.Delete(ctx, n, ""); err != nil && !errors.Is(err, sheep.ErrNoVDI) {
		return wrap(err, "revert volume %s: delete the working VDI", v.ID)
	}
	return wrap(d.clone(ctx, n, tag, n, v.SizeGiB), "revert volume %s to snapshot %s", v.ID, s.ID)
}

// BackingStore is where tgtd reads the volume: tgt's sheepdog store, over the sheep protocol.
func (d *Driver) BackingStore(v driver.Volume) driver.BackingStore {
	return driver.BackingStore{Type: "sheepdog", Path: fmt.Sprintf("tcp:%s:%d:%s", d.Address, d.Port, name(v))}
}

// ListObjects lists the VDIs Scoria names: working VDIs volume-<id>, their snapshots
// volume-<id>@snapshot-<sid>, and temporary clone snapshots (of the clone's row).
func (d *Driver) ListObjects(ctx context.Context) ([]driver.Object, error) {
	vdis, err := d.Client.List(ctx)
	if err != nil {
		return nil, wrap(err, "list VDIs")
	}
	var out []driver.Object
	for _, v := range vdis {
		id, ok := strings.CutPrefix(v.Name, "volume-")
		if !ok || len(id) != 36 {
			continue
		}
		o := driver.Object{Name: v.Name, Kind: driver.KindVolume, ID: id, Size: int64(v.Size), Changed: v.Created}
		switch {
		case !v.Snapshot:
		case strings.HasPrefix(v.Tag, "snapshot-"):
			o.Name, o.Kind, o.ID = v.Name+"@"+v.Tag, driver.KindSnapshot, strings.TrimPrefix(v.Tag, "snapshot-")
		case strings.HasPrefix(v.Tag, "tmp-snap-"+v.Name+"-"):
			o.Name, o.ID, o.Temporary = v.Name+"@"+v.Tag, strings.TrimPrefix(v.Tag, "tmp-snap-"+v.Name+"-"), true
		default:
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// DeleteObject removes o: a working VDI or one of its snapshots.
func (d *Driver) DeleteObject(ctx context.Context, o driver.Object) error {
	n, tag, _ := strings.Cut(o.Name, "@")
	err := d.Client.Delete(ctx, n, tag)
	if errors.Is(err, sheep.ErrNoVDI) || errors.Is(err, sheep.ErrNoTag) {
		return nil
	}
	return wrap(err, "delete %s", o.Name)
}
