package nfs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// chainFixture is a driver with snapshots on, one volume made on it, and helpers to write
// and read its data as a hypervisor would (qemu-io on the active file).
type chainFixture struct {
	t     *testing.T
	d     *Driver
	ctx   context.Context
	v     driver.Volume
	share Share
	dir   string
}

func newChain(t *testing.T, qcow2 bool) *chainFixture {
	d, dirs := localDriver(t, qcow2, true, true)
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	v := driver.Volume{ID: uuid.NewString(), SizeGiB: 1, Pool: d.Shares[0].Address}
	v.Name = driver.StorageName(v.ID)
	data, err := d.Create(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	v.Data = data
	return &chainFixture{t: t, d: d, ctx: ctx, v: v, share: d.Shares[0], dir: dirs[d.Shares[0].Address]}
}

func (f *chainFixture) write(v driver.Volume, b byte, off int64) {
	f.t.Helper()
	d := f.d
	if err := qemuProbe(&d).WriteAt(f.ctx, v, []byte(strings.Repeat(string(b), 4096)), off); err != nil {
		f.t.Fatal(err)
	}
}

func (f *chainFixture) read(v driver.Volume, off int64) byte {
	f.t.Helper()
	d := f.d
	p := make([]byte, 4096)
	if err := qemuProbe(&d).ReadAt(f.ctx, v, p, off); err != nil {
		f.t.Fatal(err)
	}
	for _, c := range p[1:] {
		if c != p[0] {
			f.t.Fatalf("4096 bytes at %d are not all %q", off, p[0])
		}
	}
	return p[0]
}

func (f *chainFixture) snapshot(id string) driver.Snapshot {
	f.t.Helper()
	s := driver.Snapshot{ID: id, VolumeID: f.v.ID, SizeGiB: f.v.SizeGiB}
	data, err := f.d.CreateSnapshot(f.ctx, s, f.v)
	if err != nil {
		f.t.Fatal(err)
	}
	if data.Location != f.share.Address {
		f.t.Errorf("snapshot data %+v, want the share %s", data, f.share.Address)
	}
	s.Data = data
	return s
}

// files lists the volume's files in the exported directory.
func (f *chainFixture) files() []string {
	f.t.Helper()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "volume-") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func (f *chainFixture) info() map[string]string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, f.v.Name+".info"))
	if err != nil {
		f.t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *chainFixture) backing(name string) (string, string) {
	f.t.Helper()
	ii, err := f.d.imageInfo(f.ctx, filepath.Join(f.dir, name), f.v.Name, FormatQCOW2)
	if err != nil {
		f.t.Fatal(err)
	}
	return ii.BackingFile, ii.BackingFmt
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestSnapshotChainAsCinder: two snapshots make Cinder's chain (relative backing names, the
// .info naming the active file); deleting the older one merges it and rebases the newer one;
// deleting the newer one merges it into the volume file; every snapshot keeps its data.
func TestSnapshotChainAsCinder(t *testing.T) {
	for _, qcow2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "raw", true: "qcow2"}[qcow2], func(t *testing.T) {
			f := newChain(t, qcow2)
			baseFmt := map[bool]string{false: FormatRaw, true: FormatQCOW2}[qcow2]
			a, b := uuid.NewString(), uuid.NewString()
			f.write(f.v, 'a', 0)
			sa := f.snapshot(a)
			f.write(f.v, 'b', 0)
			sb := f.snapshot(b)
			f.write(f.v, 'c', 0)

			va, vb := f.v.Name+"."+a, f.v.Name+"."+b
			if got, want := f.files(), sorted(f.v.Name, f.v.Name+".info", va, vb); !equal(got, want) {
				t.Fatalf("files %v, want %v", got, want)
			}
			if got := f.info(); got["active"] != vb || got[a] != va || got[b] != vb || len(got) != 3 {
				t.Errorf(".info %v, want active %s, %s: %s, %s: %s", got, vb, a, va, b, vb)
			}
			if bf, bfmt := f.backing(va); bf != f.v.Name || bfmt != baseFmt {
				t.Errorf("%s backed by %q (%s), want %q (%s)", va, bf, bfmt, f.v.Name, baseFmt)
			}
			if bf, _ := f.backing(vb); bf != va {
				t.Errorf("%s backed by %q, want the relative name %q", vb, bf, va)
			}
			ci, err := f.d.InitializeConnection(f.ctx, f.v, nil)
			if err != nil || ci.Data["name"] != vb || ci.Data["format"] != FormatQCOW2 || ci.Data["export"] != f.share.Address {
				t.Errorf("connection info %+v (%v), want name %s, format qcow2, export %s", ci, err, vb, f.share.Address)
			}

			// Each snapshot's data, through a volume made from it.
			for _, c := range []struct {
				s    driver.Snapshot
				want byte
			}{{sa, 'a'}, {sb, 'b'}} {
				n := driver.Volume{ID: uuid.NewString(), SizeGiB: 2}
				if n.Data, err = f.d.CreateVolumeFromSnapshot(f.ctx, n, c.s); err != nil {
					t.Fatal(err)
				}
				if got := f.read(n, 0); got != c.want {
					t.Errorf("volume from snapshot %s reads %q, want %q", c.s.ID, got, c.want)
				}
				if err := f.d.Delete(f.ctx, n); err != nil {
					t.Fatal(err)
				}
			}

			if err := f.d.DeleteSnapshot(f.ctx, sa, f.v); err != nil {
				t.Fatal(err)
			}
			if got, want := f.files(), sorted(f.v.Name, f.v.Name+".info", vb); !equal(got, want) {
				t.Errorf("after deleting the older snapshot: files %v, want %v", got, want)
			}
			if bf, bfmt := f.backing(vb); bf != f.v.Name || bfmt != baseFmt {
				t.Errorf("%s backed by %q (%s) after the merge, want %q (%s)", vb, bf, bfmt, f.v.Name, baseFmt)
			}
			if got := f.read(f.v, 0); got != 'c' {
				t.Errorf("volume reads %q after the merge, want 'c'", got)
			}
			n := driver.Volume{ID: uuid.NewString(), SizeGiB: 1}
			if n.Data, err = f.d.CreateVolumeFromSnapshot(f.ctx, n, sb); err != nil {
				t.Fatal(err)
			}
			if got := f.read(n, 0); got != 'b' {
				t.Errorf("snapshot %s reads %q after the older one's merge, want 'b'", b, got)
			}
			f.d.Delete(f.ctx, n)

			if err := f.d.DeleteSnapshot(f.ctx, sb, f.v); err != nil {
				t.Fatal(err)
			}
			if got, want := f.files(), sorted(f.v.Name, f.v.Name+".info"); !equal(got, want) {
				t.Errorf("after deleting the last snapshot: files %v, want %v", got, want)
			}
			if got := f.info(); got["active"] != f.v.Name || len(got) != 1 {
				t.Errorf(".info %v, want only active: %s", got, f.v.Name)
			}
			if got := f.read(f.v, 0); got != 'c' {
				t.Errorf("volume reads %q after the last merge, want 'c'", got)
			}
			ci, err = f.d.InitializeConnection(f.ctx, f.v, nil)
			if err != nil || ci.Data["name"] != f.v.Name || ci.Data["format"] != baseFmt {
				t.Errorf("connection info %+v (%v), want name %s, format %s", ci, err, f.v.Name, baseFmt)
			}
			if err := f.d.Delete(f.ctx, f.v); err != nil {
				t.Fatal(err)
			}
			if got := f.files(); len(got) != 0 {
				t.Errorf("files left after the volume's delete: %v", got)
			}
		})
	}
}

