//go:build ceph

package e2e

import (
	"testing"

	"github.com/scoria/scoria/test/cluster"
)

// TestRBDGroupSnapshotsCLI is the group snapshot scenario on an RBD backend: a group whose
// type asks for consistent group snapshots gets one rbd group snapshot.
func TestRBDGroupSnapshotsCLI(t *testing.T) {
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
		},
	}}}}})
	groupSnapshotScenario(t, c, attachCLI(t, c, "3.19"), &cephCheck{pool: ceph.pool, rbd: ceph.rbd})
}
