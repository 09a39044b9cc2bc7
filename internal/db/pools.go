package db

// Capacity claims: the database is the authority on how much of a pool is taken.
//
// Every pool (host@backend#pool) has a row in pools with the capacity figures of its last
// report and allocated_gb, the sum of the claims of the volumes placed on it. A volume's
// claim is volumes.claimed_gb, held on the pool its host names. A claim is taken, moved and
// released only in the same transaction as the volume row change that makes it so, so the
// two never disagree, whatever crashes:
//
//   - ClaimPlacement: the volume's host (first placement: still creating, no host; retry:
//     still creating on the old host) and a conditional UPDATE of the pool that succeeds only
//     while the limit holds with the new size — both or neither. A retry releases the old
//     pool's claim in the same transaction.
//   - CreateGroup of a group made from a source: each member volume, written with its host
//     (the group's pool), claims its size there in the same transaction as the rows; no room
//     writes nothing (Cinder's validate_host_capacity). FailGroupCreate gives the claims of
//     members still creating back when the group fails.
//   - TransitionVolume from creating to error (a create that failed for good: no storage) and
//     any change of host outside ClaimPlacement release the claim; DestroyVolume releases it.
//     An errored volume keeps its host, for delete routing, but holds no claim.
//   - UpsertPool (at every capability report) records the figures and recomputes allocated_gb
//     from the volumes, so drift (rows changed by hand) heals; ReconcilePools does it for
//     every pool and forgets pools of removed backends that hold nothing.
//
// Lock order, to keep MariaDB from deadlocking: a transaction changes the volume row first,
// then pool rows in name order.
//
// The limit is the CapacityFilter's rule for provisioned capacity, with allocated_gb (what
// placements claimed) as the provisioned capacity (reserved = floor(total × reserved% / 100)):
//
//	size 0, or no total (free or total 'infinite'/'unknown' and reserved 0): always fits
//	thin pool, thin request:  ratio ≥ 1 and allocated + size ≤ total × ratio
//	                          and allocated + size ≤ total × ratio − reserved
//	otherwise (thick):        allocated + size ≤ total − reserved
//
// The CapacityFilter also checks the free space the backend reported; that stays with the
// scheduler's snapshot, since only the backend knows what its storage really holds.
//
// A pool whose backend reports itself down (backend_state 'down', capacity 'unknown') takes no
// claim at all (pools.backend_down): nothing is placed on it or extended there, whatever the
// snapshot of a scheduler says. Its last good figures stay for when it is up again.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

const (
	reservedSQL = "FLOOR(total_capacity_gb * reserved_percentage / 100)"
	// roomSQL is the limit rule for parameters (size, thin request 1/0, size, size, size).
	roomSQL = `(? = 0 OR total_capacity_gb IS NULL OR CASE WHEN thin = 1 AND ? = 1
	THEN max_over_subscription_ratio >= 1
		AND allocated_gb + ? <= total_capacity_gb * max_over_subscription_ratio
		AND allocated_gb + ? <= total_capacity_gb * max_over_subscription_ratio - ` + reservedSQL + `
	ELSE allocated_gb + ? <= total_capacity_gb - ` + reservedSQL + ` END)`
	// claimSQL takes a claim on a pool whose backend is up, within the limit.
	claimSQL    = "UPDATE pools SET allocated_gb = allocated_gb + ? WHERE name = ? AND backend_down = 0 AND " + roomSQL
	releaseSQL  = "UPDATE pools SET allocated_gb = CASE WHEN allocated_gb > ? THEN allocated_gb - ? ELSE 0 END WHERE name = ?"
	poolColumns = "name, backend, total_capacity_gb, reserved_percentage, max_over_subscription_ratio, thin, allocated_gb, updated_at, operations, backend_down"
)

// errNoRoom rolls a claim's transaction back when the pool has no room.
var errNoRoom = errors.New("pool has no room")

// LimitGB is the most a pool may have claimed, by the rule above, for a thin request (thin)
// or a thick one; +Inf when the pool sets no limit, NaN-free: a thin pool with an invalid
// ratio has a limit of 0.
func LimitGB(p resource.PoolCapacity, thin bool) float64 {
	if p.TotalGB == nil {
		return math.Inf(1)
	}
	total := *p.TotalGB
	reserved := math.Floor(total * p.ReservedPercentage / 100)
	if thin && p.Thin {
		if math.IsNaN(p.Ratio) || p.Ratio < 1 {
			return 0
		}
		return min(total*p.Ratio-reserved, total*p.Ratio)
	}
	return total - reserved
}

