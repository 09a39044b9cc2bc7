package volume

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// driverVolume is v's storage identity as a driver sees it (id, name, size, pool), without
// what the manager reads from the store: for tests that make storage behind its back.
func driverVolume(v *resource.Volume) driver.Volume {
	return driver.Volume{ID: v.ID, Name: driver.StorageName(v.ID), SizeGiB: v.Size, Pool: rpcapi.PoolName(v.Host)}
}

// dataDriver is the real local-file driver that returns its own data from every create, as
// an NFS or array driver does, and records what each call was told: a driver that cannot
// find its objects again without that data.
type dataDriver struct {
	*localfile.Driver
	gen  string // marks the data of this driver's run, to tell a re-run's data from an earlier one
	long bool   // returns a location too long for the provider columns

	mu    sync.Mutex
	calls []dataCall
}

// dataCall is one driver call and what it was told.
type dataCall struct {
	method string
	v, src driver.Volume // src: a clone's source
	s      driver.Snapshot
}

// dataOf is the data a dataDriver of generation gen returns for object id.
func dataOf(gen, id string) driver.Data {
	return driver.Data{Location: "share1:/export/" + id, Auth: "CHAP user-" + gen + " secret", ID: "lun-" + gen + "-" + id}
}

func providerOf(gen, id string) resource.ProviderData {
	d := dataOf(gen, id)
	return resource.ProviderData{Location: d.Location, Auth: d.Auth, ID: d.ID}
}

func (d *dataDriver) record(c dataCall) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, c)
}

func (d *dataDriver) data(id string) driver.Data {
	out := dataOf(d.gen, id)
	if d.long {
		out.Location = strings.Repeat("x", 256)
	}
	return out
}

// last is the last call of method.
func (d *dataDriver) last(t *testing.T, method string) dataCall {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.calls) - 1; i >= 0; i-- {
		if d.calls[i].method == method {
			return d.calls[i]
		}
	}
	t.Fatalf("no %s call (calls: %v)", method, d.calls)
	return dataCall{}
}

func (d *dataDriver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	d.record(dataCall{method: "Create", v: v})
	if _, err := d.Driver.Create(ctx, v); err != nil {
		return driver.Data{}, err
	}
	return d.data(v.ID), nil
}

func (d *dataDriver) Delete(ctx context.Context, v driver.Volume) error {
	d.record(dataCall{method: "Delete", v: v})
	return d.Driver.Delete(ctx, v)
}

func (d *dataDriver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	d.record(dataCall{method: "CreateSnapshot", v: v, s: s})
	if _, err := d.Driver.CreateSnapshot(ctx, s, v); err != nil {
		return driver.Data{}, err
	}
	return d.data(s.ID), nil
}

func (d *dataDriver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	d.record(dataCall{method: "DeleteSnapshot", v: v, s: s})
	return d.Driver.DeleteSnapshot(ctx, s, v)
}

func (d *dataDriver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	d.record(dataCall{method: "CreateVolumeFromSnapshot", v: v, s: s})
	if _, err := d.Driver.CreateVolumeFromSnapshot(ctx, v, s); err != nil {
		return driver.Data{}, err
	}
	return d.data(v.ID), nil
}

func (d *dataDriver) CreateClonedVolume(ctx context.Context, v, src driver.Volume) (driver.Data, error) {
	d.record(dataCall{method: "CreateClonedVolume", v: v, src: src})
	if _, err := d.Driver.CreateClonedVolume(ctx, v, src); err != nil {
		return driver.Data{}, err
	}
	return d.data(v.ID), nil
}

func (d *dataDriver) ExtendVolume(ctx context.Context, v driver.Volume, size int) error {
	d.record(dataCall{method: "ExtendVolume", v: v})
	return d.Driver.ExtendVolume(ctx, v, size)
}

func (d *dataDriver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	d.record(dataCall{method: "RevertToSnapshot", v: v, s: s})
	return d.Driver.RevertToSnapshot(ctx, v, s)
}

