package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/volume"
	"github.com/scoria/scoria/internal/volumeio"
	"github.com/scoria/scoria/pkg/driver"
)

const (
	nodeName   = "node1"
	volumeHost = nodeName + "@file"
	chunk      = 1 << 20
)

// fileBackupDouble is a TEST DOUBLE of a backup driver (not of storage): it keeps each backup
// as a sparse file (the whole volume, zero chunks left as holes) in a directory, and fails
// the methods named in fail.
type fileBackupDouble struct {
	dir string

	mu   sync.Mutex
	fail map[string]error
	// parents and chains record, by backup id, the parent each Backup was given and the
	// chain each Restore was.
	parents map[string]string
	chains  map[string][]string
}

func (d *fileBackupDouble) Service() string { return "scoria.test.FileBackupDouble" }

func (d *fileBackupDouble) failing(method string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fail[method]
}

func (d *fileBackupDouble) setFail(method string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail == nil {
		d.fail = map[string]error{}
	}
	d.fail[method] = err
}

func (d *fileBackupDouble) path(id string) string { return filepath.Join(d.dir, id) }

func (d *fileBackupDouble) Backup(ctx context.Context, b *resource.Backup, parent *resource.Backup, src volumeio.Device, progress ProgressFunc) (Result, error) {
	if err := d.failing("Backup"); err != nil {
		return Result{}, err
	}
	d.mu.Lock()
	if d.parents == nil {
		d.parents = map[string]string{}
	}
	if parent != nil {
		d.parents[b.ID] = parent.ID
	}
	d.mu.Unlock()
	f, err := os.Create(d.path(b.ID))
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	buf, zero := make([]byte, chunk), make([]byte, chunk)
	objects := 0
	for off := int64(0); off < src.Size(); off += chunk {
		n, err := src.ReadAt(buf, off)
		if err != nil && n < len(buf) && off+int64(n) < src.Size() {
			return Result{}, err
		}
		if !bytes.Equal(buf[:n], zero[:n]) {
			if _, err := f.WriteAt(buf[:n], off); err != nil {
				return Result{}, err
			}
			objects++
		}
		progress(off+int64(n), src.Size())
	}
	if err := f.Truncate(src.Size()); err != nil {
		return Result{}, err
	}
	return Result{Container: "double", ServiceMetadata: "file", ObjectCount: objects}, nil
}

func (d *fileBackupDouble) Restore(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress ProgressFunc) error {
	if err := d.failing("Restore"); err != nil {
		return err
	}
	d.mu.Lock()
	if d.chains == nil {
		d.chains = map[string][]string{}
	}
	for _, c := range chain {
		d.chains[chain[len(chain)-1].ID] = append(d.chains[chain[len(chain)-1].ID], c.ID)
	}
	d.mu.Unlock()
	f, err := os.Open(d.path(chain[len(chain)-1].ID))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	buf, old, zero := make([]byte, chunk), make([]byte, chunk), make([]byte, chunk)
	for off := int64(0); off < st.Size(); off += chunk {
		n, _ := f.ReadAt(buf, off)
		if bytes.Equal(buf[:n], zero[:n]) { // write zeros only over data
			m, _ := dst.ReadAt(old[:n], off)
			if bytes.Equal(old[:m], zero[:m]) {
				continue
			}
		}
		if _, err := dst.WriteAt(buf[:n], off); err != nil {
			return err
		}
		progress(off+int64(n), st.Size())
	}
	return nil
}

