package localfile

import (
	"path/filepath"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// TestConformance runs the driver conformance suite on a directory of the test's own, thin
// and thick, on a driver built through the registry from a backend section as cinder.conf
// writes it.
func TestConformance(t *testing.T) {
	for _, c := range []struct{ name, thin string }{{"thin", "true"}, {"thick", "false"}} {
		t.Run(c.name, func(t *testing.T) {
			var d *Driver
			drivertest.Run(t, drivertest.Suite{
				New: func(t *testing.T) driver.Driver {
					d = fromSection(t, driver.Section{Name: "local", Values: map[string]string{
						"local_volume_dir":        filepath.Join(t.TempDir(), "vols"),
						"local_thin_provisioning": c.thin,
					}})
					return d
				},
				Probe:   drivertest.DeviceProbe(devices{&d}),
				Workers: 8,
			})
		})
	}
}

// fromSection is the local-file driver that volume_driver = localfile builds from s.
func fromSection(t *testing.T, s driver.Section) *Driver {
	t.Helper()
	d, ok := drivertest.FromSection(t, Name, s).(*Driver)
	if !ok {
		t.Fatalf("volume_driver = %s did not build a *localfile.Driver", Name)
	}
	return d
}

// devices is the driver New made, as a LocalDevice for DeviceProbe, which needs it before
// New runs.
type devices struct{ d **Driver }

func (p devices) DevicePath(v driver.Volume) string { return (*p.d).DevicePath(v) }