func (d *dataDriver) DevicePath(v driver.Volume) string {
	d.record(dataCall{method: "DevicePath", v: v})
	return d.Driver.DevicePath(v)
}

// withDataDriver makes the manager's driver a dataDriver of generation gen.
func (f *fixture) withDataDriver(gen string) *dataDriver {
	dd := &dataDriver{Driver: f.drv, gen: gen}
	f.m.Driver = dd
	return dd
}

func (f *fixture) volumeProvider(id string) resource.ProviderData {
	f.t.Helper()
	v, err := f.store.GetVolume(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Provider
}

func (f *fixture) snapshotProvider(id string) resource.ProviderData {
	f.t.Helper()
	sn, err := f.store.GetSnapshot(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return sn.Provider
}

// typed makes a volume type with specs and returns its id.
func (f *fixture) typed(specs map[string]string) string {
	f.t.Helper()
	id := uuid.NewString()
	if err := f.store.CreateVolumeType(context.Background(), &resource.VolumeType{ID: id, Name: "t-" + id[:8], IsPublic: true, ExtraSpecs: specs}); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// TestDriverDataRoundTrip follows one volume through its life with a driver that returns
// data: every create's data is kept with the row, and every later call gets it back, with
// the type's extra specs (as they are at the call) and the volume's metadata.
func TestDriverDataRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dd := f.withDataDriver("1")
	typeID := f.typed(map[string]string{"tier": "gold"})
	md := map[string]string{"app": "db"}
	v := f.row(1, func(v *resource.Volume) { v.Status, v.VolumeTypeID, v.Metadata = resource.StatusCreating, typeID, md })
	sn := &resource.Snapshot{ID: uuid.NewString(), ProjectID: "p", UserID: "u", VolumeID: v.ID} // its id is known before it is made
	var fromSnap, clone *resource.Volume
	gold, platinum := map[string]string{"tier": "gold"}, map[string]string{"tier": "platinum"}

	steps := []struct {
		name   string
		do     func() error
		method string // the driver call to check
		// want* are what the call was told: the volume's data, extra specs and metadata,
		// the snapshot's data, the source's data.
		wantV     driver.Data
		wantSpecs map[string]string
		wantMD    map[string]string
		wantS     driver.Data
		wantSrc   driver.Data
		// kept is the row whose provider data is then checked against providerOf("1", id).
		kept func() (id string, got resource.ProviderData)
	}{
		{name: "create keeps the data", method: "Create", wantSpecs: gold, wantMD: md,
			do:   func() error { return f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1}) },
			kept: func() (string, resource.ProviderData) { return v.ID, f.volumeProvider(v.ID) }},
		{name: "connection", method: "DevicePath", wantV: dataOf("1", v.ID), wantSpecs: gold, wantMD: md,
			do: func() error {
				_, err := f.m.InitializeConnection(ctx, rpcapi.ConnectionArgs{VolumeID: v.ID, Connector: driver.Connector{"host": "h"}})
				return err
			}},
		{name: "snapshot create keeps the snapshot's data", method: "CreateSnapshot", wantV: dataOf("1", v.ID), wantSpecs: gold, wantMD: md,
			do: func() error {
				if _, err := f.store.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
					return err
				}
				return f.m.CreateSnapshot(ctx, sn.ID)
			},
			kept: func() (string, resource.ProviderData) { return sn.ID, f.snapshotProvider(sn.ID) }},
		{name: "extend", method: "ExtendVolume", wantV: dataOf("1", v.ID), wantSpecs: gold, wantMD: md,
			do: func() error {
				if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusExtending}); err != nil {
					return err
				}
				return f.m.ExtendVolume(ctx, rpcapi.ExtendVolumeArgs{VolumeID: v.ID, NewSize: 2})
			}},
		{name: "revert, after the type's specs changed: read afresh", method: "RevertToSnapshot",
			wantV: dataOf("1", v.ID), wantSpecs: platinum, wantMD: md, wantS: dataOf("1", sn.ID),
			do: func() error {
				if err := f.store.SetVolumeTypeExtraSpecs(ctx, typeID, platinum); err != nil {
					return err
				}
				if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusReverting}); err != nil {
					return err
				}
				if _, err := f.store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}, resource.SnapshotRestoring, nil); err != nil {
					return err
				}
				return f.m.RevertToSnapshot(ctx, rpcapi.RevertArgs{VolumeID: v.ID, SnapshotID: sn.ID})
			}},
		{name: "volume from the snapshot, without a type: no extra specs", method: "CreateVolumeFromSnapshot",
			wantMD: map[string]string{}, wantS: dataOf("1", sn.ID),
			do: func() error {
				fromSnap = f.row(2, func(nv *resource.Volume) { nv.Status, nv.SnapshotID = resource.StatusCreating, sn.ID })
				return f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: fromSnap.ID, Size: 2})
			},
			kept: func() (string, resource.ProviderData) { return fromSnap.ID, f.volumeProvider(fromSnap.ID) }},
		{name: "clone: the source's data", method: "CreateClonedVolume", wantSpecs: platinum, wantMD: map[string]string{},
			wantSrc: dataOf("1", v.ID),
			do: func() error {
				clone = f.row(2, func(nv *resource.Volume) {
					nv.Status, nv.SourceVolID, nv.VolumeTypeID = resource.StatusCreating, v.ID, typeID
				})
				return f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: clone.ID, Size: 2})
			},
			kept: func() (string, resource.ProviderData) { return clone.ID, f.volumeProvider(clone.ID) }},
		{name: "snapshot delete", method: "DeleteSnapshot", wantV: dataOf("1", v.ID), wantSpecs: platinum, wantMD: md, wantS: dataOf("1", sn.ID),
			do: func() error {
				if _, err := f.store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}, resource.SnapshotDeleting, nil); err != nil {
					return err
				}
				return f.m.DeleteSnapshot(ctx, sn.ID)
			}},
		{name: "delete", method: "Delete", wantV: dataOf("1", v.ID), wantSpecs: platinum, wantMD: md,
			do: func() error {
				if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
					return err
				}
				return f.m.DeleteVolume(ctx, v.ID)
			}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			c := dd.last(t, st.method)
			if c.v.Data != st.wantV {
				t.Errorf("volume data %+v, want %+v", c.v.Data, st.wantV)
			}
			if !maps.Equal(c.v.ExtraSpecs, st.wantSpecs) || (st.wantSpecs == nil) != (c.v.ExtraSpecs == nil) {
				t.Errorf("extra specs %v, want %v", c.v.ExtraSpecs, st.wantSpecs)
			}
			if !maps.Equal(c.v.Metadata, st.wantMD) {
				t.Errorf("metadata %v, want %v", c.v.Metadata, st.wantMD)
			}
			if c.s.Data != st.wantS {
				t.Errorf("snapshot data %+v, want %+v", c.s.Data, st.wantS)
			}
			if c.src.Data != st.wantSrc {
				t.Errorf("source data %+v, want %+v", c.src.Data, st.wantSrc)
			}
			if st.kept != nil {
				if id, got := st.kept(); got != providerOf("1", id) {
					t.Errorf("kept %+v, want %+v", got, providerOf("1", id))
				}
			}
		})
	}
	if got := f.status(v.ID); got != "gone" {
		t.Errorf("volume %s at the end, want gone", got)
	}
}

