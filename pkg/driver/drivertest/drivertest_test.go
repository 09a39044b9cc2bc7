package drivertest_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// memDriver is a complete driver in memory that, like an array driver, finds its objects
// only through the data its creates returned: a suite that did not hand Data back would fail
// it. Volumes are sparse: 4 KiB blocks by offset.
type memDriver struct {
	mu    sync.Mutex
	next  int
	vols  map[string]*memVol // by location
	snaps map[string]*memVol
}

type memVol struct {
	size   int64
	blocks map[int64][]byte
}

func (m *memVol) copyTo(size int64) *memVol {
	return &memVol{size: max(size, m.size), blocks: maps.Clone(m.blocks)}
}

var (
	_ driver.Snapshotter      = (*memDriver)(nil)
	_ driver.SnapshotRestorer = (*memDriver)(nil)
	_ driver.Cloner           = (*memDriver)(nil)
	_ driver.Extender         = (*memDriver)(nil)
	_ driver.Reverter         = (*memDriver)(nil)
	_ driver.Attacher         = (*memDriver)(nil)
)

// byName finds what a redelivered create made, from the name alone, as a real backend lists
// its objects.
func (d *memDriver) byName(objs map[string]*memVol, name string) (driver.Data, bool) {
	for loc := range objs {
		if len(loc) > len(name) && loc[len(loc)-len(name):] == name {
			return driver.Data{Location: loc, ID: name}, true
		}
	}
	return driver.Data{}, false
}

func (d *memDriver) put(objs map[string]*memVol, name string, o *memVol) driver.Data {
	if data, ok := d.byName(objs, name); ok {
		return data
	}
	d.next++
	loc := fmt.Sprintf("lun%d/%s", d.next, name)
	objs[loc] = o
	return driver.Data{Location: loc, ID: name}
}

func (d *memDriver) vol(v driver.Volume) (*memVol, error) {
	if o, ok := d.vols[v.Data.Location]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("volume %s at %q: %w", v.ID, v.Data.Location, driver.ErrNotFound)
}

func (d *memDriver) snap(s driver.Snapshot) (*memVol, error) {
	if o, ok := d.snaps[s.Data.Location]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("snapshot %s at %q: %w", s.ID, s.Data.Location, driver.ErrNotFound)
}

func (d *memDriver) Setup(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vols == nil {
		d.vols, d.snaps = map[string]*memVol{}, map[string]*memVol{}
	}
	return nil
}

func (d *memDriver) Create(_ context.Context, v driver.Volume) (driver.Data, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.put(d.vols, v.Name, &memVol{size: int64(v.SizeGiB) * driver.GiB, blocks: map[int64][]byte{}}), nil
}

func (d *memDriver) Delete(_ context.Context, v driver.Volume) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.vols, v.Data.Location)
	return nil
}

func (d *memDriver) Exists(_ context.Context, v driver.Volume) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.vols[v.Data.Location]
	return ok, nil
}

func (d *memDriver) Stats(context.Context) (driver.Stats, error) {
	return driver.Stats{VolumeBackendName: "mem", VendorName: "Test", DriverVersion: "1.0", StorageProtocol: "iSCSI",
		Pools: []driver.Pool{{Name: "mem", TotalCapacityGB: driver.Infinite, FreeCapacityGB: driver.Infinite,
			MaxOverSubscriptionRatio: "1.0", ThinProvisioningSupport: true}}}, nil
}

func (d *memDriver) CreateSnapshot(_ context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, err := d.vol(v)
	if err != nil {
		return driver.Data{}, err
	}
	return d.put(d.snaps, s.Name, o.copyTo(0)), nil
}

func (d *memDriver) DeleteSnapshot(_ context.Context, s driver.Snapshot, _ driver.Volume) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.snaps, s.Data.Location)
	return nil
}

func (d *memDriver) SnapshotExists(_ context.Context, s driver.Snapshot) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.snaps[s.Data.Location]
	return ok, nil
}

func (d *memDriver) CreateVolumeFromSnapshot(_ context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, err := d.snap(s)
	if err != nil {
		return driver.Data{}, err
	}
	return d.put(d.vols, v.Name, o.copyTo(int64(v.SizeGiB)*driver.GiB)), nil
}

func (d *memDriver) CreateClonedVolume(_ context.Context, v, src driver.Volume) (driver.Data, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, err := d.vol(src)
	if err != nil {
		return driver.Data{}, err
	}
	return d.put(d.vols, v.Name, o.copyTo(int64(v.SizeGiB)*driver.GiB)), nil
}

func (d *memDriver) ExtendVolume(_ context.Context, v driver.Volume, gib int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, err := d.vol(v)
	if err != nil {
		return err
	}
	o.size = max(o.size, int64(gib)*driver.GiB)
	return nil
}

func (d *memDriver) RevertToSnapshot(_ context.Context, v driver.Volume, s driver.Snapshot) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, err := d.vol(v)
	if err != nil {
		return err
	}
	sn, err := d.snap(s)
	if err != nil {
		return err
	}
	o.blocks = maps.Clone(sn.blocks)
	return nil
}

func (d *memDriver) InitializeConnection(_ context.Context, v driver.Volume, _ driver.Connector) (driver.ConnectionInfo, error) {
	return driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{
		"target_portal": "127.0.0.1:3260", "target_iqn": "iqn.2010-10.org.openstack:" + v.Data.ID,
		"target_lun": 1, "volume_id": v.ID, "auth_method": "CHAP"}}, nil
}

func (d *memDriver) TerminateConnection(context.Context, driver.Volume, driver.Connector) error {
	return nil
}

// probe reads the memory behind the driver's back.
func (d *memDriver) probe() drivertest.Probe {
	get := func(v driver.Volume) (*memVol, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		data, ok := d.byName(d.vols, v.Name)
		if !ok {
			return nil, fmt.Errorf("no volume %s", v.Name)
		}
		return d.vols[data.Location], nil
	}
	return drivertest.Probe{
		Size: func(_ context.Context, v driver.Volume) (int64, error) {
			o, err := get(v)
			if err != nil {
				return 0, err
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			return o.size, nil
		},
		ReadAt: func(_ context.Context, v driver.Volume, p []byte, off int64) error {
			o, err := get(v)
			if err != nil {
				return err
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			clear(p)
			copy(p, o.blocks[off])
			return nil
		},
		WriteAt: func(_ context.Context, v driver.Volume, p []byte, off int64) error {
			o, err := get(v)
			if err != nil {
				return err
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			o.blocks[off] = append([]byte(nil), p...)
			return nil
		},
	}
}

// TestMemDriver runs the suite on memDriver: the suite itself works, hands every create's
// data back, and accepts an infinite pool and iSCSI connection info.
func TestMemDriver(t *testing.T) {
	d := &memDriver{}
	drivertest.Run(t, drivertest.Suite{
		New:      func(*testing.T) driver.Driver { return d },
		Probe:    d.probe(),
		Protocol: "iscsi",
		Capacity: drivertest.CapacityInfinite,
		Workers:  16,
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.vols) != 0 || len(d.snaps) != 0 {
		t.Errorf("the suite left %d volumes and %d snapshots", len(d.vols), len(d.snaps))
	}
}
