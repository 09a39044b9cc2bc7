package volume

import (
	"maps"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// supportedOperations lists the optional operations d implements (resource.Op*), found by
// type assertion on its optional interfaces; empty, not nil, when it has none.
func supportedOperations(d driver.Driver) []string {
	ops := []string{}
	if _, ok := d.(driver.Snapshotter); ok {
		ops = append(ops, resource.OpSnapshot)
	}
	if _, ok := d.(driver.SnapshotRestorer); ok {
		ops = append(ops, resource.OpCreateFromSnapshot)
	}
	if _, ok := d.(driver.Cloner); ok {
		ops = append(ops, resource.OpClone)
	}
	if _, ok := d.(driver.Extender); ok {
		ops = append(ops, resource.OpExtend)
	}
	if _, ok := d.(driver.Reverter); ok {
		ops = append(ops, resource.OpRevert)
	}
	return ops
}

// withOperations returns stats with the backend-level capability
// resource.CapSupportedOperations set to what d implements, whatever the driver said: the
// manager, not the driver, knows which operations it will call. The driver's Extra map is
// copied, not changed.
func withOperations(stats driver.Stats, d driver.Driver) driver.Stats {
	extra := make(map[string]any, len(stats.Extra)+1)
	maps.Copy(extra, stats.Extra)
	extra[resource.CapSupportedOperations] = supportedOperations(d)
	stats.Extra = extra
	return stats
}
