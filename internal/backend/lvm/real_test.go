package lvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// realVG is a volume group on a loop device made from a sparse file, driven by the real
// lvm2. On a kernel with device-mapper, LVs are activated as in production; on one without,
// confFile turns activation off so that the metadata operations can still be tested, and
// activeConf (activation on, as a production lvm.conf has it) lets a test see what the
// kernel itself refuses.
type realVG struct {
	name       string
	confFile   string // the conf the drivers use: activation off only without device-mapper
	activeConf string // the same devices with activation on
	dm         bool   // this kernel has device-mapper
}

// deviceMapper reports whether this kernel has device-mapper: /proc/misc lists it and its
// control node opens. A probe that cannot be read fails the test, and so does a kernel that
// lists it with a control node that does not open (a broken /dev, not an answer).
func deviceMapper(t *testing.T) bool {
	t.Helper()
	raw, err := os.ReadFile("/proc/misc")
	if err != nil {
		t.Fatalf("read /proc/misc: %v", err)
	}
	listed := false
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "device-mapper" {
			listed = true
		}
	}
	if !listed {
		return false
	}
	f, err := os.OpenFile("/dev/mapper/control", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("/proc/misc lists device-mapper but its control node does not open: %v", err)
	}
	f.Close()
	return true
}

// needReal skips (fails under CI=true) when the real lvm2, root or loop devices are missing.
func needReal(t *testing.T) {
	t.Helper()
	miss := ""
	switch {
	case os.Geteuid() != 0:
		miss = "root"
	case !found("lvm"):
		miss = "lvm2 (apt-get install lvm2)"
	case !found("losetup"):
		miss = "losetup"
	default:
		if _, err := os.Stat("/dev/loop-control"); err != nil {
			miss = "loop devices (/dev/loop-control)"
		}
	}
	if miss == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the LVM integration tests need %s", miss)
	}
	t.Skipf("needs %s", miss)
}

func found(bin string) bool { _, err := exec.LookPath(bin); return err == nil }

func sh(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, err := ExecRunner{}.Run(context.Background(), env, name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return strings.TrimSpace(string(out))
}

// newRealVG makes a volume group of sizeGiB on a fresh loop device, removed at cleanup.
func newRealVG(t *testing.T, sizeGiB int) realVG {
	t.Helper()
	needReal(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "pv.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(sizeGiB) * driver.GiB); err != nil {
		t.Fatal(err)
	}
	f.Close()
	loop := sh(t, nil, "losetup", "-f", "--show", img)
	t.Cleanup(func() { _, _ = ExecRunner{}.Run(context.Background(), nil, "losetup", "-d", loop) })
	common := fmt.Sprintf(`devices { filter = [ "a|^%s$|", "r|.*|" ] obtain_device_list_from_udev = 0 }
backup { backup = 0 archive = 0 }
`, loop)
	// LVM_SYSTEM_DIR is the conf file's directory, so each conf has a directory of its own.
	writeConf := func(sub, text string) string {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, sub, "lvm.conf")
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return conf
	}
	vg := realVG{name: fmt.Sprintf("scoria-test-%d", time.Now().UnixNano()), dm: deviceMapper(t)}
	vg.activeConf = writeConf("active", common)
	vg.confFile = vg.activeConf
	if !vg.dm {
		vg.confFile = writeConf("metadata-only", "global { activation = 0 }\n"+common)
	}
	dir = filepath.Dir(vg.confFile)
	env := []string{"LC_ALL=C", "LVM_SYSTEM_DIR=" + dir, "LVM_SUPPRESS_FD_WARNINGS=1"}
	sh(t, env, "lvm", "pvcreate", "-y", loop)
	sh(t, env, "lvm", "vgcreate", vg.name, loop)
	t.Cleanup(func() {
		_, _ = ExecRunner{}.Run(context.Background(), env, "lvm", "vgremove", "-f", vg.name)
		_, _ = ExecRunner{}.Run(context.Background(), env, "lvm", "pvremove", "-y", loop)
	})
	return vg
}

