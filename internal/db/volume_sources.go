package db

// Changes of a volume's size and type that the API makes: the start of an extend (quota,
// capacity claim, status and the extend_volume cast in one transaction) and a retype that
// stays on the volume's pool.
//
// The capacity rule of an extend, which the volume service's FinishExtend and FailExtend
// follow (see BeginExtend): with delta = new_size − size,
//
//	begin   (BeginExtend):  status → extending; claimed_gb += delta; pools.allocated_gb += delta
//	                        (only while the pool's limit holds); quota gigabytes += delta
//	success (FinishExtend): status → available/in-use; size = new_size; claims unchanged
//	failure (FailExtend):   status → error_extending; size unchanged; claimed_gb −= delta;
//	                        pools.allocated_gb −= delta; quota gigabytes −= delta
//
// The volume row keeps its old size while extending, so delta can always be computed again
// from the row and the new size the extend_volume message carries.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/scoria/scoria/internal/resource"
)

// sourceRow is what a size or type change reads of a volume, locked, in its transaction.
type sourceRow struct {
	status, project, host string
	size, claimed         int
	typeID, typeName      string
	multiattach           bool
}

// lockVolumeRow reads, and locks (MySQL), volume id for a change in tx. A missing volume is a
// *resource.NotFoundError.
func (s *Store) lockVolumeRow(ctx context.Context, tx *sql.Tx, id string) (sourceRow, error) {
	var (
		r                      sourceRow
		host, typeID, typeName sql.NullString
	)
	err := tx.QueryRowContext(ctx, `SELECT v.status, v.project_id, v.host, v.size, v.claimed_gb, v.volume_type_id,
		t.name, v.multiattach FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id
		WHERE v.id = ? AND v.deleted = 0`+s.forUpdate(), id).
		Scan(&r.status, &r.project, &host, &r.size, &r.claimed, &typeID, &typeName, &r.multiattach)
	if errors.Is(err, sql.ErrNoRows) {
		return r, &resource.NotFoundError{Kind: "Volume", ID: id}
	}
	r.host, r.typeID, r.typeName = host.String, typeID.String, typeName.String
	return r, err
}

// thickType reports whether volume type id asks for thick provisioning
// (provisioning:type=thick), which decides the capacity rule of a claim.
func thickType(ctx context.Context, q querier, typeID string) (bool, error) {
	if typeID == "" {
		return false, nil
	}
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM volume_type_extra_specs WHERE volume_type_id = ? AND `key` = ? AND `value` = ?",
		typeID, "provisioning:type", "thick").Scan(&n)
	return n > 0, err
}