func sorted(s ...string) []string { sort.Strings(s); return s }

// TestSnapshotDeleteResumes: a delete interrupted after each of its steps (merge and rebase
// done; overlay renamed) finishes when run again, and the data is right.
func TestSnapshotDeleteResumes(t *testing.T) {
	for _, stop := range []string{"after-rebase", "after-rename"} {
		t.Run(stop, func(t *testing.T) {
			f := newChain(t, false)
			a, b := uuid.NewString(), uuid.NewString()
			f.write(f.v, 'a', 0)
			sa := f.snapshot(a)
			f.write(f.v, 'b', 0)
			sb := f.snapshot(b)
			f.write(f.v, 'c', 0)
			va, vb := filepath.Join(f.dir, f.v.Name+"."+a), filepath.Join(f.dir, f.v.Name+"."+b)
			// The steps of DeleteSnapshot(sa) up to the interruption.
			if err := f.d.commit(f.ctx, va); err != nil {
				t.Fatal(err)
			}
			if err := f.d.rebaseUnsafe(f.ctx, vb, f.v.Name, FormatRaw); err != nil {
				t.Fatal(err)
			}
			if stop == "after-rename" {
				if err := os.Rename(va, va+tmpSuffix); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.d.DeleteSnapshot(f.ctx, sa, f.v); err != nil {
				t.Fatalf("delete again: %v", err)
			}
			if got, want := f.files(), sorted(f.v.Name, f.v.Name+".info", filepath.Base(vb)); !equal(got, want) {
				t.Errorf("files %v, want %v", got, want)
			}
			if got := f.read(f.v, 0); got != 'c' {
				t.Errorf("volume reads %q, want 'c'", got)
			}
			n := driver.Volume{ID: uuid.NewString(), SizeGiB: 1}
			var err error
			if n.Data, err = f.d.CreateVolumeFromSnapshot(f.ctx, n, sb); err != nil {
				t.Fatal(err)
			}
			if got := f.read(n, 0); got != 'b' {
				t.Errorf("snapshot %s reads %q, want 'b'", b, got)
			}
		})
	}
}

// TestRefusals: what Cinder refuses, refused with its words and nothing changed.
func TestRefusals(t *testing.T) {
	f := newChain(t, false)
	attached := f.v
	attached.Attached = true
	s := driver.Snapshot{ID: uuid.NewString(), VolumeID: f.v.ID, SizeGiB: 1}
	cases := []struct {
		name, want string
		run        func() error
	}{
		{"snapshot of an attached volume", "while it is attached", func() error { _, err := f.d.CreateSnapshot(f.ctx, s, attached); return err }},
		{"extend of an attached volume", "Cannot extend volume " + f.v.ID + " while it is attached.", func() error { return f.d.ExtendVolume(f.ctx, attached, 2) }},
		{"clone of an attached volume", "Current source volume state: in-use", func() error {
			_, err := f.d.CreateClonedVolume(f.ctx, driver.Volume{ID: uuid.NewString(), SizeGiB: 1}, attached)
			return err
		}},
		{"extend beyond the share", "Insufficient space to extend volume", func() error { return f.d.ExtendVolume(f.ctx, f.v, 1<<30) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if got, want := f.files(), sorted(f.v.Name); !equal(got, want) {
				t.Errorf("files %v after the refusal, want %v", got, want)
			}
		})
	}
	f.d.SnapshotSupport = false
	if _, err := f.d.CreateSnapshot(f.ctx, s, f.v); !errors.Is(err, ErrSnapshotsDisabled) || err.Error() != "NFS driver snapshot support is disabled in cinder.conf." {
		t.Errorf("snapshot with support off: %v, want Cinder's %q", err, ErrSnapshotsDisabled)
	}
}

// TestEligible is Cinder's _is_share_eligible on figures of its own tests' kind.
func TestEligible(t *testing.T) {
	const g = uint64(1) << 30
	cases := []struct {
		name     string
		reserved int
		ratio    string
		sparse   bool
		c        Capacity
		size     int
		want     bool
	}{
		{"room", 0, "1.0", true, Capacity{Total: 10 * g, Available: 8 * g, Allocated: 2 * g}, 5, true},
		{"no apparent room", 0, "1.0", true, Capacity{Total: 10 * g, Available: 8 * g, Allocated: 6 * g}, 5, false},
		{"oversubscribed room", 0, "2.0", true, Capacity{Total: 10 * g, Available: 8 * g, Allocated: 12 * g}, 5, true},
		{"used beyond reserved", 30, "20", true, Capacity{Total: 10 * g, Available: 2 * g, Allocated: 1 * g}, 1, false},
		{"allocated at the ratio", 0, "2.0", true, Capacity{Total: 10 * g, Available: 9 * g, Allocated: 20 * g}, 1, false},
		{"thick files are not oversubscribed", 0, "20", false, Capacity{Total: 10 * g, Available: 8 * g, Allocated: 8 * g}, 5, false},
		{"auto with nothing provisioned is 20", 0, "auto", true, Capacity{Total: 10 * g, Available: 10 * g}, 150, true},
		{"empty share", 0, "20", true, Capacity{}, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &Driver{Reserved: c.reserved, OverSub: c.ratio, Sparse: c.sparse}
			if got := d.eligible(c.c, c.size); got != c.want {
				t.Errorf("eligible(%+v, %d) = %v, want %v", c.c, c.size, got, c.want)
			}
		})
	}
}