// driver returns a driver on the group with the real lvm2; dd, which needs an active LV, goes
// to rec (a recording runner: see recorder).
func (vg realVG) driver(typ string, rec *recorder) *Driver {
	return &Driver{VolumeGroup: vg.name, Type: typ, ConfFile: vg.confFile, Clear: ClearZero,
		SuppressFDWarnings: true, BackendName: "lvm", OverSub: "20.0", Reserved: 5,
		Runner: ddTo{rec}}
}

// ddTo runs lvm for real and hands dd to the recorder.
type ddTo struct{ rec *recorder }

func (r ddTo) Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	if name == "dd" {
		return r.rec.Run(ctx, env, name, args...)
	}
	return ExecRunner{}.Run(ctx, env, name, args...)
}

func TestRealThickLifecycle(t *testing.T) {
	vg := newRealVG(t, 8)
	rec := newRecorder("")
	d := vg.driver(TypeDefault, rec)
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	before, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := before.Pools[0]
	if p.Name != "lvm" || !p.ThickProvisioningSupport || p.ThinProvisioningSupport || p.TotalCapacityGB < 7.9 || p.TotalCapacityGB > 8 ||
		p.FreeCapacityGB != p.TotalCapacityGB || p.ReservedPercentage != 5 || p.MaxOverSubscriptionRatio != "20.0" || before.StorageProtocol != "iSCSI" {
		t.Fatalf("empty group: %+v", p)
	}

	// Idempotence, Exists and missing volumes are the conformance suite's (TestConformance);
	// this test checks what is LVM's own: names, figures and the commands run.
	v := driver.Volume{ID: "11111111-2222-3333-4444-555555555555", SizeGiB: 1}
	if _, err := d.Create(ctx, v); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if got := d.DevicePath(v); got != "/dev/"+vg.name+"/volume-"+v.ID {
		t.Errorf("DevicePath = %s", got)
	}
	checkSize := func(want int) {
		t.Helper()
		lvs, err := d.lvs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := lvs["volume-"+v.ID].bytes(); got != int64(want)*driver.GiB {
			t.Fatalf("size = %d, want %d GiB", got, want)
		}
	}
	checkSize(1)
	if err := d.ExtendVolume(ctx, v, 3); err != nil {
		t.Fatalf("ExtendVolume: %v", err)
	}
	checkSize(3)
	if err := d.ExtendVolume(ctx, v, 2); err != nil { // already larger: nothing to do
		t.Fatalf("ExtendVolume smaller: %v", err)
	}
	checkSize(3)

	st, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p = st.Pools[0]
	if p.FreeCapacityGB != before.Pools[0].FreeCapacityGB-3 || p.ProvisionedCapacityGB != 3 || p.AllocatedCapacityGB != 3 || p.Extra["total_volumes"] != 1 {
		t.Errorf("after a 3 GiB volume: %+v", p)
	}

	if err := d.Delete(ctx, v); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// volume_clear = zero: the whole 3 GiB device was zeroed once, by dd, before lvremove.
	want := []string{"dd if=/dev/zero of=/dev/" + vg.name + "/volume-" + v.ID + " bs=1M count=3072 oflag=direct conv=fdatasync"}
	if got := rec.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("data commands:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	after, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Pools[0].FreeCapacityGB != before.Pools[0].FreeCapacityGB {
		t.Errorf("free after delete = %v, want %v", after.Pools[0].FreeCapacityGB, before.Pools[0].FreeCapacityGB)
	}
}

// TestRealSetupFailures: a missing volume group or lvm binary is a Setup error with the
// reason.
func TestRealSetupFailures(t *testing.T) {
	vg := newRealVG(t, 1)
	ctx := context.Background()
	cases := []struct {
		name string
		edit func(d *Driver)
		want string
	}{
		{"missing volume group", func(d *Driver) { d.VolumeGroup = "no-such-vg" }, `Volume group "no-such-vg" not found`},
		{"missing lvm binary", func(d *Driver) { d.LVMBinary = "/nonexistent/lvm" }, "lvm does not run"},
		{"empty volume group", func(d *Driver) { d.VolumeGroup = "" }, "volume_group is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := vg.driver(TypeDefault, newRecorder(""))
			c.edit(d)
			err := d.Setup(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Setup = %v, want an error with %q", err, c.want)
			}
			if _, serr := d.Stats(ctx); serr == nil && c.name == "missing volume group" {
				t.Error("Stats of a missing volume group succeeded")
			}
		})
	}
}

