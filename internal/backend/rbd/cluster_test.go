//go:build ceph

package rbd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"
	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// The test cluster, as deploy/ceph/ceph-up.sh prints it. Never CEPH_KEYRING: librados would
// let it override every keyring.
const (
	envConf    = "SCORIA_TEST_CEPH_CONF"
	envUser    = "SCORIA_TEST_CEPH_USER"
	envKeyring = "SCORIA_TEST_CEPH_KEYRING"
	envPool    = "SCORIA_TEST_CEPH_POOL"
)

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// testCluster is how tests reach the single-node cluster of deploy/ceph/ceph-up.sh.
type testCluster struct{ conf, user, keyring, pool string }

func clusterFromEnv() testCluster {
	return testCluster{
		conf:    env(envConf, "/tmp/scoria-ceph/ceph.conf"),
		user:    env(envUser, "cinder"),
		keyring: env(envKeyring, "/tmp/scoria-ceph/ceph.client.cinder.keyring"),
		pool:    env(envPool, "volumes"),
	}
}

// requireCluster returns a driver on the test cluster, set up; without a cluster the test
// skips, or fails under CI=true.
func requireCluster(t *testing.T, tune func(*Driver)) (*Driver, testCluster) {
	t.Helper()
	c := clusterFromEnv()
	d := &Driver{
		Conn: ConnConfig{ClusterName: "ceph", ConfFile: c.conf, User: c.user, Keyring: c.keyring, Pool: c.pool,
			Connect: 10 * time.Second, OpTimeout: 30 * time.Second, Retries: 1, Interval: time.Second},
		MaxCloneDepth: 5, ChunkSizeMiB: 4, ExclusivePool: true, DynamicTotalCapacity: true,
		BackendName: "ceph-test", OverSub: "20.0",
	}
	if tune != nil {
		tune(d)
	}
	setUpOnCluster(t, d, c)
	return d, c
}

// setUpOnCluster sets d up on the test cluster c and closes it at the end of t; without a
// cluster the test skips, or fails under CI=true.
func setUpOnCluster(t *testing.T, d *Driver, c testCluster) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Ceph test cluster (skipped with -short)")
	}
	_, statErr := os.Stat(c.conf)
	var err error
	if statErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		err = d.Setup(ctx)
	}
	if statErr != nil || err != nil {
		msg := fmt.Sprintf("the Ceph test cluster (%s=%s; deploy/ceph/ceph-up.sh) cannot be used: %v%v", envConf, c.conf, statErr, err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, and %s", msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(d.Close)
}

// rbdCLI runs the rbd CLI as the test user and returns its stdout; t may be nil (a probe).
func (c testCluster) rbdCLI(t *testing.T, args ...string) ([]byte, error) {
	if t != nil {
		t.Helper()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"--conf", c.conf, "--id", c.user, "--keyring", c.keyring, "-p", c.pool}, args...)
	cmd := exec.CommandContext(ctx, "rbd", full...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CEPH_KEYRING=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("rbd %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// imageInfo is `rbd info --format json`, the fields the tests check.
type imageInfo struct {
	Name     string   `json:"name"`
	Size     int64    `json:"size"`
	Order    int      `json:"order"`
	Format   int      `json:"format"`
	Features []string `json:"features"`
	Parent   *struct {
		Pool     string `json:"pool"`
		Image    string `json:"image"`
		Snapshot string `json:"snapshot"`
		Overlap  int64  `json:"overlap"`
	} `json:"parent"`
}

// mustInfo is info of an image the test expects to exist: a missing one fails the test
// instead of reading as an image without parent or size.
func (c testCluster) mustInfo(t *testing.T, image string) imageInfo {
	t.Helper()
	i, ok := c.info(t, image)
	if !ok {
		t.Fatalf("rbd info %s: the image does not exist", image)
	}
	return i
}

func (c testCluster) info(t *testing.T, image string) (imageInfo, bool) {
	t.Helper()
	out, err := c.rbdCLI(t, "info", "--format", "json", image)
	if err != nil {
		if strings.Contains(err.Error(), "No such file") {
			return imageInfo{}, false
		}
		t.Fatal(err)
	}
	var i imageInfo
	if err := json.Unmarshal(out, &i); err != nil {
		t.Fatalf("rbd info %s: %v: %s", image, err, out)
	}
	return i, true
}

type snapInfo struct {
	Name      string `json:"name"`
	Protected string `json:"protected"`
}

func (c testCluster) snaps(t *testing.T, image string) map[string]snapInfo {
	t.Helper()
	out, err := c.rbdCLI(t, "snap", "ls", "--format", "json", image)
	if err != nil {
		t.Fatal(err)
	}
	var list []snapInfo
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("rbd snap ls %s: %v: %s", image, err, out)
	}
	m := map[string]snapInfo{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

func (c testCluster) children(t *testing.T, imageAtSnap string) []string {
	t.Helper()
	out, err := c.rbdCLI(t, "children", imageAtSnap)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newVolume creates a volume of gib GiB and removes it (and anything left of it) at the end.
func newVolume(t *testing.T, d *Driver, gib int) driver.Volume {
	t.Helper()
	v := volume(gib)
	if _, err := d.Create(ctxT(t), v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(d, v.ID) })
	return v
}

func volume(gib int) driver.Volume {
	id := uuid.NewString()
	return driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: gib}
}

// cleanup removes what a failed test may leave of volume id: its snapshots and its image.
func cleanup(d *Driver, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{driver.StorageName(id), driver.StorageName(id) + deletedSuffix} {
		_ = d.conns().do(ctx, "cleanup", func(s *session) error {
			img, err := rbd.OpenImage(s.ioctx, name, rbd.NoSnapshot)
			if err != nil {
				return err
			}
			snaps, _ := img.GetSnapshotNames()
			_ = img.Flatten()
			for _, sn := range snaps {
				_ = removeSnap(img, sn.Name)
			}
			img.Close()
			return rbd.RemoveImage(s.ioctx, name)
		})
	}
}

// writeAt writes data into the volume at off.
func writeAt(t *testing.T, d *Driver, image string, data []byte, off int64) {
	t.Helper()
	err := d.conns().do(ctxT(t), "write", func(s *session) error {
		img, err := rbd.OpenImage(s.ioctx, image, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		_, err = img.WriteAt(data, off)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readAt reads n bytes of the volume at off.
func readAt(t *testing.T, d *Driver, image string, n int, off int64) []byte {
	t.Helper()
	buf := make([]byte, n)
	err := d.conns().do(ctxT(t), "read", func(s *session) error {
		img, err := rbd.OpenImageReadOnly(s.ioctx, image, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		_, err = img.ReadAt(buf, off)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// isBusy reports whether err is ErrSnapshotBusy, and so the typed driver.ErrBusy.
func isBusy(err error) bool { return errors.Is(err, ErrSnapshotBusy) && errors.Is(err, driver.ErrBusy) }
