//go:build ceph

package ceph

import (
	"bytes"
	"context"
	"encoding/json"

	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/volumeio"
)

// The test cluster, as deploy/ceph/ceph-up.sh writes it to its env file.
type testCluster struct{ conf, user, keyring, pool, backupPool string }

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func clusterFromEnv() testCluster {
	return testCluster{
		conf:       env("SCORIA_TEST_CEPH_CONF", "/tmp/scoria-ceph/ceph.conf"),
		user:       env("SCORIA_TEST_CEPH_USER", "cinder"),
		keyring:    env("SCORIA_TEST_CEPH_KEYRING", "/tmp/scoria-ceph/ceph.client.cinder.keyring"),
		pool:       env("SCORIA_TEST_CEPH_POOL", "volumes"),
		backupPool: env("SCORIA_TEST_CEPH_BACKUP_POOL", "backups"),
	}
}

// fixture is a driver on the test cluster with connections to the volume and backup pools.
type fixture struct {
	t       testing.TB
	c       testCluster
	d       *Driver
	conn    *rados.Conn
	volumes *rados.IOContext
	backups *rados.IOContext
}

// requireCluster answers a fixture; without a cluster the test skips, or fails under CI=true.
func requireCluster(t testing.TB, chunk int) *fixture {
	t.Helper()
	c := clusterFromEnv()
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Ceph test cluster is needed under CI=true: %s", why)
		}
		t.Skipf("no Ceph test cluster: %s", why)
	}
	if testing.Short() {
		t.Skip("needs the Ceph test cluster (skipped with -short)")
	}
	if _, err := os.Stat(c.conf); err != nil {
		skip(err.Error())
	}
	conn, err := rados.NewConnWithUser(c.user)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadConfigFile(c.conf); err != nil {
		skip(err.Error())
	}
	_ = conn.SetConfigOption("keyring", c.keyring)
	if err := conn.Connect(); err != nil {
		skip(err.Error())
	}
	t.Cleanup(conn.Shutdown)
	vio, err := conn.OpenIOContext(c.pool)
	if err != nil {
		t.Fatalf("pool %s: %v", c.pool, err)
	}
	bio, err := conn.OpenIOContext(c.backupPool)
	if err != nil {
		t.Fatalf("backup pool %s (made by deploy/ceph/ceph-up.sh): %v", c.backupPool, err)
	}
	t.Cleanup(func() { vio.Destroy(); bio.Destroy() })
	d, err := NewDriver(Options{Conf: c.conf, User: c.user, Pool: c.backupPool, ChunkSize: chunk, RestoreDiscardExcess: true},
		logrus.New())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, c: c, d: d, conn: conn, volumes: vio, backups: bio}
}

// rbdDevice is a volumeio.RBDDevice on an image of the test cluster, opened with go-ceph.
type rbdDevice struct {
	img  *rbd.Image
	info volumeio.RBDImage
	size int64
}

func (r *rbdDevice) ReadAt(p []byte, off int64) (int, error)  { return r.img.ReadAt(p, off) }
func (r *rbdDevice) WriteAt(p []byte, off int64) (int, error) { return r.img.WriteAt(p, off) }
func (r *rbdDevice) Size() int64                              { return r.size }
func (r *rbdDevice) Close() error                             { return r.img.Close() }
func (r *rbdDevice) RBD() volumeio.RBDImage                   { return r.info }

// volume makes an RBD volume image of size bytes (removed at the end) and answers its id.
func (f *fixture) volume(size int64) string {
	f.t.Helper()
	id := uuid.NewString()
	name := "volume-" + id
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	_ = opts.SetUint64(rbd.ImageOptionFeatures, rbd.FeatureLayering|rbd.FeatureExclusiveLock|rbd.FeatureObjectMap|rbd.FeatureFastDiff)
	if err := rbd.CreateImage(f.volumes, name, uint64(size), opts); err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	f.t.Cleanup(func() { f.removeImage(f.volumes, name) })
	return id
}

