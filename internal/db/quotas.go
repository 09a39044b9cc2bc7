package db

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"github.com/scoria/scoria/internal/resource"
)

// Quota sets: a project's limits (quotas), a class's (quota_classes; the class 'default' gives
// every project its defaults) and what projects use (quota_usages, kept by chargeQuota).

// quotaResources lists the resources of a quota set in Cinder's order: the fixed ones, the
// three of each volume type that is not deleted (newest type first, as Cinder lists them), and
// groups.
func quotaResources(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM volume_types WHERE deleted = 0 ORDER BY created_at DESC, name")
	if err != nil {
		return nil, fmt.Errorf("list volume types: %w", err)
	}
	defer rows.Close()
	out := []string{
		resource.QuotaVolumes, resource.QuotaPerVolumeGigabytes, resource.QuotaSnapshots,
		resource.QuotaGigabytes, resource.QuotaBackups, resource.QuotaBackupGigabytes,
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, resource.PerTypeResources(name)...)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return append(out, resource.QuotaGroups), nil
}

// limitsOf reads the limits a table (quotas or quota_classes) holds for one owner.
func limitsOf(ctx context.Context, q querier, table, keyCol, key string) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT resource, hard_limit FROM "+table+" WHERE "+keyCol+" = ?", key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			n string
			l int64
		)
		if err := rows.Scan(&n, &l); err != nil {
			return nil, err
		}
		out[n] = l
	}
	return out, rows.Err()
}

// quotaSet builds a set over names: each limit from the first of layers that has it, else
// the built-in default; usage from used.
func quotaSet(names []string, used map[string]int64, layers ...map[string]int64) resource.QuotaSet {
	out := make(resource.QuotaSet, 0, len(names))
	for _, n := range names {
		e := resource.QuotaEntry{Resource: n, Limit: resource.DefaultQuota(n), InUse: used[n]}
		for _, l := range layers {
			if v, ok := l[n]; ok {
				e.Limit = v
				break
			}
		}
		out = append(out, e)
	}
	return out
}

// ProjectQuotas returns the quota set of a project: every resource's effective limit (the
// project's own, else the default class's, else Cinder's default) and its usage.
func (s *Store) ProjectQuotas(ctx context.Context, projectID string) (resource.QuotaSet, error) {
	qs, err := projectQuotas(ctx, s.ro, projectID)
	if err != nil {
		return nil, fmt.Errorf("quotas of project %s: %w", projectID, err)
	}
	return qs, nil
}

func projectQuotas(ctx context.Context, q querier, projectID string) (resource.QuotaSet, error) {
	names, err := quotaResources(ctx, q)
	if err != nil {
		return nil, err
	}
	own, err := limitsOf(ctx, q, "quotas", "project_id", projectID)
	if err != nil {
		return nil, err
	}
	class, err := limitsOf(ctx, q, "quota_classes", "class_name", resource.QuotaDefaultClass)
	if err != nil {
		return nil, err
	}
	used, err := usageOf(ctx, q, projectID, names, "")
	if err != nil {
		return nil, err
	}
	return quotaSet(names, used, own, class), nil
}

// DefaultQuotas returns the limits a project without limits of its own has.
func (s *Store) DefaultQuotas(ctx context.Context) (resource.QuotaSet, error) {
	return s.QuotaClass(ctx, resource.QuotaDefaultClass)
}

// QuotaClass returns the limits of quota class name: its own, else the default class's,
// else Cinder's defaults.
func (s *Store) QuotaClass(ctx context.Context, name string) (resource.QuotaSet, error) {
	qs, err := quotaClass(ctx, s.ro, name)
	if err != nil {
		return nil, fmt.Errorf("quota class %s: %w", name, err)
	}
	return qs, nil
}

func quotaClass(ctx context.Context, q querier, name string) (resource.QuotaSet, error) {
	names, err := quotaResources(ctx, q)
	if err != nil {
		return nil, err
	}
	own, err := limitsOf(ctx, q, "quota_classes", "class_name", name)
	if err != nil {
		return nil, err
	}
	def, err := limitsOf(ctx, q, "quota_classes", "class_name", resource.QuotaDefaultClass)
	if err != nil {
		return nil, err
	}
	return quotaSet(names, nil, own, def), nil
}

// UpdateProjectQuotas sets limits of a project in one transaction and returns its quota set.
// A resource that is not in the project's quota set is a *resource.NotFoundError of kind
// "QuotaResource"; a limit (other than -1 and per_volume_gigabytes) below what the project
// uses is a *resource.QuotaBelowUsageError, and then nothing changes.
func (s *Store) UpdateProjectQuotas(ctx context.Context, projectID string, limits map[string]int64) (resource.QuotaSet, error) {
	var out resource.QuotaSet
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		names, err := quotaResources(ctx, tx)
		if err != nil {
			return err
		}
		keys := slices.Sorted(maps.Keys(limits))
		for _, k := range keys {
			if !slices.Contains(names, k) {
				return &resource.NotFoundError{Kind: "QuotaResource", ID: k}
			}
		}
		used, err := usageOf(ctx, tx, projectID, keys, "")
		if err != nil {
			return err
		}
		for _, k := range keys {
			if l := limits[k]; k != resource.QuotaPerVolumeGigabytes && l != resource.QuotaUnlimited && l < used[k] {
				return &resource.QuotaBelowUsageError{Resource: k, Limit: l, InUse: used[k]}
			}
		}
		if err := s.upsertLimits(ctx, tx, "quotas", "project_id", projectID, limits); err != nil {
			return err
		}
		out, err = projectQuotas(ctx, tx, projectID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update quotas of project %s: %w", projectID, err)
	}
	return out, nil
}

// DeleteProjectQuotas removes a project's own limits: it has the defaults again. Its usage
// stays.
func (s *Store) DeleteProjectQuotas(ctx context.Context, projectID string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM quotas WHERE project_id = ?", projectID); err != nil {
		return fmt.Errorf("delete quotas of project %s: %w", projectID, err)
	}
	return nil
}

// UpdateQuotaClass sets limits of quota class name and returns the class's quota set. A
// resource that is not in the quota set is a *resource.NotFoundError of kind "QuotaResource".
func (s *Store) UpdateQuotaClass(ctx context.Context, name string, limits map[string]int64) (resource.QuotaSet, error) {
	var out resource.QuotaSet
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		names, err := quotaResources(ctx, tx)
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(limits)) {
			if !slices.Contains(names, k) {
				return &resource.NotFoundError{Kind: "QuotaResource", ID: k}
			}
		}
		if err := s.upsertLimits(ctx, tx, "quota_classes", "class_name", name, limits); err != nil {
			return err
		}
		out, err = quotaClass(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update quota class %s: %w", name, err)
	}
	return out, nil
}

// upsertLimits writes limits of one owner into table (quotas or quota_classes).
func (s *Store) upsertLimits(ctx context.Context, tx *sql.Tx, table, keyCol, key string, limits map[string]int64) error {
	now := dbTime(s.now())
	query := "INSERT INTO " + table + " (" + keyCol + ", resource, hard_limit, created_at) VALUES (?, ?, ?, ?)"
	if s.dialect == DialectMySQL {
		query += " ON DUPLICATE KEY UPDATE hard_limit = VALUES(hard_limit), updated_at = VALUES(created_at)"
	} else {
		query += " ON CONFLICT (" + keyCol + ", resource) DO UPDATE SET hard_limit = excluded.hard_limit, updated_at = excluded.created_at"
	}
	for _, k := range slices.Sorted(maps.Keys(limits)) {
		if _, err := tx.ExecContext(ctx, query, key, k, limits[k], now); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	return nil
}