// BeginExtend starts the extend of volume id to newSize, in one transaction: the volume must
// be in one of the statuses from and still have size (the size the caller checked newSize
// against); it moves to extending; its project is charged delta = newSize − size gigabytes
// (per_volume_gigabytes checked against newSize); and delta is claimed on the volume's pool
// with the same conditional UPDATE as a placement, so an extend never takes a pool over its
// limit. msgs (the extend_volume cast) are written only if all of that happened.
//
// Capacity rule, shared with FinishExtend and FailExtend (volume service): claimed_gb and
// pools.allocated_gb grow by delta here; a failed extend shrinks both by the same delta and
// gives the quota back; a finished one sets size = newSize and leaves the claim as it is.
//
// When the pool has no room (or no row: it has not reported), nothing changes and the result
// has Claimed false with what the pool had. A volume in another status, or whose size changed,
// is a *resource.InvalidStateError; a missing one a *resource.NotFoundError; over quota a
// *resource.OverQuotaError.
func (s *Store) BeginExtend(ctx context.Context, id string, from []string, size, newSize int, msgs ...resource.OutboxMessage) (resource.ClaimResult, []resource.OutboxMessage, error) {
	if len(from) == 0 {
		return resource.ClaimResult{}, nil, fmt.Errorf("extend volume %s: no status to extend from", id)
	}
	delta := newSize - size
	if delta <= 0 {
		return resource.ClaimResult{}, nil, fmt.Errorf("extend volume %s from %d to %d GiB: not larger", id, size, newSize)
	}
	now := s.now()
	var (
		out   []resource.OutboxMessage
		pool  string
		thick bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.lockVolumeRow(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, r.status) || r.size != size {
			return &resource.InvalidStateError{Kind: "Volume", ID: id, Status: r.status, Want: slices.Clone(from)}
		}
		pool = r.host
		if pool == "" {
			return &resource.InvalidStateError{Kind: "Volume", ID: id, Status: r.status, Want: slices.Clone(from)}
		}
		if thick, err = thickType(ctx, tx, r.typeID); err != nil {
			return err
		}
		if err := s.chargeQuota(ctx, tx, quotaChange{
			ProjectID: r.project, VolumeTypeName: r.typeName, Gigabytes: delta, VolumeSize: newSize,
		}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			"UPDATE volumes SET status = ?, claimed_gb = claimed_gb + ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ? AND size = ?",
			resource.StatusExtending, delta, dbTime(now), id, r.status, size); err != nil {
			return err
		}
		thinReq := 1
		if thick {
			thinReq = 0
		}
		res, err := tx.ExecContext(ctx, claimSQL, delta, pool, delta, thinReq, delta, delta, delta)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoRoom
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	switch {
	case err == nil:
		return resource.ClaimResult{Claimed: true}, out, nil
	case errors.Is(err, errNoRoom):
		res := resource.ClaimResult{}
		p, err := s.GetPool(ctx, pool)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			res.NoPool = true
		case err != nil:
			return res, nil, fmt.Errorf("extend volume %s: read pool %s: %w", id, pool, err)
		default:
			res.AllocatedGB, res.LimitGB, res.Down = float64(p.AllocatedGB), LimitGB(p.PoolCapacity, !thick), p.Down
		}
		return res, nil, nil
	default:
		return resource.ClaimResult{}, nil, fmt.Errorf("extend volume %s to %d GiB: %w", id, newSize, err)
	}
}

// Retype changes the type of volume id to newTypeID, on the pool it is on, in one
// transaction: the volume must be in one of the statuses from and of type fromTypeID still
// (what the caller checked the new type against); multiattach becomes the new type's. The
// per-type quota moves with it: the old type's volumes_<type> and gigabytes_<type> are given
// back and the new type's taken (the hook charges the project totals too, which net to zero;
// given back first, so that they never count twice). A volume in another status or of
// another type is a *resource.InvalidStateError, a missing one a *resource.NotFoundError, a
// missing type a *resource.NotFoundError of kind VolumeType; over quota a
// *resource.OverQuotaError.
func (s *Store) Retype(ctx context.Context, id string, from []string, fromTypeID, newTypeID string, multiattach bool) error {
	if len(from) == 0 {
		return fmt.Errorf("retype volume %s: no status to retype from", id)
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.lockVolumeRow(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, r.status) || r.typeID != fromTypeID || r.typeID == newTypeID {
			return &resource.InvalidStateError{Kind: "Volume", ID: id, Status: r.status, Want: slices.Clone(from)}
		}
		var newName string
		switch err := tx.QueryRowContext(ctx, "SELECT name FROM volume_types WHERE id = ? AND deleted = 0", newTypeID).Scan(&newName); {
		case errors.Is(err, sql.ErrNoRows):
			return &resource.NotFoundError{Kind: "VolumeType", ID: newTypeID}
		case err != nil:
			return err
		}
		if err := s.chargeQuota(ctx, tx, quotaChange{
			ProjectID: r.project, VolumeTypeName: r.typeName, Volumes: -1, Gigabytes: -r.size,
		}); err != nil {
			return err
		}
		if err := s.chargeQuota(ctx, tx, quotaChange{
			ProjectID: r.project, VolumeTypeName: newName, Volumes: 1, Gigabytes: r.size,
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE volumes SET volume_type_id = ?, multiattach = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ? AND volume_type_id = ?",
			newTypeID, multiattach, dbTime(now), id, r.status, fromTypeID)
		return err
	})
	if err != nil {
		return fmt.Errorf("retype volume %s to %s: %w", id, newTypeID, err)
	}
	return nil
}
