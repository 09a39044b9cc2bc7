package volume

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

const host = "node1@file"

type fixture struct {
	t     testing.TB
	store *db.Store
	drv   *localfile.Driver
	bus   *rpc.Local
	m     *Manager
	// dbPath is the SQLite file of store, for a test that must set what only another
	// service's store methods set.
	dbPath string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "t.db")
	store, err := db.Open(ctx, "sqlite:///"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The tests make more volumes than Cinder's default quota of 10 allows; quotas are
	// tested in internal/db and internal/api.
	if _, err := store.UpdateQuotaClass(ctx, resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: -1, resource.QuotaSnapshots: -1, resource.QuotaGigabytes: -1,
	}); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	drv := &localfile.Driver{Dir: filepath.Join(dir, "vols"), BackendName: "file", PoolName: "file"}
	if err := drv.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	bus := rpc.NewLocal(log)
	t.Cleanup(func() { bus.Close() })
	return &fixture{t: t, store: store, drv: drv, bus: bus, dbPath: dbPath,
		m: &Manager{Host: host, Zone: "nova", Driver: drv, Store: store, Transport: bus, Log: log}}
}

// volume inserts a volume row in status on host.
func (f *fixture) volume(status, onHost string, size int) *resource.Volume {
	f.t.Helper()
	v := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: size, Status: status,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: onHost, Metadata: map[string]string{}}
	if _, err := f.store.CreateVolume(context.Background(), v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) status(id string) string {
	f.t.Helper()
	v, err := f.store.GetVolume(context.Background(), id)
	if errors.Is(err, resource.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Status
}

func (f *fixture) fileSize(id string) int64 {
	st, err := os.Stat(filepath.Join(f.drv.Dir, driver.StorageName(id)))
	if err != nil {
		return -1
	}
	return st.Size()
}

func TestCreateAndDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.volume(resource.StatusCreating, host+"#file", 2)
	for i := 0; i < 2; i++ { // the second delivery is a duplicate and must change nothing
		if err := f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 2, Attempts: 1}); err != nil {
			t.Fatalf("CreateVolume #%d: %v", i+1, err)
		}
	}
	if got := f.status(v.ID); got != resource.StatusAvailable {
		t.Fatalf("status = %s, want available", got)
	}
	if got := f.fileSize(v.ID); got != 2*driver.GiB {
		t.Fatalf("file size = %d, want %d", got, 2*driver.GiB)
	}
	if _, err := f.store.TransitionVolume(ctx, v.ID, resource.DeletableStatuses, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := f.m.DeleteVolume(ctx, v.ID); err != nil {
			t.Fatalf("DeleteVolume #%d: %v", i+1, err)
		}
	}
	if got := f.status(v.ID); got != "gone" {
		t.Fatalf("status after delete = %s, want gone", got)
	}
	if got := f.fileSize(v.ID); got != -1 {
		t.Fatalf("file still there after delete (size %d)", got)
	}
}

func TestCreateIgnoresVolumesNotOurs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct{ name, status, host string }{
		{"placed elsewhere", resource.StatusCreating, "node2@file#file"},
		{"no longer creating", resource.StatusError, host + "#file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := f.volume(tc.status, tc.host, 1)
			if err := f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, Attempts: 1}); err != nil {
				t.Fatal(err)
			}
			if got := f.status(v.ID); got != tc.status {
				t.Fatalf("status = %s, want it unchanged (%s)", got, tc.status)
			}
			if f.fileSize(v.ID) != -1 {
				t.Fatal("a file was created for a volume that was not ours to create")
			}
		})
	}
}

func TestFailedCreateGoesBackToScheduler(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan rpcapi.CreateVolumeArgs, 1)
	go f.bus.Serve(ctx, rpc.Target{Topic: rpc.TopicScheduler, Server: "sched"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
		var a rpcapi.CreateVolumeArgs
		if err := json.Unmarshal(msg.Args, &a); err != nil {
			return nil, err
		}
		got <- a
		return nil, nil
	})
	f.drv.Dir = filepath.Join(t.TempDir(), "missing") // creates fail: the directory does not exist
	v := f.volume(resource.StatusCreating, host+"#file", 1)
	if err := f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		if a.VolumeID != v.ID || len(a.TriedHosts) != 1 || a.TriedHosts[0] != host+"#file" || a.LastError == "" || a.Attempts != 1 {
			t.Fatalf("retry request = %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed create was not handed back to the scheduler")
	}
	if s := f.status(v.ID); s != resource.StatusCreating {
		t.Fatalf("status = %s, want creating while the scheduler retries", s)
	}
}

func TestRecover(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	creating := f.volume(resource.StatusCreating, host+"#file", 1)
	deleting := f.volume(resource.StatusCreating, host+"#file", 1)
	if _, err := f.drv.Create(ctx, driver.Volume{ID: deleting.ID, SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.TransitionVolume(ctx, deleting.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
		t.Fatal(err)
	}
	other := f.volume(resource.StatusCreating, "node2@file#file", 1)
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, want string
		file           bool
	}{
		{"creating is finished", creating.ID, resource.StatusAvailable, true},
		{"deleting is deleted", deleting.ID, "gone", false},
		{"another host's volume is left alone", other.ID, resource.StatusCreating, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.status(tc.id); got != tc.want {
				t.Errorf("status = %s, want %s", got, tc.want)
			}
			if has := f.fileSize(tc.id) >= 0; has != tc.file {
				t.Errorf("file exists = %v, want %v", has, tc.file)
			}
		})
	}
}

func TestRecoverFailsCreateThatCannotFinish(t *testing.T) {
	f := newFixture(t)
	v := f.volume(resource.StatusCreating, host+"#file", 1)
	f.drv.Dir = filepath.Join(t.TempDir(), "missing")
	if err := f.m.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.status(v.ID); got != resource.StatusError {
		t.Fatalf("status = %s, want error", got)
	}
}
