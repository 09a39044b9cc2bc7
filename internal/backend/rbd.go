//go:build ceph

package backend

import (
	"strconv"
	"time"

	"github.com/scoria/scoria/internal/backend/rbd"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/pkg/driver"
)

// notBuilt are drivers this binary was built without: with the ceph tag, none.
var notBuilt = map[string]string{}

func init() { drivers["rbd"] = newRBD }

// newRBD builds the RBD driver from Cinder's options (defaults in config's driver table).
func newRBD(b *config.Backend, _ string) (driver.Driver, error) {
	def := func(name string) string { return config.DriverDefault("rbd", name) }
	num := func(key string, min int) (int, error) {
		n, err := b.Int(key, mustAtoi(def(key)))
		if err == nil && n < min {
			err = &config.Error{File: b.File, Section: b.Name, Key: key, Reason: "must be at least " + strconv.Itoa(min)}
		}
		return n, err
	}
	pool := b.String("rbd_pool", def("rbd_pool"))
	if pool == "" {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "rbd_pool", Reason: "must not be empty"}
	}
	depth, err := num("rbd_max_clone_depth", 0)
	if err != nil {
		return nil, err
	}
	chunk, err := num("rbd_store_chunk_size", 1)
	if err != nil {
		return nil, err
	}
	if chunk&(chunk-1) != 0 {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "rbd_store_chunk_size", Reason: "must be a power of 2"}
	}
	connect, err := b.Int("rados_connect_timeout", -1)
	if err != nil {
		return nil, err
	}
	retries, err := num("rados_connection_retries", 0)
	if err != nil {
		return nil, err
	}
	interval, err := num("rados_connection_interval", 0)
	if err != nil {
		return nil, err
	}
	opTimeout, err := num("rados_op_timeout", 1)
	if err != nil {
		return nil, err
	}
	flags := map[string]bool{}
	for _, k := range []string{"rbd_flatten_volume_from_snapshot", "report_dynamic_total_capacity", "rbd_exclusive_cinder_pool"} {
		if flags[k], err = b.Bool(k, def(k) == "true"); err != nil {
			return nil, err
		}
	}
	if _, err := b.Bool("report_discard_supported", false); err != nil {
		return nil, err
	}
	op := time.Duration(opTimeout) * time.Second
	conn := op
	if connect > 0 {
		conn = time.Duration(connect) * time.Second
	}
	return &rbd.Driver{
		Conn: rbd.ConnConfig{
			ClusterName: b.String("rbd_cluster_name", def("rbd_cluster_name")),
			ConfFile:    b.String("rbd_ceph_conf", ""),
			User:        b.String("rbd_user", ""),
			Keyring:     b.String("rbd_keyring_conf", ""),
			Pool:        pool,
			Connect:     conn,
			OpTimeout:   op,
			Retries:     retries,
			Interval:    time.Duration(interval) * time.Second,
		},
		SecretUUID:           b.String("rbd_secret_uuid", ""),
		FlattenFromSnapshot:  flags["rbd_flatten_volume_from_snapshot"],
		MaxCloneDepth:        depth,
		ChunkSizeMiB:         chunk,
		ExclusivePool:        flags["rbd_exclusive_cinder_pool"],
		DynamicTotalCapacity: flags["report_dynamic_total_capacity"],
		BackendName:          b.VolumeBackendName,
		Reserved:             b.ReservedPercentage,
		OverSub:              b.MaxOverSubscriptionRatio,
	}, nil
}

// mustAtoi reads a default of the driver table, which is a number.
func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
