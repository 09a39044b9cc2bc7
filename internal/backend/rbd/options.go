package rbd

import "github.com/scoria/scoria/pkg/driver"

// Name is the driver's name in volume_driver.
const Name = "rbd"

// Aliases are the other volume_driver values that select the RBD driver.
var Aliases = []string{"cinder.volume.drivers.rbd.RBDDriver"}

// Options are the RBD driver's options, Cinder's names and defaults, in the order the sample
// configuration shows them. They are declared in every build, so that the sample shows them.
var Options = []driver.Option{
	{Name: "rbd_cluster_name", Type: driver.String, Default: "ceph", Help: "The name of the Ceph cluster"},
	{Name: "rbd_pool", Type: driver.NonEmpty, Default: "rbd", Help: "The RADOS pool the RBD driver keeps its volumes in"},
	{Name: "rbd_user", Type: driver.String, Help: "The cephx client name (without client.) for the volumes; empty: client.admin and auth_enabled false in the connection info"},
	{Name: "rbd_ceph_conf", Type: driver.String, Help: "Path to the ceph configuration file; empty: librados's default"},
	{Name: "rbd_keyring_conf", Type: driver.String, Help: "Keyring file of rbd_user; its contents also go into the connection info (keyring)"},
	{Name: "rbd_secret_uuid", Type: driver.String, Help: "The libvirt uuid of the secret for the rbd_user volumes"},
	{Name: "rbd_flatten_volume_from_snapshot", Type: driver.Bool, Default: "false", Help: "Flatten volumes created from snapshots to remove their dependency on the snapshot"},
	{Name: "rbd_max_clone_depth", Type: driver.Int, Min: 0, Default: "5", Help: "Ancestors a volume may have before a new clone of it is flattened; 0: never clone (clones are full copies)"},
	{Name: "rbd_store_chunk_size", Type: driver.MiBPowerOfTwo, Default: "4", Help: "Volumes are chunked into objects of this size (the image order)"},
	{Name: "rados_connect_timeout", Type: driver.Seconds, Min: driver.NoMin, Default: "-1", Help: "Timeout connecting to the cluster; < 0: rados_op_timeout (Scoria never waits without bound)"},
	{Name: "rados_connection_retries", Type: driver.Int, Min: 0, Default: "3", Help: "Retries when connecting to the cluster fails"},
	{Name: "rados_connection_interval", Type: driver.Seconds, Min: 0, Default: "5", Help: "Seconds between connection retries"},
	{Name: "rados_op_timeout", Type: driver.Seconds, Min: 1, Default: "30", Help: "Scoria's: seconds every call to the cluster may take before the backend reports it unreachable"},
	{Name: "report_dynamic_total_capacity", Type: driver.Bool, Default: "true", Help: "Report total capacity as used + free; false: the pool quota, or the cluster's size"},
	{Name: "rbd_exclusive_cinder_pool", Type: driver.Bool, Default: "true", Help: "False when the pool is shared: the driver then sums its images' sizes for provisioned_capacity_gb"},
	{Name: "report_discard_supported", Type: driver.Bool, Default: "false", Help: "Accepted for cinder.conf; the rbd connection info always reports discard, as Cinder's RBD driver"},
}

func registerAliases() {
	for _, a := range Aliases {
		driver.RegisterAlias(a, Name)
	}
}