// TestRealThinNeedsDeviceMapper: lvm_type thin (and auto, since lvm2 lists the thin-pool
// segment type whatever the kernel) makes its thin pool at Setup with activation on, as a
// production lvm.conf has it. On a kernel with device-mapper that succeeds and the pool is
// there; on one without, Setup fails with the command and the kernel's reason (lvm's
// "Required device-mapper target(s) not detected"), not because of the test's own conf.
func TestRealThinNeedsDeviceMapper(t *testing.T) {
	for _, typ := range []string{TypeThin, TypeAuto} {
		t.Run(typ, func(t *testing.T) {
			vg := newRealVG(t, 1)
			d := vg.driver(typ, newRecorder(""))
			d.ConfFile = vg.activeConf
			ctx := context.Background()
			err := d.Setup(ctx)
			if !vg.dm {
				if err == nil || !strings.Contains(err.Error(), "create the thin pool") || !strings.Contains(err.Error(), "device-mapper") {
					t.Fatalf("Setup without device-mapper = %v, want the thin pool's creation failing for lack of device-mapper", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup with device-mapper: %v", err)
			}
			lvs, err := d.lvs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := lvs[d.poolName()]; !ok || !p.thinPool() {
				t.Fatalf("after Setup: no thin pool %s in %v", d.poolName(), lvs)
			}
		})
	}
}

// TestRealSnapshot: a thick snapshot needs device-mapper. With it, CreateSnapshot makes the
// snapshot (twice, as a redelivered message would) and DeleteSnapshot removes it; without it
// (LVs then exist as metadata only), CreateSnapshot fails with the command and lvm's reason
// and leaves nothing behind.
func TestRealSnapshot(t *testing.T) {
	vg := newRealVG(t, 4)
	d := vg.driver(TypeDefault, newRecorder(""))
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	v := driver.Volume{ID: "v1", SizeGiB: 1}
	if _, err := d.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	s := driver.Snapshot{ID: "s1", VolumeID: "v1", SizeGiB: 1}
	_, err := d.CreateSnapshot(ctx, s, v)
	if vg.dm {
		if err != nil {
			t.Fatalf("CreateSnapshot with device-mapper: %v", err)
		}
		if _, err := d.CreateSnapshot(ctx, s, v); err != nil {
			t.Fatalf("CreateSnapshot again (a redelivery): %v", err)
		}
		if ok, err := d.SnapshotExists(ctx, s); err != nil || !ok {
			t.Fatalf("SnapshotExists = %v, %v after a create", ok, err)
		}
		if err := d.DeleteSnapshot(ctx, s, v); err != nil {
			t.Fatalf("DeleteSnapshot: %v", err)
		}
		if ok, err := d.SnapshotExists(ctx, s); err != nil || ok {
			t.Fatalf("SnapshotExists = %v, %v after a delete", ok, err)
		}
	} else {
		if err == nil {
			t.Fatal("CreateSnapshot succeeded on a kernel without device-mapper")
		}
		if !strings.Contains(err.Error(), "lvcreate") || !strings.Contains(err.Error(), "device-mapper") {
			t.Errorf("CreateSnapshot error %q does not name the command and lvm's reason", err)
		}
		if ok, err := d.SnapshotExists(ctx, s); err != nil || ok {
			t.Errorf("SnapshotExists = %v, %v after a failed create", ok, err)
		}
	}
}

// TestRealNoSpace: a volume larger than the volume group fails with driver.ErrNoSpace (lvm's
// "insufficient free space") and leaves nothing behind.
func TestRealNoSpace(t *testing.T) {
	vg := newRealVG(t, 1)
	d := vg.driver(TypeDefault, newRecorder(""))
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	v := driver.Volume{ID: "big", SizeGiB: 4}
	_, err := d.Create(ctx, v)
	if !errors.Is(err, driver.ErrNoSpace) {
		t.Fatalf("Create of 4 GiB in a 1 GiB group = %v, want driver.ErrNoSpace", err)
	}
	if ok, err := d.Exists(ctx, v); err != nil || ok {
		t.Errorf("after a failed create: Exists = %v, %v", ok, err)
	}
}
