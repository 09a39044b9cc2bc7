//go:build ceph

package volumeio

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// The test cluster, as deploy/ceph/ceph-up.sh prints it (/tmp/scoria-ceph/env).
func cephEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// testImage makes an image of content in the test cluster's pool, removed at the end of t,
// and answers an I/O context to check it with. Without a cluster the test skips, or fails
// under CI=true.
func testImage(t *testing.T, content []byte) (conf, user, keyringPath, pool, image string, ioctx *rados.IOContext) {
	t.Helper()
	conf = cephEnv("SCORIA_TEST_CEPH_CONF", "/tmp/scoria-ceph/ceph.conf")
	user = cephEnv("SCORIA_TEST_CEPH_USER", "cinder")
	keyringPath = cephEnv("SCORIA_TEST_CEPH_KEYRING", "/tmp/scoria-ceph/ceph.client.cinder.keyring")
	pool = cephEnv("SCORIA_TEST_CEPH_POOL", "volumes")
	fail := func(err error) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Ceph test cluster is needed under CI=true: %v", err)
		}
		t.Skipf("no Ceph test cluster: %v", err)
	}
	if _, err := os.Stat(conf); err != nil {
		fail(err)
	}
	conn, err := rados.NewConnWithUser(user)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadConfigFile(conf); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetConfigOption("keyring", keyringPath); err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(); err != nil {
		fail(err)
	}
	t.Cleanup(conn.Shutdown)
	if ioctx, err = conn.OpenIOContext(pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ioctx.Destroy)
	image = "volumeio-test-" + uuid.NewString()
	if err := rbd.CreateImage(ioctx, image, uint64(len(content)), rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rbd.RemoveImage(ioctx, image); err != nil {
			t.Errorf("remove image %s: %v", image, err)
		}
	})
	img, err := rbd.OpenImage(ioctx, image, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if _, err := img.WriteAt(content, 0); err != nil {
		t.Fatal(err)
	}
	return conf, user, keyringPath, pool, image, ioctx
}

func imageBytes(t *testing.T, ioctx *rados.IOContext, image string, n int) []byte {
	t.Helper()
	img, err := rbd.OpenImageReadOnly(ioctx, image, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	b := make([]byte, n)
	if _, err := img.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenRBD reads and writes an image of the real cluster, reached as the backend's
// connection info says, in the ways a backup host may be set up.
func TestOpenRBD(t *testing.T) {
	content := pattern(40, 6<<20)
	conf, user, keyringPath, pool, image, ioctx := testImage(t, content)
	keyring, err := os.ReadFile(keyringPath)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		cephConf string
		data     map[string]any
	}{
		{"monitors and keyring from the connection info, no ceph.conf", "",
			map[string]any{"hosts": []any{"127.0.0.1"}, "ports": []any{"6789"}, "keyring": string(keyring)}},
		{"keyring from ceph.conf", conf, map[string]any{"hosts": []string{"127.0.0.1"}, "ports": []string{"6789"}}},
		{"monitors and keyring from ceph.conf", conf, map[string]any{}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _, hook := newTestAttacher(t, nil)
			a.opts.CephConf = tc.cephConf
			data := map[string]any{"name": pool + "/" + image, "cluster_name": "ceph", "auth_username": user, "auth_enabled": true, "volume_id": "v"}
			for k, v := range tc.data {
				data[k] = v
			}
			info := driver.ConnectionInfo{DriverVolumeType: "rbd", Data: data}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			d, err := a.Open(ctx, info, ReadOnly)
			if err != nil {
				t.Fatal(err)
			}
			rd, ok := d.(RBDDevice)
			if !ok {
				t.Fatalf("%T is not an RBDDevice", d)
			}
			r := rd.RBD()
			if r.Pool != pool || r.Image != image || r.User != user || r.ClusterName != "ceph" || r.Keyring != data["keyring"] && data["keyring"] != nil {
				t.Errorf("RBD() = %+v", r)
			}
			if d.Size() != int64(len(content)) {
				t.Fatalf("Size() = %d, want %d", d.Size(), len(content))
			}
			mustEqual(t, "read from the image", readAll(t, d), content)
			if _, err := d.WriteAt([]byte{1}, 0); err == nil {
				t.Error("a read-only image took a write")
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}

			w, err := a.Open(ctx, info, ReadWrite)
			if err != nil {
				t.Fatal(err)
			}
			p := pattern(int64(41+i), 8192)
			off := int64(i+1) << 20
			if _, err := w.WriteAt(p, off); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteAt(p, w.Size()-10); err == nil {
				t.Error("a write past the end succeeded")
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			copy(content[off:], p)
			mustEqual(t, "the image after a write", imageBytes(t, ioctx, image, len(content)), content)
			if k := keyringKey(string(keyring)); strings.Contains(logged(hook), k) {
				t.Error("the key was logged")
			}
		})
	}
}

func TestOpenRBDRefusals(t *testing.T) {
	conf, user, _, pool, image, _ := testImage(t, make([]byte, 1<<20))
	a, _, _ := newTestAttacher(t, nil)
	a.opts.CephConf = conf
	for _, tc := range []struct {
		name, want string
		data       map[string]any
	}{
		{"no such image", "RBD image not found", map[string]any{"name": pool + "/" + image + "-missing", "auth_username": user}},
		{"no such pool", "open pool", map[string]any{"name": "nopool-" + image + "/" + image, "auth_username": user}},
		{"bad keyring", "holds no key", map[string]any{"name": pool + "/" + image, "auth_username": user, "keyring": "[client.cinder]\n"}},
		{"wrong key", "Permission denied", map[string]any{"name": pool + "/" + image, "auth_username": user, "keyring": "[client.cinder]\nkey = AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAA==\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			d, err := a.Open(ctx, driver.ConnectionInfo{DriverVolumeType: "rbd", Data: tc.data}, ReadOnly)
			if err == nil {
				d.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if errors.Is(err, ErrUnsupported) {
				t.Errorf("ErrUnsupported in a ceph build: %v", err)
			}
		})
	}
}