func (d *fileBackupDouble) Delete(ctx context.Context, b *resource.Backup) error {
	if err := d.failing("Delete"); err != nil {
		return err
	}
	if err := os.Remove(d.path(b.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (d *fileBackupDouble) ExportRecord(ctx context.Context, b *resource.Backup) (map[string]any, error) {
	return map[string]any{"file": b.ID}, nil
}

func (d *fileBackupDouble) ImportRecord(ctx context.Context, b *resource.Backup, info map[string]any) error {
	name, _ := info["file"].(string)
	if name != b.ID {
		return fmt.Errorf("record names file %q, not %q", name, b.ID)
	}
	_, err := os.Stat(d.path(name))
	return err
}

// localOnlyAttacher opens "local" connections (a file on this host) only: the local attach
// the volume service answers a backup service on its own host.
type localOnlyAttacher struct{}

type fileDevice struct {
	*os.File
	size int64
}

func (d fileDevice) Size() int64 { return d.size }

func (localOnlyAttacher) Open(ctx context.Context, info driver.ConnectionInfo, mode volumeio.Mode) (volumeio.Device, error) {
	path, _ := info.Data["device_path"].(string)
	if info.DriverVolumeType != "local" || path == "" {
		return nil, fmt.Errorf("%s: %w", info.DriverVolumeType, volumeio.ErrUnsupported)
	}
	flag := os.O_RDONLY
	if mode == volumeio.ReadWrite {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileDevice{File: f, size: st.Size()}, nil
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *db.Store
	vdrv  *localfile.Driver
	bdrv  *fileBackupDouble
	vm    *volume.Manager
	bm    *Manager
	bus   *rpc.Local
}

// newFixture builds a real volume service (localfile backend) and the backup service on one
// in-process bus and a SQLite database; the backup service is served only once the test
// calls serve (the others call the Manager's methods themselves).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	store, err := db.Open(ctx, "sqlite:///"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateQuotaClass(ctx, resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: -1, resource.QuotaGigabytes: -1, resource.QuotaBackups: -1, resource.QuotaBackupGigabytes: -1,
	}); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	vdrv := &localfile.Driver{Dir: filepath.Join(dir, "vols"), BackendName: "file", PoolName: "file"}
	if err := vdrv.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	bus := rpc.NewLocal(log)
	t.Cleanup(func() { bus.Close() })
	vm := &volume.Manager{Host: volumeHost, Zone: "nova", Driver: vdrv, Store: store, Transport: bus, Log: log}
	go func() { _ = bus.Serve(ctx, rpc.Target{Topic: rpc.TopicVolume, Server: volumeHost}, vm.Handle) }()
	bdir := filepath.Join(dir, "backups")
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		t.Fatal(err)
	}
	bdrv := &fileBackupDouble{dir: bdir}
	bm := &Manager{Host: nodeName, Zone: "nova", Store: store, Transport: bus, Driver: bdrv, Attacher: localOnlyAttacher{},
		MaxOperations: 2, Log: log, RetryInterval: 10 * time.Millisecond}
	return &fixture{t: t, ctx: ctx, store: store, vdrv: vdrv, bdrv: bdrv, vm: vm, bm: bm, bus: bus}
}

// serve runs the backup service (register, recover, serve) until the test ends.
func (f *fixture) serve() {
	go func() { _ = f.bm.Run(f.ctx) }()
	f.eventually("backup service registered", func() (bool, string) {
		svcs, err := f.store.ListServices(f.ctx, resource.ServiceFilter{Binary: resource.BinaryBackup})
		return err == nil && len(svcs) == 1, fmt.Sprint(len(svcs), err)
	})
}

// volume makes an available (or in-use) volume of 1 GiB on the backend with data written at
// a few offsets.
func (f *fixture) volume(status string, data map[int64][]byte) *resource.Volume {
	f.t.Helper()
	v := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusCreating,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: volumeHost + "#file", Metadata: map[string]string{}}
	if _, err := f.store.CreateVolume(f.ctx, v); err != nil {
		f.t.Fatal(err)
	}
	if err := f.vm.CreateVolume(f.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, Attempts: 1}); err != nil {
		f.t.Fatal(err)
	}
	f.write(v.ID, data)
	if status != resource.StatusAvailable {
		if _, err := f.store.TransitionVolume(f.ctx, v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: status}); err != nil {
			f.t.Fatal(err)
		}
	}
	return v
}

func (f *fixture) file(id string) string { return filepath.Join(f.vdrv.Dir, driver.StorageName(id)) }

