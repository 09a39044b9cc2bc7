package lvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// The paths that need an active logical volume or device-mapper (thin pools, snapshots, dd)
// cannot run on this kernel: these tests check the exact commands they issue, through the
// recorder. What runs on the real lvm2 is in real_test.go.

const (
	vid  = "vol1"
	sid  = "snap1"
	nvid = "vol2"
)

// recorded returns a driver of type typ on group "vg" set up through the recorder.
func recorded(t *testing.T, typ string, edit ...func(*Driver)) (*Driver, *recorder) {
	t.Helper()
	rec := newRecorder("vg")
	d := &Driver{VolumeGroup: "vg", Type: typ, Clear: ClearZero, BackendName: "b", OverSub: "20.0", Runner: rec}
	for _, e := range edit {
		e(d)
	}
	if typ != TypeDefault {
		rec.add("vg-pool", 60, "")
	}
	if err := d.Setup(context.Background()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	rec.lines()
	return d, rec
}

func checkLines(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	got := rec.lines()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	vol := driver.Volume{ID: vid, SizeGiB: 1}
	snap := driver.Snapshot{ID: sid, VolumeID: vid, SizeGiB: 1}
	const rm = "lvm lvremove --config activation { retry_deactivation = 1 } -f "
	cases := []struct {
		name  string
		typ   string
		edit  func(*Driver)
		setup func(r *recorder)
		run   func(d *Driver) error
		want  []string
	}{
		{name: "thick create", typ: TypeDefault,
			run:  func(d *Driver) error { _, err := d.Create(ctx, driver.Volume{ID: vid, SizeGiB: 2}); return err },
			want: []string{"lvm lvcreate -y -n volume-vol1 -L 2g vg"}},
		{name: "thin create", typ: TypeThin,
			run:  func(d *Driver) error { _, err := d.Create(ctx, driver.Volume{ID: vid, SizeGiB: 2}); return err },
			want: []string{"lvm lvcreate -y -n volume-vol1 -T -V 2g vg/vg-pool"}},
		{name: "create of an existing volume", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "") },
			run:   func(d *Driver) error { _, err := d.Create(ctx, vol); return err }},
		{name: "thick delete zeroes all", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 2, "") },
			run:   func(d *Driver) error { return d.Delete(ctx, vol) },
			want: []string{"dd if=/dev/zero of=/dev/vg/volume-vol1 bs=1M count=2048 oflag=direct conv=fdatasync",
				rm + "vg/volume-vol1"}},
		{name: "thick delete zeroes volume_clear_size", typ: TypeDefault, edit: func(d *Driver) { d.ClearSizeMiB = 100 },
			setup: func(r *recorder) { r.add("volume-vol1", 2, "") },
			run:   func(d *Driver) error { return d.Delete(ctx, vol) },
			want: []string{"dd if=/dev/zero of=/dev/vg/volume-vol1 bs=1M count=100 oflag=direct conv=fdatasync",
				rm + "vg/volume-vol1"}},
		{name: "thick delete with volume_clear none", typ: TypeDefault, edit: func(d *Driver) { d.Clear = ClearNone },
			setup: func(r *recorder) { r.add("volume-vol1", 2, "") },
			run:   func(d *Driver) error { return d.Delete(ctx, vol) },
			want:  []string{rm + "vg/volume-vol1"}},
		{name: "thin delete is not cleared", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 2, "vg-pool") },
			run:   func(d *Driver) error { return d.Delete(ctx, vol) },
			want:  []string{rm + "vg/volume-vol1"}},
		{name: "delete removes a partial copy", typ: TypeDefault, edit: func(d *Driver) { d.Clear = ClearNone },
			setup: func(r *recorder) { r.add("volume-vol1.partial", 2, "") },
			run:   func(d *Driver) error { return d.Delete(ctx, vol) },
			want:  []string{rm + "vg/volume-vol1.partial"}},
		{name: "delete of a missing volume", typ: TypeDefault,
			run: func(d *Driver) error { return d.Delete(ctx, vol) }},
		{name: "thick snapshot", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "") },
			run:   func(d *Driver) error { _, err := d.CreateSnapshot(ctx, snap, vol); return err },
			want:  []string{"lvm lvcreate -y --name _snapshot-snap1 --snapshot vg/volume-vol1 -L 1g"}},
		{name: "thin snapshot", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "vg-pool") },
			run:   func(d *Driver) error { _, err := d.CreateSnapshot(ctx, snap, vol); return err },
			want:  []string{"lvm lvcreate -y --name _snapshot-snap1 --snapshot vg/volume-vol1"}},
		{name: "snapshot that exists", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "vg-pool"); r.add("_snapshot-snap1", 1, "vg-pool") },
			run:   func(d *Driver) error { _, err := d.CreateSnapshot(ctx, snap, vol); return err }},
		{name: "thick snapshot delete clears its copy-on-write area", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 1, ""); r.add("_snapshot-snap1", 1, "") },
			run:   func(d *Driver) error { return d.DeleteSnapshot(ctx, snap, vol) },
			want: []string{"dd if=/dev/zero of=/dev/mapper/vg-_snapshot--snap1-cow bs=1M count=1024 oflag=direct conv=fdatasync",
				rm + "vg/_snapshot-snap1"}},
		{name: "thin snapshot delete", typ: TypeThin,
			setup: func(r *recorder) { r.add("_snapshot-snap1", 1, "vg-pool") },
			run:   func(d *Driver) error { return d.DeleteSnapshot(ctx, snap, vol) },
			want:  []string{rm + "vg/_snapshot-snap1"}},
		{name: "thick volume from snapshot, larger", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 1, ""); r.add("_snapshot-snap1", 1, "") },
			run: func(d *Driver) error {
				_, err := d.CreateVolumeFromSnapshot(ctx, driver.Volume{ID: nvid, SizeGiB: 3}, snap)
				return err
			},
			want: []string{"lvm lvcreate -y -n volume-vol2.partial -L 3g vg",
				"dd if=/dev/vg/_snapshot-snap1 of=/dev/vg/volume-vol2.partial bs=1M count=1024 iflag=direct oflag=direct conv=fdatasync",
				"lvm lvrename vg volume-vol2.partial volume-vol2"}},
		{name: "thick volume from snapshot restarts an interrupted copy", typ: TypeDefault,
			setup: func(r *recorder) { r.add("_snapshot-snap1", 1, ""); r.add("volume-vol2.partial", 1, "") },
			run: func(d *Driver) error {
				_, err := d.CreateVolumeFromSnapshot(ctx, driver.Volume{ID: nvid, SizeGiB: 1}, snap)
				return err
			},
			want: []string{rm + "vg/volume-vol2.partial",
				"lvm lvcreate -y -n volume-vol2.partial -L 1g vg",
				"dd if=/dev/vg/_snapshot-snap1 of=/dev/vg/volume-vol2.partial bs=1M count=1024 iflag=direct oflag=direct conv=fdatasync",
				"lvm lvrename vg volume-vol2.partial volume-vol2"}},
		{name: "thin volume from snapshot, larger", typ: TypeThin,
			setup: func(r *recorder) { r.add("_snapshot-snap1", 1, "vg-pool") },
			run: func(d *Driver) error {
				_, err := d.CreateVolumeFromSnapshot(ctx, driver.Volume{ID: nvid, SizeGiB: 2}, snap)
				return err
			},
			want: []string{"lvm lvcreate -y --name volume-vol2 --snapshot vg/_snapshot-snap1",
				"lvm lvchange -a y -K -k n vg/volume-vol2",
				"lvm lvextend -L 2g vg/volume-vol2"}},
		{name: "thick clone through a temporary snapshot", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "") },
			run: func(d *Driver) error {
				_, err := d.CreateClonedVolume(ctx, driver.Volume{ID: nvid, SizeGiB: 1}, vol)
				return err
			},
			want: []string{"lvm lvcreate -y --name clone-snap-vol2 --snapshot vg/volume-vol1 -L 1g",
				"lvm lvcreate -y -n volume-vol2.partial -L 1g vg",
				"dd if=/dev/vg/clone-snap-vol2 of=/dev/vg/volume-vol2.partial bs=1M count=1024 iflag=direct oflag=direct conv=fdatasync",
				"lvm lvrename vg volume-vol2.partial volume-vol2",
				rm + "vg/clone-snap-vol2"}},
		{name: "thin clone", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "vg-pool") },
			run: func(d *Driver) error {
				_, err := d.CreateClonedVolume(ctx, driver.Volume{ID: nvid, SizeGiB: 1}, vol)
				return err
			},
			want: []string{"lvm lvcreate -y --name volume-vol2 --snapshot vg/volume-vol1",
				"lvm lvchange -a y -K -k n vg/volume-vol2"}},
		{name: "clone that exists is only grown", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "vg-pool"); r.add("volume-vol2", 1, "vg-pool") },
			run: func(d *Driver) error {
				_, err := d.CreateClonedVolume(ctx, driver.Volume{ID: nvid, SizeGiB: 2}, vol)
				return err
			},
			want: []string{"lvm lvextend -L 2g vg/volume-vol2"}},
		{name: "thick revert copies the snapshot back", typ: TypeDefault,
			setup: func(r *recorder) { r.add("volume-vol1", 1, ""); r.add("_snapshot-snap1", 1, "") },
			run:   func(d *Driver) error { return d.RevertToSnapshot(ctx, vol, snap) },
			want:  []string{"dd if=/dev/vg/_snapshot-snap1 of=/dev/vg/volume-vol1 bs=1M count=1024 iflag=direct oflag=direct conv=fdatasync"}},
		{name: "thin revert activates the snapshot first", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "vg-pool"); r.add("_snapshot-snap1", 1, "vg-pool") },
			run:   func(d *Driver) error { return d.RevertToSnapshot(ctx, vol, snap) },
			want: []string{"lvm lvchange -a y -K vg/_snapshot-snap1",
				"dd if=/dev/vg/_snapshot-snap1 of=/dev/vg/volume-vol1 bs=1M count=1024 iflag=direct oflag=direct conv=fdatasync"}},
		{name: "thin extend", typ: TypeThin,
			setup: func(r *recorder) { r.add("volume-vol1", 1, "vg-pool") },
			run:   func(d *Driver) error { return d.ExtendVolume(ctx, vol, 4) },
			want:  []string{"lvm lvextend -L 4g vg/volume-vol1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var edits []func(*Driver)
			if c.edit != nil {
				edits = append(edits, c.edit)
			}
			d, rec := recorded(t, c.typ, edits...)
			if c.setup != nil {
				c.setup(rec)
			}
			if err := c.run(d); err != nil {
				t.Fatalf("%v", err)
			}
			checkLines(t, rec, c.want...)
		})
	}
}

