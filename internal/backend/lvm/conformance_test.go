package lvm

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// TestConformance runs the driver conformance suite on a volume group of a loop device with
// the real lvm2 (see newRealVG), thick, and thin where the kernel has device-mapper, on a
// driver built through the registry from a backend section as cinder.conf writes it.
//
// What a kernel without device-mapper cannot do, and the suite therefore skips there: no
// logical volume is ever activated, so there is no device node (Connection), no data to
// read or write (the data checks, Image), and no LVM snapshot (Snapshot, VolumeFromSnapshot, Revert,
// and Clone, which copies through a snapshot); lvm itself refuses these, as
// TestRealSnapshot shows. Everything on the metadata — create, delete, extend, Exists, the
// capacity report, the typed errors of missing sources, concurrent creates and deletes —
// runs for real. The data commands (dd) go to a recorder there; with device-mapper they run.
func TestConformance(t *testing.T) {
	for _, typ := range []string{TypeDefault, TypeThin} {
		t.Run(typ, func(t *testing.T) {
			vg := newRealVG(t, 16)
			if typ == TypeThin && !vg.dm {
				t.Skip("thin pools need device-mapper, which this kernel lacks (TestRealThinNeedsDeviceMapper checks the failure)")
			}
			s := drivertest.Suite{
				New: func(t *testing.T) driver.Driver {
					d, ok := drivertest.FromSection(t, "cinder.volume.drivers.lvm.LVMVolumeDriver", vg.section(typ)).(*Driver)
					if !ok {
						t.Fatal("the LVM volume_driver did not build an *lvm.Driver")
					}
					if !vg.dm {
						d.Runner = ddTo{newRecorder("")} // lvm for real, dd recorded
					}
					return d
				},
				Probe: drivertest.Probe{Size: vg.lvSize},
			}
			if vg.dm {
				dev := vg.driver(typ, nil)
				p := drivertest.DeviceProbe(dev)
				s.Probe.ReadAt, s.Probe.WriteAt = p.ReadAt, p.WriteAt
			} else {
				why := "this kernel has no device-mapper: logical volumes are metadata only"
				s.Skip = map[string]string{
					drivertest.TestSnapshot:           why + ", and lvm refuses snapshots",
					drivertest.TestVolumeFromSnapshot: why + ", and lvm refuses snapshots",
					drivertest.TestRevert:             why + ", and lvm refuses snapshots",
					drivertest.TestClone:              why + ", and a thick clone copies through a snapshot",
					drivertest.TestConnection:         why + ": no device node",
					drivertest.TestImage:              why + ": no device node to convert an image into",
				}
			}
			drivertest.Run(t, s)
		})
	}
}

// section is the backend section of cinder.conf for a driver of type typ (lvm_type) on the
// group: the common values and the LVM options TestConformance runs with.
func (vg realVG) section(typ string) driver.Section {
	return driver.Section{
		Name: "lvm",
		Values: map[string]string{
			"volume_group":             vg.name,
			"lvm_type":                 typ,
			"lvm_conf_file":            vg.confFile,
			"volume_clear":             ClearZero,
			"volume_clear_size":        "1", // zero the first MiB: real, and quick
			"lvm_suppress_fd_warnings": "true",
		},
		ReservedPercentage:       5,
		MaxOverSubscriptionRatio: "20.0",
	}
}

// lvSize is the size lvm reports of volume v's logical volume.
func (vg realVG) lvSize(ctx context.Context, v driver.Volume) (int64, error) {
	env := []string{"LC_ALL=C", "LVM_SYSTEM_DIR=" + filepath.Dir(vg.confFile), "LVM_SUPPRESS_FD_WARNINGS=1"}
	out, err := ExecRunner{}.Run(ctx, env, "lvm", "lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
		"-o", "lv_size", vg.name+"/"+driver.StorageName(v.ID))
	if err != nil {
		return 0, fmt.Errorf("lvs of volume %s: %w", v.ID, err)
	}
	var doc struct {
		Report []struct {
			LV []struct {
				Size string `json:"lv_size"`
			} `json:"lv"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Report) != 1 || len(doc.Report[0].LV) != 1 {
		return 0, fmt.Errorf("lvs of volume %s: %s (%v)", v.ID, out, err)
	}
	return strconv.ParseInt(doc.Report[0].LV[0].Size, 10, 64)
}
