package nfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/nfsjudge"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// The tests in this file run the driver against the REAL NFS server of deploy/nfs/nfs-up.sh
// (nfs-ganesha on 127.0.0.1, exports /export1 and /export2), built through the registry from
// a backend section as cinder.conf gives it. The data path runs through BindMounter, the TEST
// STAND-IN for the kernel NFS mount this machine lacks: it asks the real server for the
// share's MOUNT, then bind-mounts the directory that server exports. What the driver did is
// then judged by the server itself, over NFSv3 (internal/nfsjudge: MOUNT, FSSTAT, LOOKUP,
// GETATTR, READ) and through qemu's nfs:// driver, never by looking at the directory.

// serverConfig is one driver configuration of the tests against the real server.
type serverConfig struct {
	name   string
	qcow2  bool
	sparse bool
}

var serverConfigs = []serverConfig{
	{name: "raw-sparse", sparse: true},
	{name: "qcow2", qcow2: true, sparse: true},
}

// requireServer returns the real server's description, or skips (fails under CI=true) when
// the server does not answer or the test cannot bind-mount (it must run as root).
func requireServer(t testing.TB) nfsjudge.Env {
	t.Helper()
	env := nfsjudge.Require(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the NFS server tests bind-mount the exports (BindMounter, the TEST STAND-IN for an NFS mount) and must run as root under CI=true")
		}
		t.Skip("not root: the NFS server tests bind-mount the exports (BindMounter, the TEST STAND-IN for an NFS mount)")
	}
	for _, tool := range []string{"qemu-img", "qemu-io", "nfs-ls", "nfs-cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed under CI=true (Debian: qemu-utils, qemu-block-extra, libnfs-utils): %v", tool, err)
			}
			t.Skipf("%s is not installed (Debian: qemu-utils, qemu-block-extra, libnfs-utils)", tool)
		}
	}
	return env
}

