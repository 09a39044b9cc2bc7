package scheduler

import (
	"fmt"
	"testing"

	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// BenchmarkPlace is one placement, no I/O: the default filters plus a CapabilitiesFilter
// extra spec, the CapacityWeigher, over n pools (10 per backend, thin and thick mixed, two
// zones, varied capacities).
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprintf("pools=%d", n), func(b *testing.B) {
			var pools []*Pool
			for h := 0; len(pools) < n; h++ {
				zone := "nova"
				if h%2 == 1 {
					zone = "az1"
				}
				r := rpcapi.CapabilitiesArgs{Host: fmt.Sprintf("host%d@lvm", h), AvailabilityZone: zone,
					Stats: driver.Stats{VolumeBackendName: "lvmbackend", StorageProtocol: "iSCSI", VendorName: "Open Source"}}
				for i := range 10 {
					free := float64((h*10+i)%997 + 1)
					r.Stats.Pools = append(r.Stats.Pools, pool(fmt.Sprintf("p%d", i), 1000, free, 1000-free, i%2 == 0, "20.0"))
				}
				pools = append(pools, newPools(r)...)
			}
			pl, _ := NewPipeline(DefaultOptions())
			r := &Request{VolumeID: "0b1c2d3e-0000-4000-8000-000000000000", Size: 10, Zone: "nova",
				ExtraSpecs: map[string]string{"volume_backend_name": "lvmbackend"}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if res := pl.Place(r, pools); res.Pool == nil {
					b.Fatal("nothing placed")
				}
			}
		})
	}
}