// TestGroupMembersKeepDriverData: the members of a group snapshot taken one by one and the
// members of a group made from a source keep what the driver returned for each.
func TestGroupMembersKeepDriverData(t *testing.T) {
	t.Run("group snapshot, member by member", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		dd := f.withDataDriver("1")
		group, _ := f.groupOf(nil, 1, 1)
		gs, snaps := f.startGroupSnapshot(group)
		if err := f.m.CreateGroupSnapshot(ctx, gs.ID); err != nil {
			t.Fatal(err)
		}
		for _, sn := range snaps {
			if got := f.snapshotProvider(sn.ID); got != providerOf("1", sn.ID) {
				t.Errorf("member %s kept %+v", sn.ID, got)
			}
		}
		if _, err := f.store.StartGroupSnapshotDelete(ctx, gs.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.m.DeleteGroupSnapshot(ctx, gs.ID); err != nil {
			t.Fatal(err)
		}
		if c := dd.last(t, "DeleteSnapshot"); c.s.Data != dataOf("1", c.s.ID) {
			t.Errorf("delete told %+v", c.s.Data)
		}
	})
	t.Run("group from a source", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		src := f.made(1)
		f.withDataDriver("1")
		m := member(src.ID)
		g := f.group(resource.GroupStatusCreating, host+"#file", m)
		if err := f.m.CreateGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.status(m.ID); got != resource.StatusAvailable {
			t.Fatalf("member %s", got)
		}
		if got := f.volumeProvider(m.ID); got != providerOf("1", m.ID) {
			t.Errorf("member kept %+v", got)
		}
	})
}

