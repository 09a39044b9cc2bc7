// Package drivertest is the conformance suite of Scoria's storage drivers (package driver):
// Run drives a driver against its real backend through every interface it implements —
// Driver, the optional capabilities, Attacher or LocalDevice, ImageCopier (with qemu-img) —
// and checks what the backend really holds through a Probe the driver's test supplies
// (DeviceProbe for a driver whose volumes are local files or block devices). FromSection builds the driver under test through
// the registry from a backend section, as cinder.conf does. A backend is done when it passes.
// The package imports only the standard library and pkg/driver, so a driver outside this
// module runs it as Scoria's own drivers do.
package drivertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scoria/scoria/pkg/driver"
)

// The names of Run's subtests, which Suite.Skip takes.
const (
	TestSetup              = "Setup"
	TestCreate             = "Create"
	TestDelete             = "Delete"
	TestExtend             = "Extend"
	TestSnapshot           = "Snapshot"
	TestVolumeFromSnapshot = "VolumeFromSnapshot"
	TestClone              = "Clone"
	TestRevert             = "Revert"
	TestCapacity           = "Capacity"
	TestNotFound           = "NotFound"
	TestConcurrent         = "Concurrent"
	TestConnection         = "Connection"
	TestDriverData         = "DriverData"
	TestImage              = "Image"
)

// CapacityKind is how a driver reports its pools' total and free capacity.
type CapacityKind int

// The capacity kinds: numbers of GiB (the default), Cinder's 'infinite', or 'unknown'.
const (
	CapacityKnown CapacityKind = iota
	CapacityInfinite
	CapacityUnknown
)

// Suite is what Run needs to know of a driver and its backend.
type Suite struct {
	// New returns the driver under test on its real backend, configured but not set up;
	// Run calls Setup. It is called once per Run; subtests share the driver, as the
	// volume service's calls do.
	New func(t *testing.T) driver.Driver
	// Probe reads what the backend really holds. Size is required; without ReadAt and
	// WriteAt the data checks (snapshot contents, clones, revert) are skipped.
	Probe Probe
	// Protocol is the driver_volume_type its Attacher answers ("rbd", "iscsi", …); "" when
	// the driver is not an Attacher.
	Protocol string
	// Capacity is how the pools report total and free capacity.
	Capacity CapacityKind
	// Workers is the number of goroutines of the Concurrent subtest; 0 is 4.
	Workers int
	// Skip names subtests (the Test* constants) this environment cannot run, with the
	// reason, e.g. {TestSnapshot: "thick LVM snapshots need device-mapper"}. A capability
	// the driver does not implement is skipped without being named here.
	Skip map[string]string
	// Timeout bounds each driver call; 0 is 2 minutes.
	Timeout time.Duration
}

// Probe reads a backend's volumes directly, not through the driver under test.
type Probe struct {
	// Size returns the size in bytes of volume v's storage as the backend has it.
	Size func(ctx context.Context, v driver.Volume) (int64, error)
	// ReadAt reads len(p) bytes of volume v at off; nil when the test cannot read volumes.
	ReadAt func(ctx context.Context, v driver.Volume, p []byte, off int64) error
	// WriteAt writes p into volume v at off, durably; nil when ReadAt is.
	WriteAt func(ctx context.Context, v driver.Volume, p []byte, off int64) error
}

