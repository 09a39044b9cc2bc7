package resource

import (
	"fmt"
	"strings"
)

// OverQuotaError says which quota a change would exceed. The API answers it with Cinder's
// 413 overLimit (VolumeSizeExceedsAvailableQuota, VolumeLimitExceeded, …).
type OverQuotaError struct {
	Resource  string // "volumes", "gigabytes", "snapshots", "volumes_<type>", "per_volume_gigabytes", …
	Requested int64
	InUse     int64 // usage before the change (in use plus reserved)
	Limit     int64
}

func (e *OverQuotaError) Error() string {
	switch {
	case e.Resource == "per_volume_gigabytes":
		return fmt.Sprintf("Volume size %dG is larger than the per volume size limit %dG.", e.Requested, e.Limit)
	case strings.HasPrefix(e.Resource, "gigabytes"):
		return fmt.Sprintf("Requested volume or snapshot exceeds allowed %s quota. Requested %sG, quota is %sG and %sG has been consumed.",
			e.Resource, itoa(e.Requested), itoa(e.Limit), itoa(e.InUse))
	case strings.HasPrefix(e.Resource, "snapshots"):
		return fmt.Sprintf("Maximum number of snapshots allowed (%d) exceeded for quota '%s'.", e.Limit, e.Resource)
	default:
		return fmt.Sprintf("Maximum number of volumes allowed (%d) exceeded for quota '%s'.", e.Limit, e.Resource)
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }
