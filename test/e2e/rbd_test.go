//go:build ceph

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// rbdTestCluster is the Ceph cluster of deploy/ceph/ceph-up.sh, from its SCORIA_TEST_CEPH_*
// lines (defaults: the script's own).
type rbdTestCluster struct{ conf, user, keyring, pool string }

func requireCeph(t *testing.T) rbdTestCluster {
	t.Helper()
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	c := rbdTestCluster{
		conf:    get("SCORIA_TEST_CEPH_CONF", "/tmp/scoria-ceph/ceph.conf"),
		user:    get("SCORIA_TEST_CEPH_USER", "cinder"),
		keyring: get("SCORIA_TEST_CEPH_KEYRING", "/tmp/scoria-ceph/ceph.client.cinder.keyring"),
		pool:    get("SCORIA_TEST_CEPH_POOL", "volumes"),
	}
	if _, err := c.rbd("ls"); err != nil {
		unavailable(t, "the Ceph test cluster (deploy/ceph/ceph-up.sh, SCORIA_TEST_CEPH_CONF=%s) cannot be used: %v", c.conf, err)
	}
	return c
}

func (c rbdTestCluster) rbd(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rbd", append([]string{"--conf", c.conf, "--id", c.user, "--keyring", c.keyring, "-p", c.pool}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CEPH_KEYRING=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd.Output()
}

type rbdImage struct {
	Size   int64 `json:"size"`
	Parent *struct {
		Image    string `json:"image"`
		Snapshot string `json:"snapshot"`
	} `json:"parent"`
}

func (c rbdTestCluster) info(t *testing.T, image string) (rbdImage, bool) {
	t.Helper()
	out, err := c.rbd("info", "--format", "json", image)
	if err != nil {
		return rbdImage{}, false
	}
	var i rbdImage
	if err := json.Unmarshal(out, &i); err != nil {
		t.Fatalf("rbd info %s: %v", image, err)
	}
	return i, true
}

// TestRBDCinderCLI runs a volume service on an [rbd] section as written in a real
// cinder.conf and drives create, snapshot, volume from snapshot, clone, extend, attach with
// a connector and delete through the cinder CLI, checking each on the cluster with rbd.
func TestRBDCinderCLI(t *testing.T) {
	ceph := requireCeph(t)
	requireServers(t)
	c := startCluster(t, cluster.Options{Volumes: []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{
		Name: "ceph", Options: map[string]string{
			"volume_driver":                    "cinder.volume.drivers.rbd.RBDDriver",
			"volume_backend_name":              "ceph",
			"rbd_pool":                         ceph.pool,
			"rbd_ceph_conf":                    ceph.conf,
			"rbd_flatten_volume_from_snapshot": "false",
			"rbd_max_clone_depth":              "5",
			"rbd_store_chunk_size":             "4",
			"rados_connect_timeout":            "-1",
			"rbd_user":                         ceph.user,
			"rbd_keyring_conf":                 ceph.keyring,
			"rbd_secret_uuid":                  "457eb676-33da-42ec-9a8c-9293d545c337",
			"report_discard_supported":         "True",
		},
	}}}}})
	cli := attachCLI(t, c, "3.54")

	vid := parseProperties(cli.must("create", "--name", "rbd-src", "1"))["id"]
	shown := waitVolume(t, cli, vid, "available")
	if !strings.HasSuffix(shown["os-vol-host-attr:host"], "@ceph#ceph") {
		t.Errorf("host %q, want node1@ceph#ceph", shown["os-vol-host-attr:host"])
	}
	if img, ok := ceph.info(t, "volume-"+vid); !ok || img.Size != gib {
		t.Fatalf("rbd info volume-%s: %+v found %v", vid, img, ok)
	}

	sid := parseProperties(cli.must("snapshot-create", "--name", "rbd-snap", vid))["id"]
	cliWaitStatus(t, cli, "snapshot-show", sid, "available")
	if out, err := ceph.rbd("snap", "ls", "volume-"+vid); err != nil || !strings.Contains(string(out), "snapshot-"+sid) {
		t.Fatalf("rbd snap ls: %s %v", out, err)
	}

	fid := parseProperties(cli.must("create", "--snapshot-id", sid, "--name", "rbd-from-snap", "2"))["id"]
	waitVolume(t, cli, fid, "available")
	if img, _ := ceph.info(t, "volume-"+fid); img.Parent == nil || img.Parent.Image != "volume-"+vid ||
		img.Parent.Snapshot != "snapshot-"+sid || img.Size != 2*gib {
		t.Errorf("volume from snapshot: %+v parent %+v", img, img.Parent)
	}

	cid := parseProperties(cli.must("create", "--source-volid", vid, "--name", "rbd-clone", "1"))["id"]
	waitVolume(t, cli, cid, "available")
	if img, _ := ceph.info(t, "volume-"+cid); img.Parent == nil || img.Parent.Snapshot != "volume-"+cid+".clone_snap" {
		t.Errorf("clone: %+v parent %+v", img, img.Parent)
	}

	cli.must("extend", vid, "2")
	waitVolume(t, cli, vid, "available")
	if img, _ := ceph.info(t, "volume-"+vid); img.Size != 2*gib {
		t.Errorf("after extend: size %d", img.Size)
	}

	const server = "11111111-2222-3333-4444-555555555555"
	att := parseProperties(cli.must("attachment-create", "--connect", "True", "--ip", "127.0.0.1", "--host", "compute-1",
		"--platform", "x86_64", "--ostype", "linux", "--mode", "rw", vid, server))
	if att["driver_volume_type"] != "rbd" || att["name"] != ceph.pool+"/volume-"+vid || !strings.Contains(att["hosts"], "127.0.0.1") ||
		!strings.Contains(att["ports"], "6789") || att["auth_username"] != ceph.user || att["secret_type"] != "ceph" ||
		att["secret_uuid"] != "457eb676-33da-42ec-9a8c-9293d545c337" || att["cluster_name"] != "ceph" || att["volume_id"] != vid ||
		!strings.Contains(att["keyring"], "[client."+ceph.user+"]") {
		t.Errorf("attachment-create --connect: %v", att)
	}
	cli.must("attachment-delete", att["id"])
	waitVolume(t, cli, vid, "available")

	// The source goes first: its clone keeps it as volume-<id>.deleted until the clone goes.
	cli.must("delete", fid)
	cliWaitStatus(t, cli, "show", fid, "gone")
	cli.must("snapshot-delete", sid)
	cliWaitStatus(t, cli, "snapshot-show", sid, "gone")
	cli.must("delete", vid)
	cliWaitStatus(t, cli, "show", vid, "gone")
	if _, ok := ceph.info(t, "volume-"+vid+".deleted"); !ok {
		t.Errorf("the source of a clone is not kept as volume-%s.deleted", vid)
	}
	cli.must("delete", cid)
	cliWaitStatus(t, cli, "show", cid, "gone")
	out, _ := ceph.rbd("ls")
	for _, id := range []string{vid, fid, cid} {
		if strings.Contains(string(out), id) {
			t.Errorf("rbd ls still lists %s: %s", id, out)
		}
	}
}
