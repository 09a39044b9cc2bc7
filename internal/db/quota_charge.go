package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// quotaChange is one change of a project's quota usage, charged in the transaction that makes
// the change it counts, so that usage never drifts from the rows it counts.
type quotaChange struct {
	ProjectID string
	// VolumeTypeName names the type whose per-type resources (volumes_<type>,
	// gigabytes_<type>, snapshots_<type>) are charged too; "" charges none.
	VolumeTypeName string
	// VolumeTypeID, when VolumeTypeName is "", names the type by id instead (a type that
	// does not exist charges no per-type resource).
	VolumeTypeID string
	// Deltas: positive takes, negative gives back.
	Volumes, Snapshots, Gigabytes int
	// Groups is the change of generic groups (not per type).
	Groups int
	// Backups and BackupGigabytes are the change of backups and their size (not per type).
	Backups, BackupGigabytes int
	// VolumeSize, when > 0, is checked against per_volume_gigabytes.
	VolumeSize int
}

// deltas returns the change of each resource c touches, without zero deltas.
func (c quotaChange) deltas() map[string]int64 {
	d := map[string]int64{}
	add := func(name string, n int) {
		if n != 0 {
			d[name] += int64(n)
		}
	}
	add(resource.QuotaVolumes, c.Volumes)
	add(resource.QuotaSnapshots, c.Snapshots)
	add(resource.QuotaGigabytes, c.Gigabytes)
	add(resource.QuotaGroups, c.Groups)
	add(resource.QuotaBackups, c.Backups)
	add(resource.QuotaBackupGigabytes, c.BackupGigabytes)
	if c.VolumeTypeName != "" {
		per := resource.PerTypeResources(c.VolumeTypeName)
		add(per[0], c.Volumes)
		add(per[1], c.Gigabytes)
		add(per[2], c.Snapshots)
	}
	return d
}

// chargeQuota applies c in tx. A positive delta that would take a resource over its limit
// is refused with a *resource.OverQuotaError, and then nothing is charged. Usage never goes
// below 0.
//
// The usage rows it changes are locked (MySQL: created if missing with INSERT … ON
// DUPLICATE KEY UPDATE, which takes the row's exclusive lock, then read FOR UPDATE) in the
// order of their names, so concurrent charges of one project serialise on them and cannot
// deadlock each other; SQLite's write transactions run one at a time anyway. Limits are read
// without locks: a limit changed meanwhile applies from the next charge on, as in Cinder.
func (s *Store) chargeQuota(ctx context.Context, tx *sql.Tx, c quotaChange) error {
	if c.ProjectID == "" {
		return errors.New("charge quota: no project")
	}
	if c.VolumeTypeName == "" && c.VolumeTypeID != "" {
		name, err := volumeTypeName(ctx, tx, c.VolumeTypeID)
		if err != nil {
			return fmt.Errorf("charge quota: %w", err)
		}
		c.VolumeTypeName = name
	}
	deltas := c.deltas()
	names := slices.Sorted(maps.Keys(deltas))
	var takes []string
	for _, n := range names {
		if deltas[n] > 0 {
			takes = append(takes, n)
		}
	}
	// The limits of what the change takes and, for a volume, per_volume_gigabytes: one query.
	var limits map[string]int64
	if want := takes; len(want) > 0 || c.VolumeSize > 0 {
		if c.VolumeSize > 0 {
			want = append(slices.Clip(want), resource.QuotaPerVolumeGigabytes)
		}
		var err error
		if limits, err = effectiveLimits(ctx, tx, c.ProjectID, want); err != nil {
			return fmt.Errorf("charge quota of project %s: %w", c.ProjectID, err)
		}
	}
	if c.VolumeSize > 0 {
		if l := limits[resource.QuotaPerVolumeGigabytes]; l >= 0 && int64(c.VolumeSize) > l {
			return &resource.OverQuotaError{Resource: resource.QuotaPerVolumeGigabytes, Requested: int64(c.VolumeSize), Limit: l}
		}
	}
	if len(deltas) == 0 {
		return nil
	}
	now := dbTime(s.now())
	if len(takes) > 0 {
		if err := s.lockUsage(ctx, tx, c.ProjectID, takes, now); err != nil {
			return fmt.Errorf("charge quota of project %s: %w", c.ProjectID, err)
		}
		used, err := usageOf(ctx, tx, c.ProjectID, takes, s.forUpdate())
		if err != nil {
			return fmt.Errorf("charge quota of project %s: %w", c.ProjectID, err)
		}
		// Cinder reports the first resource over its limit in the order of their names
		// (so gigabytes before volumes).
		for _, n := range takes {
			if l := limits[n]; l >= 0 && used[n]+deltas[n] > l {
				return &resource.OverQuotaError{Resource: n, Requested: deltas[n], InUse: used[n], Limit: l}
			}
		}
	}
	// One UPDATE for every resource of the charge: the delta of each row is picked by its
	// resource name. CASE rather than GREATEST/MAX: both dialects spell it the same.
	var pick strings.Builder
	args := make([]any, 0, 4*len(names)+3)
	pick.WriteString("CASE resource")
	for _, n := range names {
		pick.WriteString(" WHEN ? THEN ?")
		args = append(args, n, deltas[n])
	}
	pick.WriteString(" END")
	delta := pick.String()
	args = append(append(args, args...), now, c.ProjectID)
	args = append(args, strArgs(names)...)
	if _, err := tx.ExecContext(ctx, "UPDATE quota_usages SET in_use = CASE WHEN in_use + "+delta+" < 0 THEN 0 ELSE in_use + "+delta+
		" END, updated_at = ? WHERE project_id = ? AND resource IN ("+placeholders(len(names))+")", args...); err != nil {
		return fmt.Errorf("charge quota %s of project %s: %w", strings.Join(names, ", "), c.ProjectID, err)
	}
	return nil
}

