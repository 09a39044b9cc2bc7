package cluster

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
)

// CreateVolumeType inserts a public volume type and its extra specs straight into the
// cluster's database (tables volume_types and volume_type_extra_specs) and returns its id.
// The types API is not implemented yet (issue 4); until it is, this is how a test gets a type.
func (c *Cluster) CreateVolumeType(ctx context.Context, name string, extraSpecs map[string]string) (string, error) {
	id := uuid.NewString()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO volume_types (id, name, description, is_public, created_at, deleted) VALUES (?, ?, ?, 1, UTC_TIMESTAMP(6), 0)",
		id, name, "test/cluster: "+name); err != nil {
		return "", fmt.Errorf("insert volume type %s: %w", name, err)
	}
	keys := make([]string, 0, len(extraSpecs))
	for k := range extraSpecs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO volume_type_extra_specs (volume_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
			id, k, extraSpecs[k]); err != nil {
			return "", fmt.Errorf("insert extra spec %s of volume type %s: %w", k, name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("insert volume type %s: %w", name, err)
	}
	return id, nil
}