// serverSection is the backend section of a driver on the real server's shares, plus extra
// shares (address → directory standing in for its export) for the down tests, as cinder.conf
// would give it.
func serverSection(t testing.TB, env nfsjudge.Env, c serverConfig, base string, extra map[string]string) driver.Section {
	t.Helper()
	shares := append([]string(nil), env.Shares...)
	exports := env.SubstituteExports()
	for addr, dir := range extra {
		shares = append(shares, addr)
		exports = append(exports, addr+"="+dir)
	}
	file := filepath.Join(t.TempDir(), "nfs_shares")
	if err := os.WriteFile(file, []byte(strings.Join(shares, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return driver.Section{
		Name: "nfs-" + c.name,
		File: "/etc/cinder/cinder.conf",
		Values: map[string]string{
			"nfs_shares_config":    file,
			SubstituteOption:       strings.Join(exports, ","),
			"nfs_mount_point_base": base,
			"nfs_snapshot_support": "true",
			"nfs_qcow2_volumes":    fmt.Sprint(c.qcow2),
			"nfs_sparsed_volumes":  fmt.Sprint(c.sparse),
			// The exports are shared with other tests running at the same time: "auto" would
			// leave Cinder's .cinderSecureEnvIndicator in the first one for all of them.
			"nas_secure_file_permissions": SecureFalse,
		},
		StatePath: t.TempDir(),
	}
}

// serverDriver builds the NFS driver on the real server through the registry (volume_driver
// = nfs), not yet set up. Its mount points are under a base of the test's own; at the end the
// bind mounts are undone and the base removed only once empty, so that no cleanup can ever
// reach through a bind mount into the server's exports.
func serverDriver(t testing.TB, env nfsjudge.Env, c serverConfig, extra map[string]string) *Driver {
	t.Helper()
	base, err := os.MkdirTemp("", "scoria-nfs-mnt-")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := drivertest.FromSection(t, Name, serverSection(t, env, c, base, extra)).(*Driver)
	if !ok {
		t.Fatal("volume_driver = nfs did not build *nfs.Driver")
	}
	bm, ok := d.Mounter.(*BindMounter)
	if !ok {
		t.Fatalf("mounter %T, want *BindMounter (scoria_test_nfs_exports is set)", d.Mounter)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range d.Shares {
			mp := d.mountPoint(s)
			if mounted, err := bm.mounted(mp); err == nil && mounted {
				if err := bm.Unmount(ctx, mp); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			}
			if err := os.Remove(mp); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cleanup: mount point %s: %v", mp, err)
			}
		}
		if err := os.Remove(base); err != nil {
			t.Errorf("cleanup: nfs_mount_point_base %s: %v", base, err)
		}
	})
	return d
}

// TestServerConformance runs the driver conformance suite on the real server's shares.
func TestServerConformance(t *testing.T) {
	env := requireServer(t)
	for _, c := range serverConfigs {
		t.Run(c.name, func(t *testing.T) {
			var d *Driver
			drivertest.Run(t, drivertest.Suite{
				New: func(t *testing.T) driver.Driver {
					d = serverDriver(t, env, c, nil)
					return d
				},
				Probe:    qemuProbe(&d),
				Protocol: "nfs",
				Workers:  4,
			})
		})
	}
}

// judgeCtx bounds one test's questions to the driver and the server.
func judgeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newVolume returns a volume of gib GiB with a fresh id, not yet made.
func newVolume(gib int) driver.Volume {
	id := newUUID()
	return driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: gib}
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("random id: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// judged is a driver on the real server with what the tests need to ask the server.
type judged struct {
	t   *testing.T
	d   *Driver
	env nfsjudge.Env
	c   serverConfig
}

// create makes volume v through the driver, deleted at the end of the test.
func (j judged) create(ctx context.Context, v driver.Volume) driver.Volume {
	j.t.Helper()
	data, err := j.d.Create(ctx, v)
	if err != nil {
		j.t.Fatalf("Create %s: %v", v.ID, err)
	}
	v.Data = data
	j.t.Cleanup(func() { j.d.Delete(context.Background(), v) })
	return v
}

// url is the nfs:// URL of file name on volume v's share.
func (j judged) url(v driver.Volume, name string) string {
	return nfsjudge.URL(v.Data.Location, name)
}

// connection returns the nfs:// URL and format a hypervisor would open for v, from the
// connection info the driver returns.
func (j judged) connection(ctx context.Context, v driver.Volume) (string, string) {
	j.t.Helper()
	ci, err := j.d.InitializeConnection(ctx, v, driver.Connector{"host": "compute1", "ip": "127.0.0.1"})
	if err != nil {
		j.t.Fatalf("InitializeConnection %s: %v", v.ID, err)
	}
	export, _ := ci.Data["export"].(string)
	name, _ := ci.Data["name"].(string)
	format, _ := ci.Data["format"].(string)
	if ci.DriverVolumeType != "nfs" || export != v.Data.Location || name == "" || format == "" {
		j.t.Fatalf("connection info %+v: want driver_volume_type nfs, export %s, a name and a format", ci, v.Data.Location)
	}
	return nfsjudge.URL(export, name), format
}

// readNFS reads n bytes at off of the image at url, in format, as the server serves them:
// over NFSv3 READ for raw, through qemu's nfs:// driver for qcow2.
func readNFS(ctx context.Context, url, format string, off, n int64) ([]byte, error) {
	if format == FormatRaw {
		return nfsjudge.ReadAt(ctx, url, off, n)
	}
	return nfsjudge.QemuIORead(ctx, url, format, off, n)
}

// wantBytes fails the test unless the image at url holds want at off over NFS.
func wantBytes(ctx context.Context, t *testing.T, what, url, format string, off int64, want []byte) {
	t.Helper()
	got, err := readNFS(ctx, url, format, off, int64(len(want)))
	if err != nil {
		t.Fatalf("%s: read %s over NFS: %v", what, url, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %s at %d holds %q… over NFS, want %q…", what, url, off, head(got), head(want))
	}
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

// wantImage fails the test unless qemu-img info over nfs:// shows the format, virtual size and
// backing file name given.
func wantImage(ctx context.Context, t *testing.T, url, format string, size int64, backing string) {
	t.Helper()
	if err := checkImage(ctx, url, format, size, backing); err != nil {
		t.Fatal(err)
	}
}

func checkImage(ctx context.Context, url, format string, size int64, backing string) error {
	f, vs, bf, err := nfsjudge.QemuImgInfo(ctx, url)
	if err != nil {
		return fmt.Errorf("qemu-img info %s: %w", url, err)
	}
	if f != format || vs != size || bf != backing {
		return fmt.Errorf("qemu-img info %s: format %s, virtual size %d, backing %q; want %s, %d, %q", url, f, vs, bf, format, size, backing)
	}
	return nil
}

// wantSize fails the test unless the server's READ says the file at url holds exactly size
// bytes: its last 4 KiB come back whole, and nothing past them. READ goes to the file itself,
// so, unlike GETATTR's size, it cannot be an attribute ganesha cached before the driver changed
// the file behind its back (see staleFor).
func wantSize(ctx context.Context, t *testing.T, url string, size int64) {
	t.Helper()
	last, err := nfsjudge.ReadAt(ctx, url, size-4096, 4096)
	if err != nil {
		t.Fatalf("READ %s at %d: %v", url, size-4096, err)
	}
	past, err := nfsjudge.ReadAt(ctx, url, size, 1)
	if err != nil {
		t.Fatalf("READ %s at %d: %v", url, size, err)
	}
	if len(last) != 4096 || len(past) != 0 {
		t.Fatalf("%s over NFS: %d bytes at %d and %d past %d; want a file of exactly %d bytes", url, len(last), size-4096, len(past), size, size)
	}
}

// staleFor bounds how long the server may answer with what it cached of a file changed or
// removed behind its back: BindMounter (the TEST STAND-IN) makes the driver change files in
// the exported directory, not over NFS, and ganesha keeps the attributes (a file's size, that
// a name exists) it read when something — another test's nfs-ls, a share check's READDIR —
// looked at them before, past the export's Attr_Expiration_Time (60 s by default): 87 s was
// measured for a size here. A kernel NFS client would change them through the server, which
// would know at once.
const staleFor = 2 * time.Minute

// wantGone fails the test unless the server no longer has name: its READDIR (nfs-ls, a second
// client) does not list it at once, and LOOKUP answers NFS3ERR_NOENT within staleFor.
func wantGone(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	dir, name := url[:strings.LastIndex(url, "/")], url[strings.LastIndex(url, "/")+1:]
	out, err := exec.CommandContext(ctx, "nfs-ls", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("nfs-ls %s: %v: %s", dir, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == name {
			t.Fatalf("READDIR of %s over NFS still lists %s: %s", dir, name, line)
		}
	}
	deadline := time.Now().Add(staleFor)
	for {
		size, _, err := nfsjudge.Stat(ctx, url)
		switch {
		case err != nil && strings.Contains(err.Error(), "NFS3ERR_NOENT"):
			return
		case err != nil:
			t.Fatalf("stat %s over NFS: %v; want NFS3ERR_NOENT", url, err)
		case time.Now().After(deadline):
			t.Fatalf("%s is still served over NFS (%d bytes) %s after its removal", url, size, staleFor)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestServerJudge: the real NFS server sees what the driver made, with the right sizes,
// formats, backing files and bytes; what a hypervisor writes through nfs:// reaches the
// driver's clones, snapshots and reverts; extend and delete are seen over NFS.
func TestServerJudge(t *testing.T) {
	env := requireServer(t)
	for _, c := range serverConfigs {
		t.Run(c.name, func(t *testing.T) {
			d := serverDriver(t, env, c, nil)
			if err := d.Setup(judgeCtx(t)); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			j := judged{t: t, d: d, env: env, c: c}
			t.Run("Mount", j.testMount)
			t.Run("FSStat", j.testFSStat)
			t.Run("Files", j.testFiles)
			t.Run("Hypervisor", j.testHypervisor)
			t.Run("ExtendDelete", j.testExtendDelete)
		})
	}
	t.Run("raw-thick", func(t *testing.T) {
		c := serverConfig{name: "raw-thick"}
		d := serverDriver(t, env, c, nil)
		if err := d.Setup(judgeCtx(t)); err != nil {
			t.Fatalf("Setup: %v", err)
		}
		judged{t: t, d: d, env: env, c: c}.testFiles(t)
	})
}

// testMount: each share's MOUNT succeeds over RPC, and the driver reports its pool up.
func (j judged) testMount(t *testing.T) {
	j.t = t
	ctx := judgeCtx(t)
	st, err := j.d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, share := range j.env.Shares {
		host, export := nfsjudge.Split(share)
		if err := nfsjudge.Mount(ctx, host, export); err != nil {
			t.Errorf("MOUNT %s: %v", share, err)
		}
		p, ok := pool(st, share)
		if !ok || p.Extra["backend_state"] != "up" {
			t.Errorf("pool %s: %+v, want it reported up", share, p)
		}
	}
}

func pool(st driver.Stats, name string) (driver.Pool, bool) {
	for _, p := range st.Pools {
		if p.Name == name {
			return p, true
		}
	}
	return driver.Pool{}, false
}

// testFSStat: the capacity the driver reports for each pool is what the server's FSSTAT says.
// Both are rounded to 2 places of GiB (the driver's report is; the server's bytes are rounded
// here the same way). The total is fixed, so it must be equal. Free space moves while other
// tests write to the same file system, so the driver's free must lie between the server's
// answers just before and just after it (±0.01 GiB for rounding); a few tries are allowed, as
// a large write by another test between the three questions can still move it.
func (j judged) testFSStat(t *testing.T) {
	j.t = t
	ctx := judgeCtx(t)
	gib := func(b uint64) float64 { return math.Round(float64(b)/float64(driver.GiB)*100) / 100 }
	for _, share := range j.env.Shares {
		host, export := nfsjudge.Split(share)
		var last string
		for try := 0; try < 5; try++ {
			before, err := nfsjudge.FSStat(ctx, host, export)
			if err != nil {
				t.Fatalf("FSSTAT %s: %v", share, err)
			}
			st, err := j.d.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			after, err := nfsjudge.FSStat(ctx, host, export)
			if err != nil {
				t.Fatalf("FSSTAT %s: %v", share, err)
			}
			p, ok := pool(st, share)
			if !ok || !p.TotalCapacityGB.Known() || !p.FreeCapacityGB.Known() {
				t.Fatalf("pool %s: %+v, want known capacity", share, p)
			}
			total, free := float64(p.TotalCapacityGB), float64(p.FreeCapacityGB)
			lo := math.Min(gib(before.AvailBytes), gib(after.AvailBytes)) - 0.01
			hi := math.Max(gib(before.AvailBytes), gib(after.AvailBytes)) + 0.01
			if total == gib(before.TotalBytes) && total == gib(after.TotalBytes) && free >= lo && free <= hi {
				last = ""
				break
			}
			last = fmt.Sprintf("pool %s: total %.2f, free %.2f GiB; FSSTAT says total %.2f/%.2f, available %.2f/%.2f GiB (before/after)",
				share, total, free, gib(before.TotalBytes), gib(after.TotalBytes), gib(before.AvailBytes), gib(after.AvailBytes))
		}
		if last != "" {
			t.Error(last)
		}
	}
}

// pattern4k is 4 KiB of fill.
func pattern4k(fill byte) []byte { return bytes.Repeat([]byte{fill}, 4096) }

// testFiles: each volume and snapshot file is on the server with the right size, sparse or
// full as configured, format, backing file and bytes.
func (j judged) testFiles(t *testing.T) {
	j.t = t
	ctx := judgeCtx(t)
	var d = j.d
	probe := qemuProbe(&d)
	v := j.create(ctx, newVolume(1))
	name := driver.StorageName(v.ID)
	url := j.url(v, name)
	want := pattern4k('F')
	off := driver.GiB / 2
	if err := probe.WriteAt(ctx, v, want, off); err != nil {
		t.Fatalf("write through the mounted share: %v", err)
	}
	size, used, err := nfsjudge.Stat(ctx, url)
	if err != nil {
		t.Fatalf("volume file over NFS: %v", err)
	}
	format := FormatRaw
	if j.c.qcow2 {
		format = FormatQCOW2
	}
	switch {
	case j.c.qcow2:
		// Cinder's qcow2 volumes are made with preallocation=metadata: the file's size is a
		// little over its virtual size, but only its metadata and what was written use space.
		if size < driver.GiB || used >= driver.GiB/16 {
			t.Errorf("qcow2 %s: size %d, allocated %d over NFS; want size ≥ 1 GiB (metadata preallocated), allocated ≪ 1 GiB", url, size, used)
		}
	case j.c.sparse:
		wantSize(ctx, t, url, driver.GiB)
		if used >= driver.GiB/16 {
			t.Errorf("sparse %s: allocated %d over NFS (GETATTR size %d); want allocated ≪ 1 GiB", url, used, size)
		}
	default:
		wantSize(ctx, t, url, driver.GiB)
		if used < driver.GiB {
			t.Errorf("regular %s: allocated %d over NFS (GETATTR size %d); want 1 GiB allocated (nfs_sparsed_volumes = false)", url, used, size)
		}
	}
	if j.c.qcow2 {
		wantImage(ctx, t, url, format, driver.GiB, "")
	} else if f, _, bf, err := nfsjudge.QemuImgInfo(ctx, url); err != nil || f != FormatRaw || bf != "" {
		// A raw file's virtual size is its GETATTR size, which may be cached (staleFor): READ
		// proved the size above.
		t.Errorf("qemu-img info %s: format %s, backing %q (%v); want raw without a backing file", url, f, bf, err)
	}
	wantBytes(ctx, t, "volume", url, format, off, want)

	sn := driver.Snapshot{ID: newUUID(), VolumeID: v.ID, SizeGiB: v.SizeGiB}
	sn.Name = driver.SnapshotStorageName(sn.ID)
	sdata, err := d.CreateSnapshot(ctx, sn, v)
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	sn.Data = sdata
	overlay := name + "." + sn.ID
	ourl := j.url(v, overlay)
	if _, _, err := nfsjudge.Stat(ctx, ourl); err != nil {
		t.Fatalf("snapshot overlay over NFS: %v", err)
	}
	// Cinder's chain: the overlay names its backing file relatively, with its format.
	wantImage(ctx, t, ourl, FormatQCOW2, driver.GiB, name)
	info, err := nfsjudge.Cat(ctx, j.url(v, name+".info"))
	if err != nil {
		t.Fatalf(".info over NFS: %v", err)
	}
	var chain map[string]string
	if err := json.Unmarshal(info, &chain); err != nil || chain["active"] != overlay || chain[sn.ID] != overlay {
		t.Errorf(".info over NFS: %s (%v); want active and %s both %s", info, err, sn.ID, overlay)
	}
	if err := d.DeleteSnapshot(ctx, sn, v); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	wantGone(ctx, t, ourl)
	wantBytes(ctx, t, "volume after its snapshot's delete", url, format, off, want)
}

// testHypervisor: data a hypervisor writes at the nfs:// URL of the connection info reaches
// the driver's clone, snapshot (volume from snapshot) and revert.
func (j judged) testHypervisor(t *testing.T) {
	j.t = t
	ctx := judgeCtx(t)
	d := j.d
	probe := qemuProbe(&d)
	v := j.create(ctx, newVolume(1))
	url, format := j.connection(ctx, v)
	wantFormat := FormatRaw
	if j.c.qcow2 {
		wantFormat = FormatQCOW2
	}
	if format != wantFormat || url != j.url(v, v.Name) {
		t.Fatalf("connection: %s as %s; want %s as %s", url, format, j.url(v, v.Name), wantFormat)
	}
	a, b := pattern4k('A'), pattern4k('B')
	offs := []int64{0, driver.GiB/2 + 512, driver.GiB - 4096}
	for _, off := range offs {
		if err := nfsjudge.QemuIOWrite(ctx, url, format, a, off); err != nil {
			t.Fatalf("hypervisor write over nfs://: %v", err)
		}
	}
	check := func(what string, w driver.Volume, want []byte) {
		t.Helper()
		u, f := j.connection(ctx, w)
		for _, off := range offs {
			wantBytes(ctx, t, what, u, f, off, want)
		}
	}

	clone := newVolume(1)
	cdata, err := d.CreateClonedVolume(ctx, clone, v)
	if err != nil {
		t.Fatalf("CreateClonedVolume: %v", err)
	}
	clone.Data = cdata
	t.Cleanup(func() { d.Delete(context.Background(), clone) })
	check("clone", clone, a)

	sn := driver.Snapshot{ID: newUUID(), VolumeID: v.ID, SizeGiB: v.SizeGiB}
	sn.Name = driver.SnapshotStorageName(sn.ID)
	sdata, err := d.CreateSnapshot(ctx, sn, v)
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	sn.Data = sdata
	t.Cleanup(func() { d.DeleteSnapshot(context.Background(), sn, v) })
	// The active file is now the overlay, whose relative backing file qemu cannot follow
	// over nfs:// (MNT3ERR_ACCES): the guest's write after the snapshot goes to the active
	// overlay on the mounted share, and the copies are checked over nfs://.
	if u, f := j.connection(ctx, v); f != FormatQCOW2 || u != j.url(v, v.Name+"."+sn.ID) {
		t.Fatalf("connection after the snapshot: %s as %s; want the overlay %s as qcow2", u, f, v.Name+"."+sn.ID)
	}
	for _, off := range offs {
		if err := probe.WriteAt(ctx, v, b, off); err != nil {
			t.Fatalf("write into the active overlay: %v", err)
		}
	}

	fromSnap := newVolume(1)
	fdata, err := d.CreateVolumeFromSnapshot(ctx, fromSnap, sn)
	if err != nil {
		t.Fatalf("CreateVolumeFromSnapshot: %v", err)
	}
	fromSnap.Data = fdata
	t.Cleanup(func() { d.Delete(context.Background(), fromSnap) })
	check("volume from snapshot", fromSnap, a)

	chained := newVolume(1)
	hdata, err := d.CreateClonedVolume(ctx, chained, v)
	if err != nil {
		t.Fatalf("CreateClonedVolume of a volume with a snapshot: %v", err)
	}
	chained.Data = hdata
	t.Cleanup(func() { d.Delete(context.Background(), chained) })
	check("clone after the snapshot", chained, b)

	if err := d.RevertToSnapshot(ctx, v, sn); err != nil {
		t.Fatalf("RevertToSnapshot: %v", err)
	}
	reverted := newVolume(1)
	rdata, err := d.CreateClonedVolume(ctx, reverted, v)
	if err != nil {
		t.Fatalf("CreateClonedVolume after the revert: %v", err)
	}
	reverted.Data = rdata
	t.Cleanup(func() { d.Delete(context.Background(), reverted) })
	check("clone of the reverted volume", reverted, a)
}

// testExtendDelete: extend shows the new size over NFS; delete leaves no file of the volume
// (nor of its snapshot) over NFS.
func (j judged) testExtendDelete(t *testing.T) {
	j.t = t
	ctx := judgeCtx(t)
	d := j.d
	v := j.create(ctx, newVolume(1))
	url := j.url(v, v.Name)
	format := FormatRaw
	if j.c.qcow2 {
		format = FormatQCOW2
	}
	if !j.c.qcow2 { // the test can fail: nothing is served at the last 4 KiB of 2 GiB yet
		if got, err := nfsjudge.ReadAt(ctx, url, 2*driver.GiB-4096, 4096); err != nil || len(got) != 0 {
			t.Fatalf("before the extend, READ %s at 2 GiB - 4 KiB: %d bytes (%v); want none", url, len(got), err)
		}
	}
	if err := d.ExtendVolume(ctx, v, 2); err != nil {
		t.Fatalf("ExtendVolume: %v", err)
	}
	v.SizeGiB = 2
	if j.c.qcow2 {
		// qemu reads the virtual size from the qcow2 header (READ): what the server holds now.
		wantImage(ctx, t, url, format, 2*driver.GiB, "")
	} else {
		// A raw file's virtual size is its GETATTR size, which ganesha answers from its cache
		// for up to about 90 s (staleFor) when it was cached before the extend: the size is
		// proven by READ instead, which reaches the file.
		wantSize(ctx, t, url, 2*driver.GiB)
	}
	sn := driver.Snapshot{ID: newUUID(), VolumeID: v.ID, SizeGiB: v.SizeGiB}
	if _, err := d.CreateSnapshot(ctx, sn, v); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	sn.Data = v.Data
	wantImage(ctx, t, j.url(v, v.Name+"."+sn.ID), FormatQCOW2, 2*driver.GiB, v.Name)
	if err := d.DeleteSnapshot(ctx, sn, v); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	if err := d.Delete(ctx, v); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, name := range []string{v.Name, v.Name + "." + sn.ID, v.Name + ".info"} {
		wantGone(ctx, t, j.url(v, name))
	}
}

// TestServerShareDown: a share whose server does not answer MOUNT — an export the real server
// does not have, or an address nothing serves — is a pool reported down with a reason naming
// the share while the real shares stay up; a create on it fails with driver.ErrUnavailable and
// leaves nothing behind. The shared ganesha is never stopped.
func TestServerShareDown(t *testing.T) {
	env := requireServer(t)
	for _, c := range []struct{ name, share string }{
		{"export not exported", "127.0.0.1:/nonexistent"},
		{"address nothing serves", "127.0.0.2:/export1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := judgeCtx(t)
			dir := t.TempDir() // the directory that would be bind-mounted: must stay untouched
			d := serverDriver(t, env, serverConfig{name: "down", sparse: true}, map[string]string{c.share: dir})
			d.CheckTimeout = 5 * time.Second
			if err := d.Setup(ctx); err != nil {
				t.Fatalf("Setup with a share down: %v (a share down must not stop the service)", err)
			}
			st, err := d.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, share := range append(append([]string(nil), env.Shares...), c.share) {
				p, ok := pool(st, share)
				if !ok {
					t.Fatalf("no pool %s in %+v", share, st.Pools)
				}
				state, reason := p.Extra["backend_state"], fmt.Sprint(p.Extra["backend_state_reason"])
				if share != c.share {
					if state != "up" || !p.TotalCapacityGB.Known() {
						t.Errorf("pool %s: state %v, total %s; want up with a known capacity", share, state, p.TotalCapacityGB)
					}
					continue
				}
				if state != "down" || !strings.Contains(reason, c.share) || !p.TotalCapacityGB.IsUnknown() || !p.FreeCapacityGB.IsUnknown() {
					t.Errorf("pool %s: state %v, reason %q, total %s, free %s; want down, a reason naming the share, unknown capacity", share, state, reason, p.TotalCapacityGB, p.FreeCapacityGB)
				}
			}
			v := newVolume(1)
			v.Pool = c.share
			if _, err := d.Create(ctx, v); !errors.Is(err, driver.ErrUnavailable) {
				t.Errorf("Create on pool %s: %v; want driver.ErrUnavailable", c.share, err)
			}
			// Nothing behind: not on the down share's directory (never bind-mounted), not on the
			// real shares (over NFS), and no mount at the down share's mount point.
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("directory of %s: %v (%v); want it empty", c.share, entries, err)
			}
			for _, share := range env.Shares {
				wantGone(ctx, t, nfsjudge.URL(share, v.Name))
				wantGone(ctx, t, nfsjudge.URL(share, v.Name+tmpSuffix))
			}
			mp := d.mountPoint(Share{Address: c.share})
			if mounted, err := d.Mounter.(*BindMounter).mounted(mp); err != nil || mounted {
				t.Errorf("mount point %s of the down share: mounted %v (%v); want nothing mounted", mp, mounted, err)
			}
		})
	}
}

// TestMeasureCapacityWhileFilesVanish: the share's files change while its capacity is
// measured — another backend's driver on the same share, or this one's own concurrent
// creates renaming volume-<id>.partial into place. A file that vanishes between the directory
// read and its lstat must not fail the measure (which reports the share down and makes it
// ineligible for every create); the real server's tests saw exactly that under load.
func TestMeasureCapacityWhileFilesVanish(t *testing.T) {
	dir := t.TempDir()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := filepath.Join(dir, fmt.Sprintf("volume-%d%s", i%64, tmpSuffix))
			if err := os.WriteFile(p, nil, 0o600); err == nil {
				os.Remove(p)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		if _, err := MeasureCapacity(dir); err != nil {
			t.Fatalf("measure %d while files come and go: %v", n, err)
		}
	}
}