func (f *fixture) write(id string, data map[int64][]byte) {
	f.t.Helper()
	fh, err := os.OpenFile(f.file(id), os.O_RDWR, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer fh.Close()
	for off, b := range data {
		if _, err := fh.WriteAt(b, off); err != nil {
			f.t.Fatal(err)
		}
	}
}

// sameData fails unless volume id holds, at each offset of data, exactly its bytes.
func (f *fixture) sameData(id string, data map[int64][]byte) {
	f.t.Helper()
	fh, err := os.Open(f.file(id))
	if err != nil {
		f.t.Fatal(err)
	}
	defer fh.Close()
	for off, want := range data {
		got := make([]byte, len(want))
		if _, err := fh.ReadAt(got, off); err != nil {
			f.t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			f.t.Fatalf("volume %s at %d: got %q, want %q", id, off, got[:min(len(got), 32)], want[:min(len(want), 32)])
		}
	}
}

// backup starts a backup of v as the API does (row creating, volume backing-up) on this host.
func (f *fixture) backup(v *resource.Volume, opts resource.BackupCreate) *resource.Backup {
	f.t.Helper()
	b := &resource.Backup{VolumeID: v.ID, ProjectID: "p", UserID: "u", Host: nodeName, AvailabilityZone: "nova"}
	if _, err := f.store.CreateBackup(f.ctx, b, opts); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) getBackup(id string) *resource.Backup {
	f.t.Helper()
	b, err := f.store.GetBackup(f.ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return &resource.Backup{ID: id, Status: "gone"}
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) volumeStatus(id string) string {
	f.t.Helper()
	v, err := f.store.GetVolume(f.ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Status
}

func (f *fixture) eventually(what string, cond func() (bool, string)) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, seen := cond()
		if ok {
			return
		}
		last = seen
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("%s: not reached; last saw %s", what, last)
}

// onlyVolumes fails if a volume row or file other than those of keep (and snapshots' files;
// "" in keep stands for nothing) is left on the backend.
func (f *fixture) onlyVolumes(keep ...string) {
	f.t.Helper()
	entries, err := os.ReadDir(f.vdrv.Dir)
	if err != nil {
		f.t.Fatal(err)
	}
	want := map[string]bool{}
	rows := 0
	for _, id := range keep {
		if id == "" { // a snapshot's file
			continue
		}
		rows++
		want[driver.StorageName(id)] = true
	}
	for _, e := range entries {
		if !want[e.Name()] && !strings.HasPrefix(e.Name(), "snapshot-") {
			f.t.Errorf("storage %s left on the backend", e.Name())
		}
	}
	vols, err := f.store.ListVolumesByHost(f.ctx, volumeHost, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(vols) != rows {
		f.t.Errorf("%d volume rows, want %d", len(vols), rows)
	}
}

var sample = map[int64][]byte{0: []byte("first block"), 5*chunk + 7: bytes.Repeat([]byte("x"), 3000), 1<<30 - 5: []byte("tail!")}

func TestBackupRestoreDelete(t *testing.T) {
	f := newFixture(t)
	v := f.volume(resource.StatusAvailable, sample)
	b := f.backup(v, resource.BackupCreate{})
	for i := 0; i < 2; i++ { // a redelivery changes nothing
		if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := f.getBackup(b.ID)
	if got.Status != resource.BackupAvailable || got.ObjectCount != 3 || got.Service != f.bdrv.Service() ||
		got.Container != "double" || got.ServiceMetadata != "file" || got.Progress != 100 {
		t.Fatalf("backup after create = %+v", got)
	}
	if s := f.volumeStatus(v.ID); s != resource.StatusAvailable {
		t.Fatalf("volume after backup = %s, want available", s)
	}
	// Restore over other data.
	f.write(v.ID, map[int64][]byte{0: []byte("SCRIBBLED!!"), 9 * chunk: []byte("new data")})
	if _, err := f.store.StartRestore(f.ctx, resource.BackupRestore{BackupID: b.ID, VolumeID: v.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.RestoreBackup(f.ctx, rpcapi.RestoreBackupArgs{BackupID: b.ID, VolumeID: v.ID}); err != nil {
		t.Fatal(err)
	}
	f.sameData(v.ID, sample)
	f.sameData(v.ID, map[int64][]byte{9 * chunk: make([]byte, 8)})
	if s, bs := f.volumeStatus(v.ID), f.getBackup(b.ID).Status; s != resource.StatusAvailable || bs != resource.BackupAvailable {
		t.Fatalf("after restore: volume %s, backup %s", s, bs)
	}
	// Delete.
	if _, err := f.store.StartBackupDelete(f.ctx, resource.BackupDelete{BackupID: b.ID, From: resource.BackupDeletableStatuses}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.DeleteBackup(f.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if s := f.getBackup(b.ID).Status; s != "gone" {
		t.Fatalf("backup after delete = %s", s)
	}
	if _, err := os.Stat(f.bdrv.path(b.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backup file left: %v", err)
	}
}

func TestBackupOfInUseVolumeGoesThroughTemporaryVolume(t *testing.T) {
	f := newFixture(t)
	v := f.volume(resource.StatusInUse, sample)
	b := f.backup(v, resource.BackupCreate{Force: true})
	if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	got := f.getBackup(b.ID)
	if got.Status != resource.BackupAvailable || got.TempVolumeID != "" {
		t.Fatalf("backup = %+v", got)
	}
	if s := f.volumeStatus(v.ID); s != resource.StatusInUse {
		t.Fatalf("volume after backup = %s, want in-use", s)
	}
	f.onlyVolumes(v.ID) // the temporary volume's storage and row are gone
	// The backup read the clone: restore it to a new volume and compare.
	nv := f.volume(resource.StatusAvailable, nil)
	if _, err := f.store.StartRestore(f.ctx, resource.BackupRestore{BackupID: b.ID, VolumeID: nv.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.RestoreBackup(f.ctx, rpcapi.RestoreBackupArgs{BackupID: b.ID, VolumeID: nv.ID}); err != nil {
		t.Fatal(err)
	}
	f.sameData(nv.ID, sample)
}

func TestCreateVolumeFromBackup(t *testing.T) {
	f := newFixture(t)
	f.serve()
	v := f.volume(resource.StatusAvailable, sample)
	b := f.backup(v, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	nv := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusCreating,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: volumeHost + "#file", Metadata: map[string]string{}}
	if _, err := f.store.CreateVolume(f.ctx, nv); err != nil {
		t.Fatal(err)
	}
	if err := f.vm.CreateVolume(f.ctx, rpcapi.CreateVolumeArgs{VolumeID: nv.ID, Size: 1, Attempts: 1, BackupID: b.ID}); err != nil {
		t.Fatal(err)
	}
	f.eventually("new volume available", func() (bool, string) {
		s := f.volumeStatus(nv.ID)
		return s == resource.StatusAvailable, s
	})
	f.sameData(nv.ID, sample)
	if s := f.getBackup(b.ID); s.Status != resource.BackupAvailable || s.RestoreVolumeID != nv.ID {
		t.Fatalf("backup after the restore = %s (restore volume %s)", s.Status, s.RestoreVolumeID)
	}
}

func TestCreateVolumeFromBackupWithoutBackupService(t *testing.T) {
	f := newFixture(t) // no backup service registered
	v := f.volume(resource.StatusAvailable, sample)
	b := f.backup(v, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	nv := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusCreating,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: volumeHost + "#file", Metadata: map[string]string{}}
	if _, err := f.store.CreateVolume(f.ctx, nv); err != nil {
		t.Fatal(err)
	}
	if err := f.vm.CreateVolume(f.ctx, rpcapi.CreateVolumeArgs{VolumeID: nv.ID, Size: 1, Attempts: 1, BackupID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if s := f.volumeStatus(nv.ID); s != resource.StatusError {
		t.Fatalf("volume = %s, want error", s)
	}
	if s := f.getBackup(b.ID).Status; s != resource.BackupAvailable {
		t.Fatalf("backup = %s, want available", s)
	}
	msgs, err := f.store.ListMessages(f.ctx, resource.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ResourceUUID != nv.ID {
		t.Fatalf("user messages = %+v, want one about volume %s", msgs, nv.ID)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	v := f.volume(resource.StatusAvailable, sample)
	b := f.backup(v, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	rec, err := f.bm.ExportRecord(f.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.BackupService != f.bdrv.Service() {
		t.Fatalf("backup_service = %q", rec.BackupService)
	}
	decoded, info, err := DecodeRecord(rec.BackupURL)
	if err != nil {
		t.Fatal(err)
	}
	if decoded.ID != b.ID || decoded.ObjectCount != 3 || decoded.Container != "double" || info["file"] != b.ID {
		t.Fatalf("decoded record = %+v, driver_info %v", decoded, info)
	}
	// The row goes (as in another cloud), the record brings it back.
	orig := f.getBackup(b.ID)
	if _, err := f.store.StartBackupDelete(f.ctx, resource.BackupDelete{BackupID: b.ID, From: resource.BackupDeletableStatuses}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DestroyBackup(f.ctx, b.ID, []string{resource.BackupDeleting}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ImportBackup(f.ctx, &resource.Backup{ID: b.ID, ProjectID: "p", UserID: "u", Size: decoded.Size}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.ImportRecord(f.ctx, rpcapi.ImportBackupArgs{BackupID: b.ID, BackupService: rec.BackupService, BackupURL: rec.BackupURL}); err != nil {
		t.Fatal(err)
	}
	got := f.getBackup(b.ID)
	if got.Status != resource.BackupAvailable || got.VolumeID != orig.VolumeID || got.ObjectCount != orig.ObjectCount ||
		got.Container != orig.Container || got.Service != orig.Service || got.Host != nodeName {
		t.Fatalf("imported = %+v\noriginal = %+v", got, orig)
	}
	// A record that does not match the row ends the import in error.
	other := uuid.NewString()
	if _, err := f.store.ImportBackup(f.ctx, &resource.Backup{ID: other, ProjectID: "p", UserID: "u", Size: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.ImportRecord(f.ctx, rpcapi.ImportBackupArgs{BackupID: other, BackupService: rec.BackupService, BackupURL: rec.BackupURL}); err != nil {
		t.Fatal(err)
	}
	if got := f.getBackup(other); got.Status != resource.BackupError || got.FailReason == "" {
		t.Fatalf("mismatched import = %s (%q), want error", got.Status, got.FailReason)
	}
}

func TestFailuresLeaveNoTransitionalStatus(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		method     string // the driver method failing
		inUse      bool
		wantVolume string
	}{
		{"backup driver fails", "Backup", false, resource.StatusAvailable},
		{"backup driver fails on a temporary volume", "Backup", true, resource.StatusInUse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			status, opts := resource.StatusAvailable, resource.BackupCreate{}
			if tc.inUse {
				status, opts = resource.StatusInUse, resource.BackupCreate{Force: true}
			}
			v := f.volume(status, sample)
			b := f.backup(v, opts)
			f.bdrv.setFail(tc.method, boom)
			if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			got := f.getBackup(b.ID)
			if got.Status != resource.BackupError || got.FailReason == "" || got.TempVolumeID != "" {
				t.Fatalf("backup = %s (%q, temp %q), want error", got.Status, got.FailReason, got.TempVolumeID)
			}
			if s := f.volumeStatus(v.ID); s != tc.wantVolume {
				t.Fatalf("volume = %s, want %s", s, tc.wantVolume)
			}
			f.onlyVolumes(v.ID)
		})
	}
	t.Run("device cannot be opened", func(t *testing.T) {
		f := newFixture(t)
		v := f.volume(resource.StatusAvailable, sample)
		b := f.backup(v, resource.BackupCreate{})
		f.bm.Attacher = refusingAttacher{}
		if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.getBackup(b.ID); got.Status != resource.BackupError {
			t.Fatalf("backup = %s, want error", got.Status)
		}
		if s := f.volumeStatus(v.ID); s != resource.StatusAvailable {
			t.Fatalf("volume = %s, want available", s)
		}
	})
	t.Run("restore fails", func(t *testing.T) {
		f := newFixture(t)
		v := f.volume(resource.StatusAvailable, sample)
		b := f.backup(v, resource.BackupCreate{})
		if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		f.bdrv.setFail("Restore", boom)
		if _, err := f.store.StartRestore(f.ctx, resource.BackupRestore{BackupID: b.ID, VolumeID: v.ID}); err != nil {
			t.Fatal(err)
		}
		if err := f.bm.RestoreBackup(f.ctx, rpcapi.RestoreBackupArgs{BackupID: b.ID, VolumeID: v.ID}); err != nil {
			t.Fatal(err)
		}
		if s, bs := f.volumeStatus(v.ID), f.getBackup(b.ID).Status; s != resource.StatusErrorRestoring || bs != resource.BackupAvailable {
			t.Fatalf("after failed restore: volume %s, backup %s", s, bs)
		}
	})
	t.Run("delete fails", func(t *testing.T) {
		f := newFixture(t)
		v := f.volume(resource.StatusAvailable, sample)
		b := f.backup(v, resource.BackupCreate{})
		if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		f.bdrv.setFail("Delete", boom)
		if _, err := f.store.StartBackupDelete(f.ctx, resource.BackupDelete{BackupID: b.ID, From: resource.BackupDeletableStatuses}); err != nil {
			t.Fatal(err)
		}
		if err := f.bm.DeleteBackup(f.ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.getBackup(b.ID); got.Status != resource.BackupErrorDeleting || got.FailReason != "boom" {
			t.Fatalf("backup = %s (%q), want error_deleting (boom)", got.Status, got.FailReason)
		}
	})
}

type refusingAttacher struct{}

func (refusingAttacher) Open(ctx context.Context, info driver.ConnectionInfo, mode volumeio.Mode) (volumeio.Device, error) {
	return nil, volumeio.ErrUnsupported
}

func TestRecoveryAfterCrash(t *testing.T) {
	f := newFixture(t)
	// creating, as a service that died mid-backup of an in-use volume leaves it: a temporary
	// volume made and recorded.
	inUse := f.volume(resource.StatusInUse, sample)
	creating := f.backup(inUse, resource.BackupCreate{Force: true})
	var dev rpcapi.BackupDevice
	if err := f.bus.Call(f.ctx, rpcapi.VolumeTarget(volumeHost), rpcapi.GetBackupDevice,
		rpcapi.BackupDeviceArgs{BackupID: creating.ID, VolumeID: inUse.ID}, &dev); err != nil {
		t.Fatal(err)
	}
	if !dev.IsTemp {
		t.Fatal("device of an in-use volume is not temporary")
	}
	// restoring into an existing volume, and into a new one.
	src := f.volume(resource.StatusAvailable, sample)
	done := f.backup(src, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.StartRestore(f.ctx, resource.BackupRestore{BackupID: done.ID, VolumeID: src.ID}); err != nil {
		t.Fatal(err)
	}
	src2 := f.volume(resource.StatusAvailable, sample)
	done2 := f.backup(src2, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, done2.ID); err != nil {
		t.Fatal(err)
	}
	nv := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: resource.StatusCreating,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: volumeHost + "#file", Metadata: map[string]string{}}
	if _, err := f.store.CreateVolume(f.ctx, nv); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.StartNewVolumeRestore(f.ctx, done2.ID, nv.ID, nodeName); err != nil {
		t.Fatal(err)
	}
	// deleting.
	src3 := f.volume(resource.StatusAvailable, sample)
	del := f.backup(src3, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, del.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.StartBackupDelete(f.ctx, resource.BackupDelete{BackupID: del.ID, From: resource.BackupDeletableStatuses}); err != nil {
		t.Fatal(err)
	}

	// The volume service's own recovery leaves the new volume to the backup service.
	if err := f.vm.Recover(f.ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.volumeStatus(nv.ID); s != resource.StatusCreating {
		t.Fatalf("new volume after the volume service's recovery = %s, want creating", s)
	}
	f.serve() // the service starts again and recovers
	f.eventually("recovery done", func() (bool, string) {
		c, r, r2, d := f.getBackup(creating.ID), f.getBackup(done.ID), f.getBackup(done2.ID), f.getBackup(del.ID)
		seen := fmt.Sprintf("creating→%s (temp %q), restoring→%s, restoring new→%s, deleting→%s", c.Status, c.TempVolumeID, r.Status, r2.Status, d.Status)
		return c.Status == resource.BackupError && c.TempVolumeID == "" && r.Status == resource.BackupAvailable &&
			r2.Status == resource.BackupAvailable && d.Status == "gone", seen
	})
	for id, want := range map[string]string{
		inUse.ID: resource.StatusInUse, src.ID: resource.StatusErrorRestoring, nv.ID: resource.StatusError,
		dev.VolumeID: "gone", src3.ID: resource.StatusAvailable,
	} {
		if got := f.volumeStatus(id); got != want {
			t.Errorf("volume %s = %s, want %s", id, got, want)
		}
	}
	if _, err := os.Stat(f.file(dev.VolumeID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary volume's storage left: %v", err)
	}
}

func TestBackupOfSnapshotGoesThroughTemporaryVolume(t *testing.T) {
	f := newFixture(t)
	v := f.volume(resource.StatusAvailable, sample)
	sn := &resource.Snapshot{VolumeID: v.ID, ProjectID: "p", UserID: "u"}
	if _, err := f.store.CreateSnapshot(f.ctx, sn, []string{resource.StatusAvailable}); err != nil {
		t.Fatal(err)
	}
	if err := f.vm.CreateSnapshot(f.ctx, sn.ID); err != nil {
		t.Fatal(err)
	}
	f.write(v.ID, map[int64][]byte{0: []byte("AFTER SNAP!")}) // the backup must hold the snapshot's data
	b := &resource.Backup{VolumeID: v.ID, SnapshotID: sn.ID, ProjectID: "p", UserID: "u", Host: nodeName, AvailabilityZone: "nova"}
	if _, err := f.store.CreateBackup(f.ctx, b, resource.BackupCreate{}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.getBackup(b.ID); got.Status != resource.BackupAvailable || got.TempVolumeID != "" {
		t.Fatalf("backup = %s (temp %q)", got.Status, got.TempVolumeID)
	}
	if s, err := f.store.GetSnapshot(f.ctx, sn.ID); err != nil || s.Status != resource.SnapshotAvailable {
		t.Fatalf("snapshot after the backup = %v, %v", s, err)
	}
	f.onlyVolumes(v.ID, "") // the volume's file, the snapshot's file, no temporary volume
	nv := f.volume(resource.StatusAvailable, nil)
	if _, err := f.store.StartRestore(f.ctx, resource.BackupRestore{BackupID: b.ID, VolumeID: nv.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.RestoreBackup(f.ctx, rpcapi.RestoreBackupArgs{BackupID: b.ID, VolumeID: nv.ID}); err != nil {
		t.Fatal(err)
	}
	f.sameData(nv.ID, sample)
}

// blockingDouble is the file backup double whose backups wait for release, counting how
// many run at once.
type blockingDouble struct {
	*fileBackupDouble
	started chan string
	release chan struct{}

	mu            sync.Mutex
	running, most int
}

func (d *blockingDouble) Backup(ctx context.Context, b *resource.Backup, parent *resource.Backup, src volumeio.Device, progress ProgressFunc) (Result, error) {
	d.mu.Lock()
	d.running++
	d.most = max(d.most, d.running)
	d.mu.Unlock()
	d.started <- b.ID
	<-d.release
	d.mu.Lock()
	d.running--
	d.mu.Unlock()
	return Result{ObjectCount: 1}, nil
}

func TestMaxOperationsBoundsConcurrentBackups(t *testing.T) {
	f := newFixture(t)
	d := &blockingDouble{fileBackupDouble: f.bdrv, started: make(chan string, 3), release: make(chan struct{})}
	f.bm.Driver, f.bm.MaxOperations = d, 2
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		v := f.volume(resource.StatusAvailable, nil)
		b := f.backup(v, resource.BackupCreate{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.bm.CreateBackup(f.ctx, b.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	<-d.started
	<-d.started
	select {
	case id := <-d.started:
		t.Fatalf("a third backup (%s) started with backup_max_operations 2", id)
	default:
	}
	close(d.release) // the two finish; the third takes a slot and finishes too
	<-d.started
	wg.Wait()
	if d.most != 2 {
		t.Fatalf("at most %d backups ran at once, want 2", d.most)
	}
}

func TestIncrementalBackupChain(t *testing.T) {
	f := newFixture(t)
	v := f.volume(resource.StatusAvailable, sample)
	full := f.backup(v, resource.BackupCreate{})
	if err := f.bm.CreateBackup(f.ctx, full.ID); err != nil {
		t.Fatal(err)
	}
	more := map[int64][]byte{20 * chunk: []byte("second")}
	f.write(v.ID, more)
	incr := f.backup(v, resource.BackupCreate{Incremental: true})
	if incr.ParentID != full.ID {
		t.Fatalf("parent = %q, want %s", incr.ParentID, full.ID)
	}
	if err := f.bm.CreateBackup(f.ctx, incr.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.bdrv.parents[incr.ID]; got != full.ID {
		t.Fatalf("driver was given parent %q, want %s", got, full.ID)
	}
	nv := f.volume(resource.StatusAvailable, nil)
	if _, err := f.store.StartRestore(f.ctx, resource.BackupRestore{BackupID: incr.ID, VolumeID: nv.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.bm.RestoreBackup(f.ctx, rpcapi.RestoreBackupArgs{BackupID: incr.ID, VolumeID: nv.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.bdrv.chains[incr.ID]; len(got) != 2 || got[0] != full.ID || got[1] != incr.ID {
		t.Fatalf("restore chain = %v, want [%s %s]", got, full.ID, incr.ID)
	}
	f.sameData(nv.ID, sample)
	f.sameData(nv.ID, more)
}
