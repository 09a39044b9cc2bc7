package localfile

import (
	"path/filepath"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// TestConformance runs the driver conformance suite on a directory of the test's own.
func TestConformance(t *testing.T) {
	for _, thick := range []bool{false, true} {
		name := map[bool]string{false: "thin", true: "thick"}[thick]
		t.Run(name, func(t *testing.T) {
			var d *Driver
			drivertest.Run(t, drivertest.Suite{
				New: func(t *testing.T) driver.Driver {
					d = &Driver{Dir: filepath.Join(t.TempDir(), "vols"), BackendName: "local", PoolName: "local", Thick: thick}
					return d
				},
				Probe:   drivertest.DeviceProbe(devices{&d}),
				Workers: 8,
			})
		})
	}
}

// devices is the driver New made, as a LocalDevice for DeviceProbe, which needs it before
// New runs.
type devices struct{ d **Driver }

func (p devices) DevicePath(v driver.Volume) string { return (*p.d).DevicePath(v) }
