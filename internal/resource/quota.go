package resource

import (
	"fmt"
	"strings"
)

// Quota resources, named as Cinder names them. Per volume type there are three more:
// volumes_<type>, gigabytes_<type> and snapshots_<type> (see PerTypeResources).
const (
	QuotaVolumes            = "volumes"
	QuotaPerVolumeGigabytes = "per_volume_gigabytes"
	QuotaSnapshots          = "snapshots"
	QuotaGigabytes          = "gigabytes"
	QuotaBackups            = "backups"
	QuotaBackupGigabytes    = "backup_gigabytes"
	QuotaGroups             = "groups"
)

// QuotaUnlimited is the limit that never refuses.
const QuotaUnlimited = -1

// QuotaDefaultClass is the quota class whose limits every project has unless it has its own.
const QuotaDefaultClass = "default"

// QuotaDefaults are Cinder's default limits (quota_volumes, quota_snapshots, …), used when
// neither the project nor the class 'default' sets a resource. Per-type resources default to
// QuotaUnlimited.
var QuotaDefaults = map[string]int64{
	QuotaVolumes:            10,
	QuotaPerVolumeGigabytes: -1,
	QuotaSnapshots:          10,
	QuotaGigabytes:          1000,
	QuotaBackups:            10,
	QuotaBackupGigabytes:    1000,
	QuotaGroups:             10,
}

// DefaultQuota returns the built-in default limit of resource name.
func DefaultQuota(name string) int64 {
	if v, ok := QuotaDefaults[name]; ok {
		return v
	}
	return QuotaUnlimited
}

// PerTypeResources returns the resources a volume type adds, in the order Cinder lists them.
func PerTypeResources(typeName string) []string {
	return []string{"volumes_" + typeName, "gigabytes_" + typeName, "snapshots_" + typeName}
}

// QuotaEntry is one resource of a quota set: its limit and, when asked for, its usage.
type QuotaEntry struct {
	Resource string
	Limit    int64
	InUse    int64
	Reserved int64
}

// QuotaSet is a project's (or a class's) quota, one entry per resource, in Cinder's order:
// volumes, per_volume_gigabytes, snapshots, gigabytes, backups, backup_gigabytes, the
// per-type resources of each volume type, groups.
type QuotaSet []QuotaEntry

// Get returns the entry of resource name.
func (qs QuotaSet) Get(name string) (QuotaEntry, bool) {
	for _, e := range qs {
		if e.Resource == name {
			return e, true
		}
	}
	return QuotaEntry{}, false
}

// OverQuotaError says which quota a change would exceed. The API answers it with Cinder's
// 413 overLimit (VolumeSizeExceedsAvailableQuota, VolumeLimitExceeded, …).
type OverQuotaError struct {
	Resource  string // "volumes", "gigabytes", "snapshots", "volumes_<type>", "per_volume_gigabytes", …
	Requested int64
	InUse     int64 // usage before the change (in use plus reserved)
	Limit     int64
}

// Error words the refusal as Cinder's exception for the resource does.
func (e *OverQuotaError) Error() string {
	switch {
	case e.Resource == QuotaPerVolumeGigabytes:
		// VolumeSizeExceedsLimit
		return fmt.Sprintf("Requested volume size %dG is larger than maximum allowed limit %dG.", e.Requested, e.Limit)
	case e.Resource == QuotaBackupGigabytes:
		// VolumeBackupSizeExceedsAvailableQuota
		return fmt.Sprintf("Requested backup exceeds allowed Backup gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.",
			e.Requested, e.Limit, e.InUse)
	case strings.HasPrefix(e.Resource, "gigabytes"):
		// VolumeSizeExceedsAvailableQuota
		return fmt.Sprintf("Requested volume or snapshot exceeds allowed %s quota. Requested %dG, quota is %dG and %dG has been consumed.",
			e.Resource, e.Requested, e.Limit, e.InUse)
	case strings.HasPrefix(e.Resource, "snapshots"):
		// SnapshotLimitExceeded
		return fmt.Sprintf("Maximum number of snapshots allowed (%d) exceeded", e.Limit)
	case e.Resource == QuotaGroups:
		// GroupLimitExceeded
		return fmt.Sprintf("Maximum number of groups allowed (%d) exceeded", e.Limit)
	case strings.HasPrefix(e.Resource, "backups"):
		// BackupLimitExceeded
		return fmt.Sprintf("Maximum number of backups allowed (%d) exceeded", e.Limit)
	default:
		// VolumeLimitExceeded
		return fmt.Sprintf("Maximum number of volumes allowed (%d) exceeded for quota '%s'.", e.Limit, e.Resource)
	}
}

// QuotaBelowUsageError refuses a project limit below what the project already uses.
type QuotaBelowUsageError struct {
	Resource string
	Limit    int64
	InUse    int64
}

// Error words the refusal as Cinder's quota update does.
func (e *QuotaBelowUsageError) Error() string {
	return fmt.Sprintf("Quota %s limit must be equal or greater than existing resources. Current usage is %d and the requested limit is %d.",
		e.Resource, e.InUse, e.Limit)
}
