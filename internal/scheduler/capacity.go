package scheduler

import (
	"math"
	"strconv"

	"github.com/scoria/scoria/pkg/driver"
)

// fits applies Cinder's CapacityFilter to pool p with consumed GiB already placed on it since
// its report, and returns the pool's weight (virtual free capacity for thin pools, free
// capacity for thick ones) when size fits.
func fits(p driver.Pool, consumed, size float64) (float64, bool) {
	total := p.TotalCapacityGB
	if total <= 0 {
		return 0, false
	}
	reserved := math.Floor(total * float64(p.ReservedPercentage) / 100)
	provisioned := p.ProvisionedCapacityGB + consumed
	ratio := 1.0
	if r, err := strconv.ParseFloat(p.MaxOverSubscriptionRatio, 64); err == nil {
		ratio = r
	}
	if p.ThinProvisioningSupport && ratio >= 1 {
		free := p.FreeCapacityGB - reserved
		if (provisioned+size)/total > ratio || free*ratio < size {
			return 0, false
		}
		return total*ratio - provisioned - reserved, true
	}
	free := p.FreeCapacityGB - consumed - reserved
	if free < size {
		return 0, false
	}
	return free, true
}
