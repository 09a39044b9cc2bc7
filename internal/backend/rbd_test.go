//go:build ceph

package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/backend/rbd"
)

// With the ceph tag, Cinder's [rbd] options build the driver with Cinder's defaults, and bad
// values stop the start naming the key.
func TestNewRBD(t *testing.T) {
	for _, name := range []string{"rbd", "cinder.volume.drivers.rbd.RBDDriver"} {
		d, err := New(lvmSection(t, name, ""), "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := d.(*rbd.Driver)
		if r.Conn.Pool != "rbd" || r.Conn.ClusterName != "ceph" || r.MaxCloneDepth != 5 || r.ChunkSizeMiB != 4 ||
			r.FlattenFromSnapshot || !r.ExclusivePool || !r.DynamicTotalCapacity || r.Conn.Retries != 3 ||
			r.Conn.Interval != 5*time.Second || r.Conn.OpTimeout != 30*time.Second || r.Conn.Connect != 30*time.Second {
			t.Errorf("%s: defaults %+v", name, r)
		}
	}
	d, err := New(lvmSection(t, "rbd", "rbd_pool = volumes\nrbd_user = cinder\nrbd_ceph_conf = /etc/ceph/ceph.conf\n"+
		"rbd_secret_uuid = 457eb676-33da-42ec-9a8c-9293d545c337\nrbd_max_clone_depth = 0\nrbd_store_chunk_size = 8\n"+
		"rados_connect_timeout = 7\nrbd_flatten_volume_from_snapshot = true\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	r := d.(*rbd.Driver)
	if r.Conn.Pool != "volumes" || r.Conn.User != "cinder" || r.Conn.ConfFile != "/etc/ceph/ceph.conf" || r.MaxCloneDepth != 0 ||
		r.ChunkSizeMiB != 8 || r.Conn.Connect != 7*time.Second || !r.FlattenFromSnapshot || r.SecretUUID == "" {
		t.Errorf("set: %+v", r)
	}
	for _, c := range []struct{ extra, key string }{
		{"rbd_pool =\n", "rbd_pool"},
		{"rbd_max_clone_depth = -1\n", "rbd_max_clone_depth"},
		{"rbd_store_chunk_size = 3\n", "rbd_store_chunk_size"},
		{"rbd_store_chunk_size = x\n", "rbd_store_chunk_size"},
		{"rados_op_timeout = 0\n", "rados_op_timeout"},
		{"rbd_flatten_volume_from_snapshot = maybe\n", "rbd_flatten_volume_from_snapshot"},
	} {
		if _, err := New(lvmSection(t, "rbd", c.extra), ""); err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%q: err = %v, want one naming %s", c.extra, err, c.key)
		}
	}
}