// ClaimPlacement places a creating volume on c.Pool and claims c.Size there, in one
// transaction (see Claim). When the pool has no room (or no row) nothing changes and the
// result says what the pool had. A volume no longer creating, or no longer on c.FromHost,
// gives an error wrapping resource.ErrInvalidState; a missing one resource.ErrNotFound.
func (s *Store) ClaimPlacement(ctx context.Context, c resource.Claim) (resource.ClaimResult, error) {
	now := dbTime(s.now())
	thinReq := 1
	if c.Thick {
		thinReq = 0
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		from := []string{resource.StatusCreating}
		oldClaim := 0
		if c.FromHost == "" {
			if err := s.conditional(ctx, tx, c.VolumeID, from,
				"UPDATE volumes SET host = ?, claimed_gb = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ? AND host IS NULL",
				c.Pool, c.Size, now, c.VolumeID, resource.StatusCreating); err != nil {
				return err
			}
		} else {
			err := tx.QueryRowContext(ctx, "SELECT claimed_gb FROM volumes WHERE id = ? AND deleted = 0 AND status = ? AND host = ?"+s.forUpdate(),
				c.VolumeID, resource.StatusCreating, c.FromHost).Scan(&oldClaim)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err := s.conditional(ctx, tx, c.VolumeID, from,
				"UPDATE volumes SET host = ?, claimed_gb = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ? AND host = ?",
				c.Pool, c.Size, now, c.VolumeID, resource.StatusCreating, c.FromHost); err != nil {
				return err
			}
		}
		claim := func() error {
			res, err := tx.ExecContext(ctx, claimSQL, c.Size, c.Pool, c.Size, thinReq, c.Size, c.Size, c.Size)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return errNoRoom
			}
			return nil
		}
		release := func() error {
			if oldClaim <= 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, releaseSQL, oldClaim, oldClaim, c.FromHost)
			return err
		}
		// Pool rows in name order.
		if c.FromHost != "" && c.FromHost < c.Pool {
			if err := release(); err != nil {
				return err
			}
			return claim()
		}
		if err := claim(); err != nil {
			return err
		}
		if c.FromHost != "" {
			return release()
		}
		return nil
	})
	switch {
	case err == nil:
		return resource.ClaimResult{Claimed: true}, nil
	case errors.Is(err, errNoRoom):
		res := resource.ClaimResult{}
		p, err := s.GetPool(ctx, c.Pool)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			res.NoPool = true
		case err != nil:
			return res, fmt.Errorf("read pool %s: %w", c.Pool, err)
		default:
			res.AllocatedGB, res.LimitGB, res.Down = float64(p.AllocatedGB), LimitGB(p.PoolCapacity, !c.Thick), p.Down
		}
		return res, nil
	default:
		return resource.ClaimResult{}, fmt.Errorf("claim %d GiB of %s for volume %s: %w", c.Size, c.Pool, c.VolumeID, err)
	}
}

// forUpdate is the locking clause of a SELECT that the transaction will change: MySQL's row
// lock; nothing on SQLite, whose write transactions run one at a time.
func (s *Store) forUpdate() string {
	if s.dialect == DialectMySQL {
		return " FOR UPDATE"
	}
	return ""
}

// heldClaim reads, and locks, the claim volume id holds: its host, claimed_gb and status.
func (s *Store) heldClaim(ctx context.Context, tx *sql.Tx, id string) (host string, claim int, status string, err error) {
	var h sql.NullString
	err = tx.QueryRowContext(ctx, "SELECT host, claimed_gb, status FROM volumes WHERE id = ? AND deleted = 0"+s.forUpdate(), id).
		Scan(&h, &claim, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, "", nil // the conditional update says why
	}
	return h.String, claim, status, err
}

// releaseClaim gives claim GiB back to pool host.
func releaseClaim(ctx context.Context, tx *sql.Tx, host string, claim int) error {
	if host == "" || claim <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, releaseSQL, claim, claim, host)
	return err
}