func (f *fixture) removeImage(ioctx *rados.IOContext, name string) {
	img, err := rbd.OpenImage(ioctx, name, rbd.NoSnapshot)
	if err != nil {
		return
	}
	snaps, _ := img.GetSnapshotNames()
	for _, s := range snaps {
		_ = img.GetSnapshot(s.Name).Remove()
	}
	img.Close()
	_ = rbd.RemoveImage(ioctx, name)
}

// open answers a device on volume id's image.
func (f *fixture) open(id string) *rbdDevice {
	f.t.Helper()
	img, err := rbd.OpenImage(f.volumes, "volume-"+id, rbd.NoSnapshot)
	if err != nil {
		f.t.Fatal(err)
	}
	size, _ := img.GetSize()
	return &rbdDevice{img: img, size: int64(size), info: volumeio.RBDImage{
		ClusterName: "ceph", Pool: f.c.pool, Image: "volume-" + id, User: f.c.user}}
}

func (f *fixture) write(id string, off int64, p []byte) {
	f.t.Helper()
	dev := f.open(id)
	defer dev.Close()
	if _, err := dev.WriteAt(p, off); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(id string) []byte {
	f.t.Helper()
	dev := f.open(id)
	defer dev.Close()
	p := make([]byte, dev.Size())
	if _, err := dev.ReadAt(p, 0); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// rbdCLI runs the rbd command as the test user and decodes its JSON output into out.
func (f *fixture) rbdCLI(out any, args ...string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--conf", f.c.conf, "--id", f.c.user, "--keyring", f.c.keyring, "--format", "json"}, args...)
	cmd := exec.CommandContext(ctx, "rbd", full...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	b, err := cmd.Output()
	if err != nil {
		f.t.Fatalf("rbd %v: %v", args, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		f.t.Fatalf("rbd %v: %v in %s", args, err, b)
	}
}

// images answers `rbd ls` of pool.
func (f *fixture) images(pool string) map[string]bool {
	var names []string
	f.rbdCLI(&names, "ls", pool)
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// snaps answers `rbd snap ls` of pool/image.
func (f *fixture) snaps(pool, image string) []string {
	var list []struct {
		Name string `json:"name"`
	}
	f.rbdCLI(&list, "snap", "ls", pool+"/"+image)
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

// diffBytes answers the bytes `rbd diff` reports as data of pool/image@snap since fromSnap.
func (f *fixture) diffBytes(pool, image, snap, fromSnap string) int64 {
	args := []string{"diff"}
	if fromSnap != "" {
		args = append(args, "--from-snap", fromSnap)
	}
	args = append(args, pool+"/"+image+"@"+snap)
	var ext []struct {
		Offset int64  `json:"offset"`
		Length int64  `json:"length"`
		Exists string `json:"exists"`
	}
	f.rbdCLI(&ext, args...)
	var n int64
	for _, e := range ext {
		if e.Exists == "true" {
			n += e.Length
		}
	}
	return n
}

// fileDevice is a plain volumeio.Device on a file (what a local or iSCSI attach answers).
type fileDevice struct {
	*os.File
	size int64
}

func (f fileDevice) Size() int64 { return f.size }

func newFileDevice(t testing.TB, size int64) fileDevice {
	t.Helper()
	fh, err := os.OpenFile(filepath.Join(t.TempDir(), "vol"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(size); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	return fileDevice{File: fh, size: size}
}

func randBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	r.Read(p)
	return p
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: bytes differ first at offset %d (len %d, want %d)", what, i, len(got), len(want))
	}
}

func backupImages(f *fixture, volumeID string) []string {
	var out []string
	for n := range f.images(f.c.backupPool) {
		if len(n) > len("volume-"+volumeID) && n[:len("volume-"+volumeID)] == "volume-"+volumeID {
			out = append(out, n)
		}
	}
	return out
}

func timeAgo() time.Time { return time.Now().Add(-time.Minute) }

func rbdOpen(f *fixture, name string) (*rbd.Image, error) {
	return rbd.OpenImage(f.backups, name, rbd.NoSnapshot)
}
