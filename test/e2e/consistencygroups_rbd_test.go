//go:build ceph

package e2e

import (
	"testing"

	"github.com/scoria/scoria/test/cluster"
)

// TestConsistencyGroupsRBDCinderCLI runs the consistency group scenario on a volume service
// whose backend is the Ceph test cluster: its cgsnapshots are consistent rbd group snapshots
// (the CGs' group type asks for consistent_group_snapshot_enabled).
func TestConsistencyGroupsRBDCinderCLI(t *testing.T) {
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
	consistencyGroupScenario(t, c, attachCLI(t, c, "3.20"))
}
