//go:build ceph

package e2e

import (
	"strings"
	"testing"

	"github.com/scoria/scoria/test/cluster"
)

// TestGroupsRBDCinderCLI runs the group scenario of groups_test.go with the cinder CLI on a
// volume service whose backend is the Ceph test cluster, checking with rbd that the deleted
// groups' volumes leave no image.
func TestGroupsRBDCinderCLI(t *testing.T) {
	ceph := requireCeph(t)
	requireServers(t)
	c := startCluster(t, cluster.Options{Volumes: []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{
		Name: "ceph", Options: map[string]string{
			"volume_driver":       "cinder.volume.drivers.rbd.RBDDriver",
			"volume_backend_name": "ceph",
			"rbd_pool":            ceph.pool,
			"rbd_ceph_conf":       ceph.conf,
			"rbd_user":            ceph.user,
			"rbd_keyring_conf":    ceph.keyring,
			"rbd_secret_uuid":     "457eb676-33da-42ec-9a8c-9293d545c337",
		},
	}}}}})
	cli := attachCLI(t, c, "3.20")
	groupScenario(t, c, cli, func() []string {
		out, err := ceph.rbd("ls")
		if err != nil {
			t.Fatalf("rbd ls: %v", err)
		}
		return strings.Fields(string(out))
	})
}