// TestDriverDataTooLong: data the provider columns cannot hold fails the create, as a driver
// failure, rather than being cut.
func TestDriverDataTooLong(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dd := f.withDataDriver("1")
	v := f.made(1)
	sn := &resource.Snapshot{ProjectID: "p", UserID: "u", VolumeID: v.ID}
	if _, err := f.store.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
		t.Fatal(err)
	}
	dd.long = true
	if err := f.m.CreateSnapshot(ctx, sn.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.snapStatus(sn.ID); got != resource.SnapshotError {
		t.Errorf("snapshot %s, want error", got)
	}
	if got := f.snapshotProvider(sn.ID); !got.IsZero() {
		t.Errorf("kept %+v", got)
	}
}

// crashingStore is the store of a service that dies after the driver made a volume's storage
// and before the update that makes it available: that update never happens.
type crashingStore struct{ Store }

var errCrashed = errors.New("the service died")

func (s crashingStore) TransitionVolume(ctx context.Context, id string, from []string, ch resource.VolumeChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if ch.Status == resource.StatusAvailable {
		return nil, errCrashed
	}
	return s.Store.TransitionVolume(ctx, id, from, ch, msgs...)
}

// TestCrashBeforeCreateFinishes: the driver made the storage and returned its data, and the
// service died before the finishing update. The create runs again — at the service's start,
// or when the unacknowledged message comes back — and the data the driver returns then is
// kept with the available volume.
func TestCrashBeforeCreateFinishes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		again func(m *Manager, id string) error
	}{
		{"recovery at start", func(m *Manager, _ string) error { return m.Recover(context.Background()) }},
		{"the message redelivered", func(m *Manager, id string) error {
			return m.CreateVolume(context.Background(), rpcapi.CreateVolumeArgs{VolumeID: id, Size: 1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.withDataDriver("1")
			f.m.Store = crashingStore{f.store}
			v := f.volume(resource.StatusCreating, pool, 1)
			if err := f.m.CreateVolume(context.Background(), rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1}); !errors.Is(err, errCrashed) {
				t.Fatalf("first run: %v, want the crash", err)
			}
			if f.status(v.ID) != resource.StatusCreating || f.fileSize(v.ID) != driver.GiB || !f.volumeProvider(v.ID).IsZero() {
				t.Fatalf("after the crash: %s, file %d, data %+v; want creating, the storage, no data",
					f.status(v.ID), f.fileSize(v.ID), f.volumeProvider(v.ID))
			}
			// The restarted service: the same storage and database, a driver whose data
			// differs from the first run's.
			restarted := &Manager{Host: host, Zone: "nova", Store: f.store, Transport: f.bus, Log: f.m.Log}
			dd := &dataDriver{Driver: f.drv, gen: "2"}
			restarted.Driver = dd
			if err := tc.again(restarted, v.ID); err != nil {
				t.Fatal(err)
			}
			dd.last(t, "Create") // the create ran again
			if got := f.status(v.ID); got != resource.StatusAvailable {
				t.Errorf("status %s, want available", got)
			}
			if got := f.volumeProvider(v.ID); got != providerOf("2", v.ID) {
				t.Errorf("kept %+v, want the re-run's %+v", got, providerOf("2", v.ID))
			}
		})
	}
}
