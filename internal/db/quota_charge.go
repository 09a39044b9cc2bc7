package db

import (
	"context"
	"database/sql"
)

// quotaChange is one change of a project's quota usage, charged in the transaction that makes
// the change it counts, so that usage never drifts from the rows it counts.
type quotaChange struct {
	ProjectID string
	// VolumeTypeName names the type whose per-type resources (volumes_<type>,
	// gigabytes_<type>, snapshots_<type>) are charged too; "" charges none.
	VolumeTypeName string
	// Deltas: positive takes, negative gives back.
	Volumes, Snapshots, Gigabytes int
	// VolumeSize, when > 0, is checked against per_volume_gigabytes.
	VolumeSize int
}

// chargeQuota applies c in tx. A positive delta that would take a resource over its limit
// is refused with a *resource.OverQuotaError, and then nothing is charged.
//
// Not implemented yet: quotas are not enforced (issue 4's quota work fills this in).
func (s *Store) chargeQuota(ctx context.Context, tx *sql.Tx, c quotaChange) error {
	return nil
}