// DeviceProbe is the Probe of a driver whose volumes are local files or block devices: it
// opens d.DevicePath(v).
func DeviceProbe(d driver.LocalDevice) Probe {
	return Probe{
		Size: func(_ context.Context, v driver.Volume) (int64, error) {
			f, err := os.Open(d.DevicePath(v))
			if err != nil {
				return 0, fmt.Errorf("open device of volume %s: %w", v.ID, err)
			}
			defer f.Close()
			n, err := f.Seek(0, io.SeekEnd) // a block device's Stat size is 0; its end is not
			if err != nil {
				return 0, fmt.Errorf("size of %s: %w", d.DevicePath(v), err)
			}
			return n, nil
		},
		ReadAt: func(_ context.Context, v driver.Volume, p []byte, off int64) error {
			f, err := os.Open(d.DevicePath(v))
			if err != nil {
				return fmt.Errorf("open device of volume %s: %w", v.ID, err)
			}
			defer f.Close()
			if _, err := f.ReadAt(p, off); err != nil {
				return fmt.Errorf("read %s at %d: %w", d.DevicePath(v), off, err)
			}
			return nil
		},
		WriteAt: func(_ context.Context, v driver.Volume, p []byte, off int64) error {
			f, err := os.OpenFile(d.DevicePath(v), os.O_WRONLY, 0)
			if err != nil {
				return fmt.Errorf("open device of volume %s: %w", v.ID, err)
			}
			if _, err := f.WriteAt(p, off); err != nil {
				f.Close()
				return fmt.Errorf("write %s at %d: %w", d.DevicePath(v), off, err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return fmt.Errorf("flush %s: %w", d.DevicePath(v), err)
			}
			return f.Close()
		},
	}
}

// Run runs the conformance suite on the driver s.New returns. Each subtest removes what it
// made, also when it fails.
func Run(t *testing.T, s Suite) {
	t.Helper()
	if s.New == nil || s.Probe.Size == nil {
		t.Fatal("drivertest: Suite.New and Suite.Probe.Size are required")
	}
	if (s.Probe.ReadAt == nil) != (s.Probe.WriteAt == nil) {
		t.Fatal("drivertest: Probe.ReadAt and Probe.WriteAt go together")
	}
	r := &runner{s: s, d: s.New(t)}
	if err := r.d.Setup(r.ctx(t)); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{TestSetup, r.testSetup},
		{TestCreate, r.testCreate},
		{TestDelete, r.testDelete},
		{TestExtend, r.testExtend},
		{TestSnapshot, r.testSnapshot},
		{TestVolumeFromSnapshot, r.testVolumeFromSnapshot},
		{TestClone, r.testClone},
		{TestRevert, r.testRevert},
		{TestCapacity, r.testCapacity},
		{TestNotFound, r.testNotFound},
		{TestConcurrent, r.testConcurrent},
		{TestConnection, r.testConnection},
		{TestDriverData, r.testDriverData},
		{TestImage, r.testImage},
	} {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := s.Skip[c.name]; ok {
				t.Skipf("skipped by the driver's test: %s", why)
			}
			c.fn(t)
		})
	}
}

// runner holds the driver under test for the subtests.
type runner struct {
	s Suite
	d driver.Driver
}

// ctx is a context for driver calls bounded by Suite.Timeout, ended with the test.
func (r *runner) ctx(t *testing.T) context.Context {
	timeout := r.s.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("drivertest: random id: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// volume is a new volume the backend has not seen.
func volume(gib int) driver.Volume {
	id := newID()
	return driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: gib}
}

// snapshot is a new snapshot of v the backend has not seen.
func snapshot(v driver.Volume) driver.Snapshot {
	id := newID()
	return driver.Snapshot{ID: id, Name: driver.SnapshotStorageName(id), VolumeID: v.ID, SizeGiB: v.SizeGiB}
}

// cleanupCtx bounds a cleanup, which runs after the test's context ended.
func cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// removeVolume deletes v at the end of the test (a missing one is fine). Cleanups run last
// in first out, so what is made from v later goes before it.
func (r *runner) removeVolume(t *testing.T, v *driver.Volume) {
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := r.d.Delete(ctx, *v); err != nil {
			t.Errorf("cleanup: delete volume %s: %v", v.ID, err)
		}
	})
}

// removeSnapshot deletes s of v at the end of the test.
func (r *runner) removeSnapshot(t *testing.T, sn driver.Snapshotter, s *driver.Snapshot, v *driver.Volume) {
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := sn.DeleteSnapshot(ctx, *s, *v); err != nil {
			t.Errorf("cleanup: delete snapshot %s: %v", s.ID, err)
		}
	})
}

// create makes a volume of gib GiB, removed at the end of the test, with its driver data.
func (r *runner) create(t *testing.T, gib int) driver.Volume {
	t.Helper()
	v := volume(gib)
	r.removeVolume(t, &v)
	data, err := r.d.Create(r.ctx(t), v)
	if err != nil {
		t.Fatalf("Create volume %s of %d GiB: %v", v.ID, gib, err)
	}
	v.Data = keepable(t, "Create", data)
	return v
}

