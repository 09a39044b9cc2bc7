//go:build ceph

package rbd

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ceph/go-ceph/rbd"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// TestConformance runs the driver conformance suite on the Ceph test cluster (skipped
// without one, failed under CI=true), once with clones as copy-on-write children and once
// with rbd_max_clone_depth 0 (full copies), on a driver built through the registry from a
// backend section as cinder.conf writes it. The probe reads sizes with the rbd CLI and data
// through a connection of its own, never through the driver under test.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name  string
		depth string // rbd_max_clone_depth
	}{{"cow-clones", "5"}, {"copies", "0"}} {
		t.Run(c.name, func(t *testing.T) {
			cl := clusterFromEnv()
			d, ok := drivertest.FromSection(t, "cinder.volume.drivers.rbd.RBDDriver", cl.section(c.depth)).(*Driver)
			if !ok {
				t.Fatal("the RBD volume_driver did not build an *rbd.Driver")
			}
			setUpOnCluster(t, d, cl)
			probe, _ := requireCluster(t, nil)
			drivertest.Run(t, drivertest.Suite{
				New:      func(*testing.T) driver.Driver { return d },
				Probe:    drivertest.Probe{Size: cl.imageSize, ReadAt: probe.readImage, WriteAt: probe.writeImage},
				Protocol: "rbd",
				Workers:  6,
			})
		})
	}
}

// section is the backend section of cinder.conf for the test cluster: its pool, user, conf
// and keyring (SCORIA_TEST_CEPH_*), rbd_max_clone_depth depth, and connection settings that
// give up quickly without a cluster.
func (c testCluster) section(depth string) driver.Section {
	return driver.Section{
		Name: "ceph-test",
		Values: map[string]string{
			"rbd_pool":                  c.pool,
			"rbd_user":                  c.user,
			"rbd_ceph_conf":             c.conf,
			"rbd_keyring_conf":          c.keyring,
			"rbd_max_clone_depth":       depth,
			"rados_connect_timeout":     "10",
			"rados_connection_retries":  "1",
			"rados_connection_interval": "1",
		},
	}
}

// imageSize is the size `rbd info` reports of v's image.
func (c testCluster) imageSize(ctx context.Context, v driver.Volume) (int64, error) {
	out, err := c.rbdCLI(nil, "info", "--format", "json", driver.StorageName(v.ID))
	if err != nil {
		return 0, err
	}
	var info imageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, fmt.Errorf("rbd info %s: %w: %s", driver.StorageName(v.ID), err, out)
	}
	return info.Size, nil
}

// readImage and writeImage read and write v's image with librbd, on the probe's connection.
func (d *Driver) readImage(ctx context.Context, v driver.Volume, p []byte, off int64) error {
	return d.conns().do(ctx, "probe read", func(s *session) error {
		img, err := rbd.OpenImageReadOnly(s.ioctx, driver.StorageName(v.ID), rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		_, err = img.ReadAt(p, off)
		return err
	})
}

func (d *Driver) writeImage(ctx context.Context, v driver.Volume, p []byte, off int64) error {
	return d.conns().do(ctx, "probe write", func(s *session) error {
		img, err := rbd.OpenImage(s.ioctx, driver.StorageName(v.ID), rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		if _, err := img.WriteAt(p, off); err != nil {
			return err
		}
		return img.Flush()
	})
}
