package volume

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

const pool = host + "#file"

// faultInjectingDriver is the real local-file driver whose optional operations named in fail
// fail on purpose, before touching anything: a backend that refuses.
type faultInjectingDriver struct {
	*localfile.Driver
	fail map[string]bool
}

var errInjected = errors.New("injected backend failure")

func (d *faultInjectingDriver) err(method string) error {
	if d.fail[method] {
		return errInjected
	}
	return nil
}

func (d *faultInjectingDriver) CreateSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) (driver.Data, error) {
	if err := d.err("CreateSnapshot"); err != nil {
		return driver.Data{}, err
	}
	return d.Driver.CreateSnapshot(ctx, s, v)
}

func (d *faultInjectingDriver) DeleteSnapshot(ctx context.Context, s driver.Snapshot, v driver.Volume) error {
	if err := d.err("DeleteSnapshot"); err != nil {
		return err
	}
	return d.Driver.DeleteSnapshot(ctx, s, v)
}

func (d *faultInjectingDriver) CreateVolumeFromSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) (driver.Data, error) {
	if err := d.err("CreateVolumeFromSnapshot"); err != nil {
		return driver.Data{}, err
	}
	return d.Driver.CreateVolumeFromSnapshot(ctx, v, s)
}

func (d *faultInjectingDriver) CreateClonedVolume(ctx context.Context, v, src driver.Volume) (driver.Data, error) {
	if err := d.err("CreateClonedVolume"); err != nil {
		return driver.Data{}, err
	}
	return d.Driver.CreateClonedVolume(ctx, v, src)
}

func (d *faultInjectingDriver) ExtendVolume(ctx context.Context, v driver.Volume, size int) error {
	if err := d.err("ExtendVolume"); err != nil {
		return err
	}
	return d.Driver.ExtendVolume(ctx, v, size)
}

func (d *faultInjectingDriver) RevertToSnapshot(ctx context.Context, v driver.Volume, s driver.Snapshot) error {
	if err := d.err("RevertToSnapshot"); err != nil {
		return err
	}
	return d.Driver.RevertToSnapshot(ctx, v, s)
}

// bareDriver is the real local-file driver with its optional capabilities hidden: a backend
// that has none.
type bareDriver struct{ driver.Driver }

// failing makes the manager's driver fail the named operations.
func (f *fixture) failing(methods ...string) {
	fd := &faultInjectingDriver{Driver: f.drv, fail: map[string]bool{}}
	for _, m := range methods {
		fd.fail[m] = true
	}
	f.m.Driver = fd
}