// lockUsage makes sure the usage rows of names (sorted) exist and, on MySQL, holds their
// exclusive locks.
func (s *Store) lockUsage(ctx context.Context, tx *sql.Tx, projectID string, names []string, now string) error {
	values := make([]string, len(names))
	args := make([]any, 0, 3*len(names))
	for i, n := range names {
		values[i] = "(?, ?, 0, 0, ?)"
		args = append(args, projectID, n, now)
	}
	query := "INSERT INTO quota_usages (project_id, resource, in_use, reserved, created_at) VALUES " + strings.Join(values, ", ")
	if s.dialect == DialectMySQL {
		// An existing row is locked exclusively, not shared: two charges that both took a
		// shared lock would deadlock when each then wants to update it.
		query += " ON DUPLICATE KEY UPDATE in_use = in_use"
	} else {
		query += " ON CONFLICT (project_id, resource) DO NOTHING"
	}
	_, err := tx.ExecContext(ctx, query, args...)
	return err
}

// usageOf reads the usage (in use plus reserved) of names of a project; lock is appended to
// the query (" FOR UPDATE" or "").
func usageOf(ctx context.Context, q querier, projectID string, names []string, lock string) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT resource, in_use + reserved FROM quota_usages WHERE project_id = ? AND resource IN ("+
		placeholders(len(names))+") ORDER BY resource"+lock, append([]any{projectID}, strArgs(names)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[string]int64{}
	for rows.Next() {
		var n string
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		used[n] = v
	}
	return used, rows.Err()
}

// effectiveLimits returns the limit of each of names for a project: the project's own, else
// the default class's, else Cinder's built-in default.
func effectiveLimits(ctx context.Context, q querier, projectID string, names []string) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT resource, hard_limit, 0 FROM quotas WHERE project_id = ? AND resource IN (`+placeholders(len(names))+`)
		UNION ALL SELECT resource, hard_limit, 1 FROM quota_classes WHERE class_name = ? AND resource IN (`+placeholders(len(names))+`)`,
		append(append(append([]any{projectID}, strArgs(names)...), resource.QuotaDefaultClass), strArgs(names)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	own, class := map[string]int64{}, map[string]int64{}
	for rows.Next() {
		var (
			n       string
			l       int64
			isClass int
		)
		if err := rows.Scan(&n, &l, &isClass); err != nil {
			return nil, err
		}
		if isClass == 1 {
			class[n] = l
		} else {
			own[n] = l
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(names))
	for _, n := range names {
		switch l, ok := own[n]; {
		case ok:
			out[n] = l
		default:
			if l, ok := class[n]; ok {
				out[n] = l
			} else {
				out[n] = resource.DefaultQuota(n)
			}
		}
	}
	return out, nil
}

// volumeTypeName returns the name of volume type id; "" when there is none.
func volumeTypeName(ctx context.Context, q querier, id string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, "SELECT name FROM volume_types WHERE id = ?", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// giveBackVolume gives back the quota of volume id, which the caller's transaction has just
// deleted: one volume and its size, of its project and type.
func (s *Store) giveBackVolume(ctx context.Context, tx *sql.Tx, id string) error {
	var (
		project  string
		size     int
		typeName sql.NullString
	)
	err := tx.QueryRowContext(ctx, `SELECT v.project_id, v.size, t.name FROM volumes v
		LEFT JOIN volume_types t ON t.id = v.volume_type_id WHERE v.id = ?`, id).Scan(&project, &size, &typeName)
	if err != nil {
		return fmt.Errorf("give back quota of volume %s: %w", id, err)
	}
	return s.chargeQuota(ctx, tx, quotaChange{
		ProjectID: project, VolumeTypeName: typeName.String, Volumes: -1, Gigabytes: -size,
	})
}