// flakyMounter is linkMounter whose shares can be made not to answer.
type flakyMounter struct {
	linkMounter
	gone   map[string]bool
	mounts int
}

func (m *flakyMounter) Check(ctx context.Context, s Share, mp string) error {
	if m.gone[s.Address] {
		return errors.New("server gone")
	}
	return m.linkMounter.Check(ctx, s, mp)
}

func (m *flakyMounter) Mount(ctx context.Context, s Share, mp string) error {
	m.mounts++
	if m.gone[s.Address] {
		return errors.New("mount: connection refused")
	}
	return m.linkMounter.Mount(ctx, s, mp)
}

// TestPoolDownAndBack: a share that stops answering is a pool down with the reason, the
// other stays up; placement avoids it; it comes back by itself.
func TestPoolDownAndBack(t *testing.T) {
	d, dirs := localDriver(t, false, false, true)
	m := &flakyMounter{linkMounter: linkMounter{dirs}, gone: map[string]bool{}}
	d.Mounter = m
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	state := func() map[string]driver.Pool {
		st, err := d.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]driver.Pool{}
		for _, p := range st.Pools {
			out[p.Name] = p
		}
		return out
	}
	first, second := d.Shares[0].Address, d.Shares[1].Address
	for name, p := range state() {
		if p.Extra["backend_state"] != "up" || !p.TotalCapacityGB.Known() || p.TotalCapacityGB <= 0 {
			t.Fatalf("pool %s: %+v, want up with a capacity", name, p)
		}
	}
	m.gone[first] = true
	pools := state()
	if p := pools[first]; p.Extra["backend_state"] != "down" || !strings.Contains(p.Extra["backend_state_reason"].(string), "server gone") || p.TotalCapacityGB.Known() {
		t.Errorf("pool %s of a share gone: %+v, want down, the reason, unknown capacity", first, p)
	}
	if p := pools[second]; p.Extra["backend_state"] != "up" {
		t.Errorf("pool %s: %+v, want up", second, p)
	}
	v := driver.Volume{ID: uuid.NewString(), SizeGiB: 1}
	data, err := d.Create(ctx, v)
	if err != nil || data.Location != second {
		t.Errorf("create without a pool while %s is down: %+v, %v; want it on %s", first, data, err, second)
	}
	if _, err := d.Create(ctx, driver.Volume{ID: uuid.NewString(), SizeGiB: 1, Pool: first}); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("create on the pool that is down: %v, want ErrUnavailable", err)
	}
	m.mounts = 0
	for range 3 {
		if _, err := d.Create(ctx, driver.Volume{ID: uuid.NewString(), SizeGiB: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if m.mounts != 0 {
		t.Errorf("%d mounts of the share that is down within the remount interval, want none", m.mounts)
	}
	// Back: reports more frequent than the remount interval (as a volume service's) bring it
	// up once the interval has passed since the last try.
	m.gone[first] = false
	d.RemountInterval = 50 * time.Millisecond
	deadline := time.Now().Add(2 * time.Second)
	for p := state()[first]; p.Extra["backend_state"] != "up" || !p.TotalCapacityGB.Known(); p = state()[first] {
		if time.Now().After(deadline) {
			t.Fatalf("pool %s 2 s after the share came back, reported every 10 ms: %+v, want up", first, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