// row inserts a volume of project p on pool, available and detached unless change says
// otherwise.
func (f *fixture) row(size int, change ...func(*resource.Volume)) *resource.Volume {
	f.t.Helper()
	v := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: size, Status: resource.StatusAvailable,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: pool, Metadata: map[string]string{}}
	for _, c := range change {
		c(v)
	}
	if _, err := f.store.CreateVolume(context.Background(), v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

// made inserts an available volume with its file, holding data.
func (f *fixture) made(size int, change ...func(*resource.Volume)) *resource.Volume {
	f.t.Helper()
	v := f.row(size, change...)
	if _, err := f.drv.Create(context.Background(), driverVolume(v)); err != nil {
		f.t.Fatal(err)
	}
	f.write(v.ID, "old data")
	return v
}

func (f *fixture) write(volumeID, data string) {
	f.t.Helper()
	file, err := os.OpenFile(filepath.Join(f.drv.Dir, driver.StorageName(volumeID)), os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteAt([]byte(data), 0); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(volumeID string, n int) string {
	f.t.Helper()
	file, err := os.Open(filepath.Join(f.drv.Dir, driver.StorageName(volumeID)))
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	b := make([]byte, n)
	if _, err := file.ReadAt(b, 0); err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// snapshot inserts a snapshot of v in status (its file made when withFile).
func (f *fixture) snapshot(v *resource.Volume, status string, withFile bool) *resource.Snapshot {
	f.t.Helper()
	ctx := context.Background()
	sn := &resource.Snapshot{ProjectID: v.ProjectID, UserID: "u", VolumeID: v.ID, Status: status}
	if _, err := f.store.CreateSnapshot(ctx, sn, []string{v.Status}); err != nil {
		f.t.Fatal(err)
	}
	if withFile {
		if _, err := f.drv.CreateSnapshot(ctx, driverSnapshot(sn), driverVolume(v)); err != nil {
			f.t.Fatal(err)
		}
	}
	return sn
}

func (f *fixture) snapStatus(id string) string {
	f.t.Helper()
	sn, err := f.store.GetSnapshot(context.Background(), id)
	if errors.Is(err, resource.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return sn.Status
}

func (f *fixture) snapFile(id string) bool {
	_, err := os.Stat(filepath.Join(f.drv.Dir, driver.SnapshotStorageName(id)))
	return err == nil
}

func (f *fixture) size(id string) int {
	f.t.Helper()
	v, err := f.store.GetVolume(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Size
}

// events returns the event ids of the user messages about resource id.
func (f *fixture) events(id string) []string {
	f.t.Helper()
	ms, err := f.store.ListMessages(context.Background(), resource.MessageFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.ResourceUUID == id {
			out = append(out, m.EventID)
		}
	}
	return out
}

// exec runs a statement on the store's database directly: what another service's store
// methods (the API's) do, that this branch does not have.
func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	d, err := sql.Open("sqlite", f.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		f.t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(query, args...); err != nil {
		f.t.Fatal(err)
	}
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("user messages = %v, want %v", got, want)
	}
}

func TestCreateSnapshotHandler(t *testing.T) {
	tests := []struct {
		name       string
		status     string
		host       string
		setup      func(f *fixture)
		wantStatus string
		wantFile   bool
		wantEvents []string
	}{
		{name: "created", status: resource.SnapshotCreating, wantStatus: resource.SnapshotAvailable, wantFile: true},
		{name: "driver failure", status: resource.SnapshotCreating, setup: func(f *fixture) { f.failing("CreateSnapshot") },
			wantStatus: resource.SnapshotError, wantEvents: []string{"VOLUME_VOLUME_SNAPSHOT_009_013"}},
		{name: "backend without snapshots", status: resource.SnapshotCreating, setup: func(f *fixture) { f.m.Driver = bareDriver{f.drv} },
			wantStatus: resource.SnapshotError, wantEvents: []string{"VOLUME_VOLUME_SNAPSHOT_009_001"}},
		{name: "not creating: dropped", status: resource.SnapshotError, wantStatus: resource.SnapshotError},
		{name: "another backend's: dropped", status: resource.SnapshotCreating, host: "node2@file#file", wantStatus: resource.SnapshotCreating},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			v := f.made(1, func(v *resource.Volume) {
				if tc.host != "" {
					v.Host = tc.host
				}
			})
			sn := f.snapshot(v, tc.status, false)
			if tc.setup != nil {
				tc.setup(f)
			}
			for i := 0; i < 2; i++ { // the second delivery is a duplicate
				if err := f.m.CreateSnapshot(ctx, sn.ID); err != nil {
					t.Fatalf("CreateSnapshot #%d: %v", i+1, err)
				}
			}
			if got := f.snapStatus(sn.ID); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			if got := f.snapFile(sn.ID); got != tc.wantFile {
				t.Errorf("snapshot file exists = %v, want %v", got, tc.wantFile)
			}
			if tc.wantStatus == resource.SnapshotAvailable {
				if got, _ := f.store.GetSnapshot(ctx, sn.ID); got.Progress != "100%" {
					t.Errorf("progress = %q, want 100%%", got.Progress)
				}
			}
			wantEvents(t, f.events(sn.ID), tc.wantEvents...)
		})
	}
	t.Run("unknown snapshot: dropped", func(t *testing.T) {
		if err := newFixture(t).m.CreateSnapshot(context.Background(), uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteSnapshotHandler(t *testing.T) {
	tests := []struct {
		name       string
		status     string
		fail       bool
		wantStatus string
		wantFile   bool
		wantEvents []string
	}{
		{name: "deleted", status: resource.SnapshotDeleting, wantStatus: "gone"},
		{name: "driver failure", status: resource.SnapshotDeleting, fail: true, wantStatus: resource.SnapshotErrorDeleting,
			wantFile: true, wantEvents: []string{"VOLUME_VOLUME_SNAPSHOT_010_016"}},
		{name: "not deleting: dropped", status: resource.SnapshotAvailable, wantStatus: resource.SnapshotAvailable, wantFile: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			sn := f.snapshot(f.made(1), tc.status, true)
			if tc.fail {
				f.failing("DeleteSnapshot")
			}
			for i := 0; i < 2; i++ {
				if err := f.m.DeleteSnapshot(ctx, sn.ID); err != nil {
					t.Fatalf("DeleteSnapshot #%d: %v", i+1, err)
				}
			}
			if got := f.snapStatus(sn.ID); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			if got := f.snapFile(sn.ID); got != tc.wantFile {
				t.Errorf("snapshot file exists = %v, want %v", got, tc.wantFile)
			}
			wantEvents(t, f.events(sn.ID), tc.wantEvents...)
		})
	}
}

func TestCreateVolumeFromSource(t *testing.T) {
	fromSnapshot := func(src *resource.Volume, sn *resource.Snapshot) func(*resource.Volume) {
		return func(v *resource.Volume) { v.SnapshotID = sn.ID }
	}
	clone := func(src *resource.Volume, sn *resource.Snapshot) func(*resource.Volume) {
		return func(v *resource.Volume) { v.SourceVolID = src.ID }
	}
	tests := []struct {
		name       string
		source     func(src *resource.Volume, sn *resource.Snapshot) func(*resource.Volume)
		setup      func(f *fixture, src *resource.Volume, sn *resource.Snapshot)
		wantStatus string
		wantEvents []string
	}{
		{name: "from a snapshot", source: fromSnapshot, wantStatus: resource.StatusAvailable},
		{name: "a clone", source: clone, wantStatus: resource.StatusAvailable},
		{name: "from a snapshot, driver failure", source: fromSnapshot,
			setup:      func(f *fixture, _ *resource.Volume, _ *resource.Snapshot) { f.failing("CreateVolumeFromSnapshot") },
			wantStatus: resource.StatusError, wantEvents: []string{"VOLUME_VOLUME_008_012"}},
		{name: "a clone, driver failure", source: clone,
			setup:      func(f *fixture, _ *resource.Volume, _ *resource.Snapshot) { f.failing("CreateClonedVolume") },
			wantStatus: resource.StatusError, wantEvents: []string{"VOLUME_VOLUME_008_012"}},
		{name: "snapshot gone", source: fromSnapshot,
			setup: func(f *fixture, _ *resource.Volume, sn *resource.Snapshot) {
				ctx := context.Background()
				if _, err := f.store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}, resource.SnapshotDeleting, nil); err != nil {
					t.Fatal(err)
				}
				if err := f.store.DestroySnapshot(ctx, sn.ID, []string{resource.SnapshotDeleting}); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: resource.StatusError, wantEvents: []string{"VOLUME_VOLUME_008_001"}},
		{name: "backend without clones", source: clone,
			setup:      func(f *fixture, _ *resource.Volume, _ *resource.Snapshot) { f.m.Driver = bareDriver{f.drv} },
			wantStatus: resource.StatusError, wantEvents: []string{"VOLUME_VOLUME_008_001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rescheduled := make(chan string, 4)
			go f.bus.Serve(ctx, rpc.Target{Topic: rpc.TopicScheduler, Server: "sched"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
				rescheduled <- msg.Method
				return nil, nil
			})
			src := f.made(1)
			sn := f.snapshot(src, resource.SnapshotAvailable, true)
			f.write(src.ID, "new data") // after the snapshot: a clone has it, a volume from the snapshot not
			if err := f.store.UpsertPool(ctx, resource.PoolCapacity{Name: pool, Backend: host, TotalGB: ptr(100.0), Ratio: 1, ReportedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			v := f.row(2, func(v *resource.Volume) { v.Status, v.Host = resource.StatusCreating, "" }, tc.source(src, sn))
			if _, err := f.store.ClaimPlacement(ctx, resource.Claim{VolumeID: v.ID, Pool: pool, Size: 2}); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(f, src, sn)
			}
			args := rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 2, SnapshotID: v.SnapshotID, SourceVolID: v.SourceVolID, Attempts: 1}
			for i := 0; i < 2; i++ {
				if err := f.m.CreateVolume(ctx, args); err != nil {
					t.Fatalf("CreateVolume #%d: %v", i+1, err)
				}
			}
			if got := f.status(v.ID); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			wantEvents(t, f.events(v.ID), tc.wantEvents...)
			p, err := f.store.GetPool(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantStatus == resource.StatusAvailable {
				if got := f.fileSize(v.ID); got != 2*driver.GiB {
					t.Errorf("file size = %d, want 2 GiB", got)
				}
				want := "old data"
				if v.SourceVolID != "" {
					want = "new data"
				}
				if got := f.read(v.ID, 8); got != want {
					t.Errorf("data = %q, want %q", got, want)
				}
				if p.AllocatedGB != 2 {
					t.Errorf("allocated = %d, want 2", p.AllocatedGB)
				}
			} else {
				if f.fileSize(v.ID) != -1 {
					t.Error("a failed create left a volume file")
				}
				if p.AllocatedGB != 0 {
					t.Errorf("allocated = %d after a failed create, want 0 (claim released)", p.AllocatedGB)
				}
			}
			select {
			case m := <-rescheduled:
				t.Errorf("a create from a source went back to the scheduler (%s): its source is here", m)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExtendVolumeHandler(t *testing.T) {
	tests := []struct {
		name       string
		status     string
		attached   bool
		setup      func(f *fixture)
		wantStatus string
		wantSize   int
		wantEvents []string
	}{
		{name: "detached", status: resource.StatusExtending, wantStatus: resource.StatusAvailable, wantSize: 3},
		{name: "attached", status: resource.StatusExtending, attached: true, wantStatus: resource.StatusInUse, wantSize: 3},
		{name: "driver failure", status: resource.StatusExtending, setup: func(f *fixture) { f.failing("ExtendVolume") },
			wantStatus: resource.StatusErrorExtending, wantSize: 1, wantEvents: []string{"VOLUME_VOLUME_007_010"}},
		{name: "backend without extend", status: resource.StatusExtending, setup: func(f *fixture) { f.m.Driver = bareDriver{f.drv} },
			wantStatus: resource.StatusErrorExtending, wantSize: 1, wantEvents: []string{"VOLUME_VOLUME_007_010"}},
		{name: "not extending: dropped", status: resource.StatusAvailable, wantStatus: resource.StatusAvailable, wantSize: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			v := f.made(1, func(v *resource.Volume) {
				v.Status = tc.status
				if tc.attached {
					v.AttachStatus = resource.AttachAttached
				}
			})
			if tc.setup != nil {
				tc.setup(f)
			}
			for i := 0; i < 2; i++ {
				if err := f.m.ExtendVolume(ctx, rpcapi.ExtendVolumeArgs{VolumeID: v.ID, NewSize: 3}); err != nil {
					t.Fatalf("ExtendVolume #%d: %v", i+1, err)
				}
			}
			if got := f.status(v.ID); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			if got := f.size(v.ID); got != tc.wantSize {
				t.Errorf("size = %d, want %d", got, tc.wantSize)
			}
			if got := f.fileSize(v.ID); got != int64(tc.wantSize)*driver.GiB {
				t.Errorf("file size = %d, want %d GiB", got, tc.wantSize)
			}
			if got := f.read(v.ID, 8); got != "old data" {
				t.Errorf("data = %q after the extend", got)
			}
			wantEvents(t, f.events(v.ID), tc.wantEvents...)
		})
	}
}

func TestRevertToSnapshotHandler(t *testing.T) {
	tests := []struct {
		name                 string
		volumeStatus         string
		fail                 bool
		wantVolume, wantSnap string
		wantData             string
		wantEvents           []string
	}{
		{name: "reverted", volumeStatus: resource.StatusReverting, wantVolume: resource.StatusAvailable,
			wantSnap: resource.SnapshotAvailable, wantData: "old data"},
		{name: "driver failure", volumeStatus: resource.StatusReverting, fail: true, wantVolume: resource.StatusError,
			wantSnap: resource.SnapshotAvailable, wantData: "new data", wantEvents: []string{"VOLUME_VOLUME_000_001"}},
		{name: "not reverting: dropped", volumeStatus: resource.StatusAvailable, wantVolume: resource.StatusAvailable,
			wantSnap: resource.SnapshotRestoring, wantData: "new data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			v := f.made(1)
			sn := f.snapshot(v, resource.SnapshotRestoring, true)
			f.write(v.ID, "new data")
			if tc.volumeStatus != resource.StatusAvailable {
				if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: tc.volumeStatus}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.fail {
				f.failing("RevertToSnapshot")
			}
			for i := 0; i < 2; i++ {
				if err := f.m.RevertToSnapshot(ctx, rpcapi.RevertArgs{VolumeID: v.ID, SnapshotID: sn.ID}); err != nil {
					t.Fatalf("RevertToSnapshot #%d: %v", i+1, err)
				}
			}
			if got := f.status(v.ID); got != tc.wantVolume {
				t.Errorf("volume status = %s, want %s", got, tc.wantVolume)
			}
			if got := f.snapStatus(sn.ID); got != tc.wantSnap {
				t.Errorf("snapshot status = %s, want %s", got, tc.wantSnap)
			}
			if got := f.read(v.ID, 8); got != tc.wantData {
				t.Errorf("data = %q, want %q", got, tc.wantData)
			}
			if got := f.fileSize(v.ID); got != driver.GiB {
				t.Errorf("file size = %d, want 1 GiB", got)
			}
			wantEvents(t, f.events(v.ID), tc.wantEvents...)
		})
	}
}

func TestCascadeDelete(t *testing.T) {
	tests := []struct {
		name          string
		snapStatuses  []string
		fail          bool
		wantVolume    string
		wantSnapshots []string
	}{
		{name: "volume and its snapshots", snapStatuses: []string{resource.SnapshotDeleting, resource.SnapshotDeleting},
			wantVolume: "gone", wantSnapshots: []string{"gone", "gone"}},
		{name: "a snapshot not deleting keeps the volume", snapStatuses: []string{resource.SnapshotDeleting, resource.SnapshotAvailable},
			wantVolume: resource.StatusErrorDeleting, wantSnapshots: []string{resource.SnapshotDeleting, resource.SnapshotAvailable}},
		{name: "a snapshot the backend cannot delete keeps the volume", snapStatuses: []string{resource.SnapshotDeleting}, fail: true,
			wantVolume: resource.StatusErrorDeleting, wantSnapshots: []string{resource.SnapshotErrorDeleting}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			v := f.made(1)
			var snaps []*resource.Snapshot
			for _, st := range tc.snapStatuses {
				snaps = append(snaps, f.snapshot(v, st, true))
			}
			if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
				t.Fatal(err)
			}
			if tc.fail {
				f.failing("DeleteSnapshot")
			}
			for i := 0; i < 2; i++ {
				if err := f.m.DeleteVolume(ctx, v.ID); err != nil {
					t.Fatalf("DeleteVolume #%d: %v", i+1, err)
				}
			}
			if got := f.status(v.ID); got != tc.wantVolume {
				t.Errorf("volume = %s, want %s", got, tc.wantVolume)
			}
			if has := f.fileSize(v.ID) >= 0; has != (tc.wantVolume != "gone") {
				t.Errorf("volume file exists = %v", has)
			}
			for i, sn := range snaps {
				if got := f.snapStatus(sn.ID); got != tc.wantSnapshots[i] {
					t.Errorf("snapshot %d = %s, want %s", i, got, tc.wantSnapshots[i])
				}
				if has := f.snapFile(sn.ID); has != (tc.wantSnapshots[i] != "gone") {
					t.Errorf("snapshot %d file exists = %v", i, has)
				}
			}
		})
	}
}

// TestRecoverLifecycle leaves a row in each transitional status, as a crash would, and
// checks that Recover finishes or fails each, and that none is left in flight.
func TestRecoverLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// Snapshots.
	snapVol := f.made(1)
	snapCreating := f.snapshot(snapVol, resource.SnapshotCreating, false)
	snapDeleting := f.snapshot(snapVol, resource.SnapshotDeleting, true)
	snapOrphanRestoring := f.snapshot(snapVol, resource.SnapshotRestoring, true) // its volume is not reverting
	otherVol := f.made(1, func(v *resource.Volume) { v.Host = "node2@file#file" })
	otherSnap := f.snapshot(otherVol, resource.SnapshotCreating, false)

	// Volumes from a source.
	srcVol := f.made(1)
	srcSnap := f.snapshot(srcVol, resource.SnapshotAvailable, true)
	fromSnap := f.row(2, func(v *resource.Volume) { v.Status, v.SnapshotID = resource.StatusCreating, srcSnap.ID })
	clone := f.row(1, func(v *resource.Volume) { v.Status, v.SourceVolID = resource.StatusCreating, srcVol.ID })
	// A clone half copied: the partial file is left over.
	if err := os.WriteFile(filepath.Join(f.drv.Dir, driver.StorageName(clone.ID)+".partial"), []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}

	// Extends: one whose claim records the new size (as the API's BeginExtend leaves it),
	// one already grown on the backend, one whose new size is not recorded.
	extending := f.made(1, func(v *resource.Volume) { v.Status = resource.StatusExtending })
	f.exec("UPDATE volumes SET claimed_gb = 4 WHERE id = ?", extending.ID)
	extendedOnDisk := f.made(1, func(v *resource.Volume) { v.Status, v.AttachStatus = resource.StatusExtending, resource.AttachAttached })
	f.exec("UPDATE volumes SET claimed_gb = 2 WHERE id = ?", extendedOnDisk.ID)
	if err := f.drv.ExtendVolume(ctx, driverVolume(extendedOnDisk), 2); err != nil {
		t.Fatal(err)
	}
	extendUnknown := f.made(1, func(v *resource.Volume) { v.Status = resource.StatusExtending })

	// Reverts: one with its snapshot, one whose snapshot is missing.
	reverting := f.made(1)
	revertSnap := f.snapshot(reverting, resource.SnapshotRestoring, true)
	f.write(reverting.ID, "new data")
	if _, err := f.store.TransitionVolume(ctx, reverting.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusReverting}); err != nil {
		t.Fatal(err)
	}
	revertNoSnap := f.made(1, func(v *resource.Volume) { v.Status = resource.StatusReverting })

	// A cascade delete.
	cascade := f.made(1)
	cascadeSnap := f.snapshot(cascade, resource.SnapshotDeleting, true)
	if _, err := f.store.TransitionVolume(ctx, cascade.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
		t.Fatal(err)
	}

	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Recover(ctx); err != nil { // a second restart finds nothing to do
		t.Fatal(err)
	}

	volumes := []struct {
		name       string
		v          *resource.Volume
		wantStatus string
		wantSize   int
		wantEvents []string
	}{
		{"from a snapshot is created", fromSnap, resource.StatusAvailable, 2, nil},
		{"a clone is created over its partial file", clone, resource.StatusAvailable, 1, nil},
		{"extend is finished", extending, resource.StatusAvailable, 4, nil},
		{"extend done on the backend is recorded, in-use", extendedOnDisk, resource.StatusInUse, 2, nil},
		{"extend to an unknown size fails", extendUnknown, resource.StatusErrorExtending, 1, []string{"VOLUME_VOLUME_007_010"}},
		{"revert is finished", reverting, resource.StatusAvailable, 1, nil},
		{"revert without its snapshot fails", revertNoSnap, resource.StatusError, 1, []string{"VOLUME_VOLUME_000_001"}},
		{"cascade delete is finished", cascade, "gone", 0, nil},
	}
	for _, tc := range volumes {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.status(tc.v.ID); got != tc.wantStatus {
				t.Fatalf("status = %s, want %s", got, tc.wantStatus)
			}
			if tc.wantStatus == "gone" {
				return
			}
			if got := f.size(tc.v.ID); got != tc.wantSize {
				t.Errorf("size = %d, want %d", got, tc.wantSize)
			}
			if got := f.fileSize(tc.v.ID); got != int64(tc.wantSize)*driver.GiB {
				t.Errorf("file size = %d, want %d GiB", got, tc.wantSize)
			}
			wantEvents(t, f.events(tc.v.ID), tc.wantEvents...)
		})
	}
	if got := f.read(reverting.ID, 8); got != "old data" {
		t.Errorf("reverted volume holds %q, want the snapshot's data", got)
	}
	snapshots := []struct {
		name       string
		sn         *resource.Snapshot
		wantStatus string
		wantFile   bool
	}{
		{"creating is created", snapCreating, resource.SnapshotAvailable, true},
		{"deleting is deleted", snapDeleting, "gone", false},
		{"restoring without a revert is available", snapOrphanRestoring, resource.SnapshotAvailable, true},
		{"restoring of a finished revert is available", revertSnap, resource.SnapshotAvailable, true},
		{"of a cascade delete is deleted", cascadeSnap, "gone", false},
		{"another backend's is left alone", otherSnap, resource.SnapshotCreating, false},
	}
	for _, tc := range snapshots {
		t.Run("snapshot "+tc.name, func(t *testing.T) {
			if got := f.snapStatus(tc.sn.ID); got != tc.wantStatus {
				t.Errorf("status = %s, want %s", got, tc.wantStatus)
			}
			if got := f.snapFile(tc.sn.ID); got != tc.wantFile {
				t.Errorf("file exists = %v, want %v", got, tc.wantFile)
			}
		})
	}
	// Nothing of this backend is left in a transitional status.
	transitional := []string{resource.StatusCreating, resource.StatusDeleting, resource.StatusExtending, resource.StatusReverting}
	if vols, err := f.store.ListVolumesByHost(ctx, host, transitional); err != nil || len(vols) != 0 {
		t.Errorf("volumes still in flight after Recover: %d (%v)", len(vols), err)
	}
	for _, st := range []string{resource.SnapshotCreating, resource.SnapshotDeleting, resource.SnapshotRestoring} {
		snaps, err := f.store.ListSnapshots(ctx, resource.SnapshotFilter{Status: st})
		if err != nil {
			t.Fatal(err)
		}
		for _, sn := range snaps {
			if sn.Host == pool {
				t.Errorf("snapshot %s still %s after Recover", sn.ID, st)
			}
		}
	}
}

func TestRecoverFailsWhatCannotFinish(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src := f.made(1)
	snapCreating := f.snapshot(src, resource.SnapshotCreating, false)
	clone := f.row(1, func(v *resource.Volume) { v.Status, v.SourceVolID = resource.StatusCreating, src.ID })
	extending := f.made(1, func(v *resource.Volume) { v.Status = resource.StatusExtending })
	f.exec("UPDATE volumes SET claimed_gb = 3 WHERE id = ?", extending.ID)
	f.failing("CreateSnapshot", "CreateClonedVolume", "ExtendVolume")
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.snapStatus(snapCreating.ID); got != resource.SnapshotError {
		t.Errorf("snapshot = %s, want error", got)
	}
	if got := f.status(clone.ID); got != resource.StatusError {
		t.Errorf("clone = %s, want error", got)
	}
	if got := f.status(extending.ID); got != resource.StatusErrorExtending {
		t.Errorf("extending volume = %s, want error_extending", got)
	}
	if got := f.size(extending.ID); got != 1 {
		t.Errorf("extending volume size = %d, want 1", got)
	}
}

// TestLifecycleOverTransport sends each lifecycle method through the in-process bus to a
// running manager, as the API's outbox does.
func TestLifecycleOverTransport(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.bus.Serve(ctx, rpc.Target{Topic: rpc.TopicVolume, Server: host}, f.m.Handle)
	cast := func(method string, args any) {
		t.Helper()
		if err := f.bus.Cast(ctx, rpcapi.VolumeTarget(pool), method, args); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, get func() string, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		var last string
		for time.Now().Before(deadline) {
			if last = get(); last == want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s is %s, want %s", what, last, want)
	}
	v := f.made(1)
	sn := f.snapshot(v, resource.SnapshotCreating, false)
	cast(rpcapi.CreateSnapshot, rpcapi.SnapshotArgs{SnapshotID: sn.ID, VolumeID: v.ID})
	waitFor("snapshot", func() string { return f.snapStatus(sn.ID) }, resource.SnapshotAvailable)

	if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusExtending}); err != nil {
		t.Fatal(err)
	}
	cast(rpcapi.ExtendVolume, rpcapi.ExtendVolumeArgs{VolumeID: v.ID, NewSize: 2})
	waitFor("volume", func() string { return f.status(v.ID) }, resource.StatusAvailable)
	if f.size(v.ID) != 2 {
		t.Fatalf("size = %d after extend, want 2", f.size(v.ID))
	}

	if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusReverting}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}, resource.SnapshotRestoring, nil); err != nil {
		t.Fatal(err)
	}
	cast(rpcapi.RevertToSnapshot, rpcapi.RevertArgs{VolumeID: v.ID, SnapshotID: sn.ID})
	waitFor("snapshot", func() string { return f.snapStatus(sn.ID) }, resource.SnapshotAvailable)
	waitFor("volume", func() string { return f.status(v.ID) }, resource.StatusAvailable)

	if _, err := f.store.TransitionSnapshot(ctx, sn.ID, []string{resource.SnapshotAvailable}, resource.SnapshotDeleting, nil); err != nil {
		t.Fatal(err)
	}
	cast(rpcapi.DeleteSnapshot, rpcapi.SnapshotArgs{SnapshotID: sn.ID, VolumeID: v.ID})
	waitFor("snapshot", func() string { return f.snapStatus(sn.ID) }, "gone")

	// Undecodable arguments are refused as undeliverable (the transport drops them), not
	// retried for ever.
	raw := json.RawMessage(`"not an object"`)
	if _, err := f.m.Handle(ctx, &rpc.Message{Method: rpcapi.ExtendVolume, Args: raw}); !errors.Is(err, rpc.ErrUndeliverable) {
		t.Fatalf("undecodable extend_volume: %v, want rpc.ErrUndeliverable", err)
	}
}
