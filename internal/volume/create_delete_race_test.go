package volume

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// pausingDriver is the real local-file driver whose Create, once started, waits for release
// before it makes the file: the window in which a delete may arrive.
type pausingDriver struct {
	*localfile.Driver
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (d *pausingDriver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	d.once.Do(func() { close(d.started) })
	<-d.release
	return d.Driver.Create(ctx, v)
}

// TestDeleteWhileCreating: a delete_volume that arrives while the volume's storage is being
// made (an admin's force delete of a volume in creating) must not leave the storage behind
// once the row is gone (issue 12 item 2, the volume service's side of the race), whichever
// of the two handlers the bus runs first.
func TestDeleteWhileCreating(t *testing.T) {
	for _, deleteFirst := range []bool{true, false} {
		name := "delete while the create runs"
		if !deleteFirst {
			name = "delete once the create made the file"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			pd := &pausingDriver{Driver: f.drv, started: make(chan struct{}), release: make(chan struct{})}
			f.m.Driver = pd
			v := f.volume(resource.StatusCreating, host+"#file", 1)

			created := make(chan error, 1)
			go func() {
				created <- f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, Attempts: 1})
			}()
			<-pd.started
			// What the API's force delete does: deleting, and a delete_volume to this host.
			if _, err := f.store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
				t.Fatal(err)
			}
			deleted := make(chan error, 1)
			if deleteFirst {
				go func() { deleted <- f.m.DeleteVolume(ctx, v.ID) }()
				time.Sleep(200 * time.Millisecond) // time for an unserialised delete to run
				close(pd.release)
			} else {
				close(pd.release)
				if err := <-created; err != nil {
					t.Fatalf("CreateVolume: %v", err)
				}
				created <- nil
				go func() { deleted <- f.m.DeleteVolume(ctx, v.ID) }()
			}
			for what, ch := range map[string]chan error{"CreateVolume": created, "DeleteVolume": deleted} {
				select {
				case err := <-ch:
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s did not return", what)
				}
			}
			if got := f.status(v.ID); got != "gone" {
				t.Errorf("volume is %s, want gone", got)
			}
			entries, err := os.ReadDir(f.drv.Dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("backend holds %s after the volume was deleted", e.Name())
			}
		})
	}
}

// TestCreateOfVolumeDeletedMeanwhile: storage made for a volume whose row was removed while
// it was made has nothing to own it and is removed by the create itself.
func TestCreateOfVolumeDeletedMeanwhile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pd := &pausingDriver{Driver: f.drv, started: make(chan struct{}), release: make(chan struct{})}
	f.m.Driver = pd
	v := f.volume(resource.StatusCreating, host+"#file", 1)
	created := make(chan error, 1)
	go func() {
		created <- f.m.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, Attempts: 1})
	}()
	<-pd.started
	// Another actor (here the store directly) removes the row while the file is being made.
	if err := f.store.DestroyVolume(ctx, v.ID, []string{resource.StatusCreating}); err != nil {
		t.Fatal(err)
	}
	close(pd.release)
	if err := <-created; err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	if got := f.fileSize(v.ID); got != -1 {
		t.Errorf("the file of the deleted volume is left on the backend (size %d)", got)
	}
}