// takeSnapshot makes a snapshot of v, removed at the end of the test.
func (r *runner) takeSnapshot(t *testing.T, sn driver.Snapshotter, v *driver.Volume) driver.Snapshot {
	t.Helper()
	s := snapshot(*v)
	r.removeSnapshot(t, sn, &s, v)
	data, err := sn.CreateSnapshot(r.ctx(t), s, *v)
	if err != nil {
		t.Fatalf("CreateSnapshot %s of volume %s: %v", s.ID, v.ID, err)
	}
	s.Data = keepable(t, "CreateSnapshot", data)
	return s
}

// MaxDataLen is the most characters each field of driver.Data may hold: Cinder's
// provider_location, provider_auth and provider_id columns are VARCHAR(255), and the volume
// service fails a create whose data does not fit rather than cut it short.
const MaxDataLen = 255

// keepable fails the test unless the volume service can keep data, and returns it.
func keepable(t *testing.T, call string, data driver.Data) driver.Data {
	t.Helper()
	for _, f := range []struct{ name, value string }{{"Location", data.Location}, {"Auth", data.Auth}, {"ID", data.ID}} {
		if n := utf8.RuneCountInString(f.value); n > MaxDataLen {
			t.Errorf("%s returned Data.%s of %d characters; the volume service keeps at most %d", call, f.name, n, MaxDataLen)
		}
	}
	return data
}

// checkSize fails the test unless the backend holds v with exactly gib GiB.
func (r *runner) checkSize(t *testing.T, v driver.Volume, gib int) {
	t.Helper()
	n, err := r.s.Probe.Size(r.ctx(t), v)
	if err != nil {
		t.Fatalf("probe the size of volume %s: %v", v.ID, err)
	}
	if want := int64(gib) * driver.GiB; n != want {
		t.Fatalf("volume %s holds %d bytes on the backend, want %d (%d GiB)", v.ID, n, want, gib)
	}
}

func (r *runner) exists(t *testing.T, v driver.Volume) bool {
	t.Helper()
	ok, err := r.d.Exists(r.ctx(t), v)
	if err != nil {
		t.Fatalf("Exists %s: %v", v.ID, err)
	}
	return ok
}

func (r *runner) snapshotExists(t *testing.T, sn driver.Snapshotter, s driver.Snapshot) bool {
	t.Helper()
	ok, err := sn.SnapshotExists(r.ctx(t), s)
	if err != nil {
		t.Fatalf("SnapshotExists %s: %v", s.ID, err)
	}
	return ok
}

// The data checks write a pattern at a few offsets of the first GiB (the start, the middle,
// the last block) and read it back.
var patternAt = []int64{0, driver.GiB / 2, driver.GiB - 4096}

func pattern(fill byte) []byte { return bytes.Repeat([]byte{fill}, 4096) }

// canData skips the test when the probe cannot read and write volumes.
func (r *runner) canData(t *testing.T) {
	t.Helper()
	if r.s.Probe.ReadAt == nil {
		t.Skip("the suite's Probe cannot read volumes (no ReadAt/WriteAt): data checks skipped")
	}
}

func (r *runner) write(t *testing.T, v driver.Volume, fill byte) {
	t.Helper()
	for _, off := range patternAt {
		if err := r.s.Probe.WriteAt(r.ctx(t), v, pattern(fill), off); err != nil {
			t.Fatalf("write volume %s: %v", v.ID, err)
		}
	}
}

func (r *runner) checkData(t *testing.T, v driver.Volume, fill byte, what string) {
	t.Helper()
	buf := make([]byte, 4096)
	for _, off := range patternAt {
		if err := r.s.Probe.ReadAt(r.ctx(t), v, buf, off); err != nil {
			t.Fatalf("read volume %s: %v", v.ID, err)
		}
		if !bytes.Equal(buf, pattern(fill)) {
			t.Errorf("%s: volume %s at %d holds %q…, want %q", what, v.ID, off, buf[:8], fill)
			return
		}
	}
}

// Optional capabilities: each returns the interface or skips the test naming it.

func need[T any](t *testing.T, d driver.Driver, name string) T {
	t.Helper()
	c, ok := d.(T)
	if !ok {
		t.Skipf("the driver does not implement driver.%s", name)
	}
	return c
}

// wantNotFound fails the test unless err is a driver.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded", what)
	case !errors.Is(err, driver.ErrNotFound):
		t.Errorf("%s: %v; want an error that errors.Is driver.ErrNotFound", what, err)
	}
}