func TestCommandFailures(t *testing.T) {
	ctx := context.Background()
	snap := driver.Snapshot{ID: sid, SizeGiB: 1}
	cases := []struct {
		name   string
		setup  func(r *recorder)
		failOn string
		run    func(d *Driver) error
		want   string
		left   []string // the logical volumes left afterwards
	}{
		{name: "snapshot of a missing volume",
			run:  func(d *Driver) error { _, err := d.CreateSnapshot(ctx, snap, driver.Volume{ID: vid}); return err },
			want: "logical volume not found"},
		{name: "volume from a missing snapshot",
			run: func(d *Driver) error {
				_, err := d.CreateVolumeFromSnapshot(ctx, driver.Volume{ID: nvid, SizeGiB: 1}, snap)
				return err
			},
			want: "logical volume not found"},
		{name: "revert of a missing snapshot", setup: func(r *recorder) { r.add("volume-vol1", 1, "") },
			run:  func(d *Driver) error { return d.RevertToSnapshot(ctx, driver.Volume{ID: vid}, snap) },
			want: "logical volume not found", left: []string{"volume-vol1"}},
		{name: "a failed copy leaves only the partial name and no temporary snapshot",
			setup: func(r *recorder) { r.add("volume-vol1", 1, "") }, failOn: "dd ",
			run: func(d *Driver) error {
				_, err := d.CreateClonedVolume(ctx, driver.Volume{ID: nvid, SizeGiB: 1}, driver.Volume{ID: vid, SizeGiB: 1})
				return err
			},
			want: "injected failure", left: []string{"volume-vol1", "volume-vol2.partial"}},
		{name: "a failed lvcreate names the command and stderr", failOn: "lvm lvcreate",
			run:  func(d *Driver) error { _, err := d.Create(ctx, driver.Volume{ID: vid, SizeGiB: 1}); return err },
			want: "create vg/volume-vol1: lvm lvcreate -y -n volume-vol1 -L 1g vg: exit status 5: injected failure"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, rec := recorded(t, TypeDefault, func(d *Driver) { d.Clear = ClearNone })
			if c.setup != nil {
				c.setup(rec)
			}
			rec.failOn = c.failOn
			err := c.run(d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			var left []string
			for n := range rec.lvs {
				left = append(left, n)
			}
			if strings.Join(sorted(left), ",") != strings.Join(c.left, ",") {
				t.Errorf("left %v, want %v", sorted(left), c.left)
			}
			if ok, err := d.Exists(ctx, driver.Volume{ID: nvid}); err != nil || ok {
				t.Errorf("a failed create left a volume Exists reports (exists %v, probe error %v)", ok, err)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

func TestSetupCommands(t *testing.T) {
	ctx := context.Background()
	t.Run("thin makes the missing pool from 95% of the free space", func(t *testing.T) {
		rec := newRecorder("vg")
		d := &Driver{VolumeGroup: "vg", Type: TypeThin, Runner: rec}
		if err := d.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		checkLines(t, rec, "lvm lvcreate -y -T -L 38912m vg/vg-pool") // 95% of 40 GiB
	})
	t.Run("auto is thin when lvm knows thin-pool", func(t *testing.T) {
		d, _ := recorded(t, TypeAuto)
		if !d.isThin() {
			t.Error("auto resolved to thick")
		}
	})
	t.Run("a thick volume named as the pool is refused", func(t *testing.T) {
		rec := newRecorder("vg")
		rec.lvs["vg-pool"] = lvReport{Name: "vg-pool", Size: "1", Attr: "-wi-a-----"}
		d := &Driver{VolumeGroup: "vg", Type: TypeThin, Runner: rec}
		if err := d.Setup(ctx); err == nil || !strings.Contains(err.Error(), "not a thin pool") {
			t.Fatalf("Setup = %v", err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "lvm.conf")
		if err := os.WriteFile(conf, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			conf     string
			suppress bool
			want     string
		}{
			{conf, true, "LC_ALL=C LVM_SYSTEM_DIR=" + filepath.Dir(conf) + " LVM_SUPPRESS_FD_WARNINGS=1"},
			{"/nonexistent/lvm.conf", false, "LC_ALL=C"},
			{"None", false, "LC_ALL=C"},
		} {
			rec := newRecorder("vg")
			d := &Driver{VolumeGroup: "vg", ConfFile: c.conf, SuppressFDWarnings: c.suppress, LVMBinary: "/sbin/lvm", Runner: rec}
			if _, err := d.lvm(ctx, "version"); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rec.envs[0], " "); got != c.want {
				t.Errorf("conf %q: env %q, want %q", c.conf, got, c.want)
			}
		}
	})
}

func TestThinStats(t *testing.T) {
	d, rec := recorded(t, TypeThin)
	rec.add("volume-a", 10, "vg-pool")
	rec.add("volume-b", 30, "vg-pool")
	rec.add("_snapshot-s", 10, "vg-pool")
	st, err := d.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := st.Pools[0]
	// The pool is 60 GiB, 25% used; 50 GiB provisioned in it, 40 of them volumes.
	if p.TotalCapacityGB != 60 || p.FreeCapacityGB != 45 || p.ProvisionedCapacityGB != 50 || p.AllocatedCapacityGB != 40 ||
		!p.ThinProvisioningSupport || p.ThickProvisioningSupport || p.Extra["total_volumes"] != 2 || p.Extra["lvm_type"] != "thin" {
		t.Errorf("thin pool stats: %+v", p)
	}
	delete(rec.lvs, "vg-pool")
	if _, err := d.Stats(context.Background()); err == nil {
		t.Error("Stats without the thin pool succeeded")
	}
}

func TestCommandErrorText(t *testing.T) {
	e := &CommandError{Command: []string{"lvm", "vgs", "vg"}, Err: errors.New("exit status 5"),
		Stderr: "File descriptor 3 (/dev/null) leaked on lvm invocation.\n  WARNING: Activation disabled. No device-mapper interaction will be attempted.\n  Volume group \"vg\" not found\n  Cannot process volume group vg\n"}
	if got, want := e.Error(), `lvm vgs vg: exit status 5: Volume group "vg" not found; Cannot process volume group vg`; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestTypedErrors: lvm's lack of room is driver.ErrNoSpace, with lvm's message kept.
func TestTypedErrors(t *testing.T) {
	fail := errors.New("exit status 5")
	tests := []struct {
		stderr string
		want   bool
	}{
		{`  Volume group "vg" has insufficient free space (10 extents): 256 required.`, true},
		{"  Insufficient free space: 512 extents needed, but only 10 available", true},
		{`  Volume group "vg" not found`, false},
	}
	for _, tc := range tests {
		t.Run(tc.stderr, func(t *testing.T) {
			ce := &CommandError{Command: []string{"lvm", "lvcreate"}, Stderr: tc.stderr, Err: fail}
			got := typed(ce)
			if errors.Is(got, driver.ErrNoSpace) != tc.want || got.Error() != ce.Error() || !errors.Is(got, fail) {
				t.Errorf("typed(%q) = %v (ErrNoSpace %v), want ErrNoSpace %v, the same message and chain", tc.stderr, got, errors.Is(got, driver.ErrNoSpace), tc.want)
			}
		})
	}
	if typed(nil) != nil {
		t.Error("typed(nil) != nil")
	}
}
