//go:build ceph

package rbd

import (
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

func init() {
	driver.Register(Name, FromOptions, Options...)
	registerAliases()
}

// FromOptions builds the RBD driver from its backend section: the driver.Factory it
// registers. The values were checked against their declarations in Options; it does not
// connect (Setup does).
func FromOptions(o driver.Options) (driver.Driver, error) {
	d := &Driver{BackendName: o.BackendName(), Reserved: o.ReservedPercentage(), OverSub: o.MaxOverSubscriptionRatio()}
	c := &d.Conn
	var connect time.Duration
	var err error
	for _, s := range []struct {
		key string
		to  *string
	}{
		{"rbd_cluster_name", &c.ClusterName}, {"rbd_pool", &c.Pool}, {"rbd_user", &c.User},
		{"rbd_ceph_conf", &c.ConfFile}, {"rbd_keyring_conf", &c.Keyring}, {"rbd_secret_uuid", &d.SecretUUID},
	} {
		if *s.to, err = o.String(s.key); err != nil {
			return nil, err
		}
	}
	for _, n := range []struct {
		key string
		to  *int
	}{
		{"rbd_max_clone_depth", &d.MaxCloneDepth}, {"rbd_store_chunk_size", &d.ChunkSizeMiB},
		{"rados_connection_retries", &c.Retries},
	} {
		if *n.to, err = o.Int(n.key); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		key string
		to  *time.Duration
	}{
		{"rados_connect_timeout", &connect}, {"rados_connection_interval", &c.Interval}, {"rados_op_timeout", &c.OpTimeout},
	} {
		if *s.to, err = o.Seconds(s.key); err != nil {
			return nil, err
		}
	}
	for _, b := range []struct {
		key string
		to  *bool
	}{
		{"rbd_flatten_volume_from_snapshot", &d.FlattenFromSnapshot},
		{"report_dynamic_total_capacity", &d.DynamicTotalCapacity},
		{"rbd_exclusive_cinder_pool", &d.ExclusivePool},
	} {
		if *b.to, err = o.Bool(b.key); err != nil {
			return nil, err
		}
	}
	// rados_connect_timeout < 0 (its default) waits as long as any other call to the cluster.
	c.Connect = c.OpTimeout
	if connect > 0 {
		c.Connect = connect
	}
	return d, nil
}