// UpsertPool records a pool's capacity figures and supported operations (NULL when
// p.Operations is nil: unknown) from a capability report (a report older than the one
// recorded changes nothing) and recomputes its allocated_gb from the volumes
// that hold claims on it, healing any drift. A report of a backend that is down (p.Down)
// marks the pool down and keeps the figures it has: its capacity is unknown, which must not
// read as "no limit" once it is up again, nor until then for the releases.
func (s *Store) UpsertPool(ctx context.Context, p resource.PoolCapacity) error {
	now, reported := dbTime(s.now()), dbTime(p.ReportedAt)
	var ratio any
	if !math.IsNaN(p.Ratio) && !math.IsInf(p.Ratio, 0) {
		ratio = p.Ratio
	}
	var total any
	if p.TotalGB != nil {
		total = *p.TotalGB
	}
	ops := operationsColumn(p.Operations)
	ignore := "INSERT OR IGNORE"
	if s.dialect == DialectMySQL {
		ignore = "INSERT IGNORE"
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Insert first, then update: an UPDATE of a row that does not exist yet takes gap
		// locks in InnoDB, and the first reports of several pools at once then deadlock
		// against each other's inserts. An insert of a new name takes none of those.
		if _, err := tx.ExecContext(ctx, ignore+` INTO pools (name, backend, total_capacity_gb, reserved_percentage,
			max_over_subscription_ratio, thin, allocated_gb, created_at, updated_at, operations, backend_down)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
			p.Name, p.Backend, total, p.ReservedPercentage, ratio, p.Thin, now, reported, ops, p.Down); err != nil {
			return err
		}
		// A newer report wins; an older one arriving late changes nothing.
		update, args := `UPDATE pools SET backend = ?, total_capacity_gb = ?, reserved_percentage = ?,
			max_over_subscription_ratio = ?, thin = ?, updated_at = ?, operations = ?, backend_down = 0 WHERE name = ? AND updated_at <= ?`,
			[]any{p.Backend, total, p.ReservedPercentage, ratio, p.Thin, reported, ops, p.Name, reported}
		if p.Down {
			update, args = "UPDATE pools SET updated_at = ?, backend_down = 1 WHERE name = ? AND updated_at <= ?",
				[]any{reported, p.Name, reported}
		}
		if _, err := tx.ExecContext(ctx, update, args...); err != nil {
			return err
		}
		_, err := s.reconcile(ctx, tx, p.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("record pool %s: %w", p.Name, err)
	}
	return nil
}

// reconcile sets allocated_gb of pool name to the sum of the claims on it and reports
// whether that changed it. It locks the pool row before it sums: a claim or release in
// flight on the pool has either committed (and is counted) or waits for this transaction
// (and applies its change to the recomputed sum).
func (s *Store) reconcile(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var old int64
	err := tx.QueryRowContext(ctx, "SELECT allocated_gb FROM pools WHERE name = ?"+s.forUpdate(), name).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var sum int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(SUM(claimed_gb), 0) FROM volumes WHERE host = ? AND deleted = 0", name).Scan(&sum); err != nil {
		return false, err
	}
	if sum == old {
		return false, nil
	}
	_, err = tx.ExecContext(ctx, "UPDATE pools SET allocated_gb = ? WHERE name = ?", sum, name)
	return err == nil, err
}

// ReconcilePools recomputes allocated_gb of every pool (see UpsertPool) and deletes the
// pools last reported before staleBefore that hold no claim: the pools of a removed backend
// (a zero staleBefore deletes none). It returns the names of the pools whose allocated_gb
// was wrong.
func (s *Store) ReconcilePools(ctx context.Context, staleBefore time.Time) ([]string, error) {
	pools, err := s.ListPools(ctx)
	if err != nil {
		return nil, err
	}
	var healed []string
	for _, p := range pools {
		var changed bool
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			if changed, err = s.reconcile(ctx, tx, p.Name); err != nil {
				return err
			}
			if staleBefore.IsZero() {
				return nil
			}
			_, err = tx.ExecContext(ctx, "DELETE FROM pools WHERE name = ? AND updated_at < ? AND allocated_gb = 0", p.Name, dbTime(staleBefore))
			return err
		})
		if err != nil {
			return healed, fmt.Errorf("reconcile pool %s: %w", p.Name, err)
		}
		if changed {
			healed = append(healed, p.Name)
		}
	}
	return healed, nil
}

// GetPool returns pool name; a *resource.NotFoundError when it has no row.
func (s *Store) GetPool(ctx context.Context, name string) (*resource.Pool, error) {
	pools, err := s.queryPools(ctx, "SELECT "+poolColumns+" FROM pools WHERE name = ?", name)
	if err != nil {
		return nil, fmt.Errorf("get pool %s: %w", name, err)
	}
	if len(pools) == 0 {
		return nil, &resource.NotFoundError{Kind: "Pool", ID: name}
	}
	return pools[0], nil
}

// ListPools returns every pool, by name.
func (s *Store) ListPools(ctx context.Context) ([]*resource.Pool, error) {
	pools, err := s.queryPools(ctx, "SELECT "+poolColumns+" FROM pools ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return pools, nil
}

func (s *Store) queryPools(ctx context.Context, query string, args ...any) ([]*resource.Pool, error) {
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*resource.Pool
	for rows.Next() {
		var (
			p            resource.Pool
			total, ratio sql.NullFloat64
			updated      nullTime
			ops          sql.NullString
		)
		if err := rows.Scan(&p.Name, &p.Backend, &total, &p.ReservedPercentage, &ratio, &p.Thin, &p.AllocatedGB, &updated, &ops, &p.Down); err != nil {
			return nil, err
		}
		if total.Valid {
			p.TotalGB = &total.Float64
		}
		p.Ratio = math.NaN()
		if ratio.Valid {
			p.Ratio = ratio.Float64
		}
		p.ReportedAt = updated.Time
		p.Operations, _ = parseOperations(ops)
		out = append(out, &p)
	}
	return out, rows.Err()
}
