package db

// The volume service's ends of extend and revert: each finishes (or fails) the operation the
// API began, in one transaction, with one conditional UPDATE per row whose status changes.
//
// An extend holds its new size in the volume's claim while it runs: the API's BeginExtend
// grows volumes.claimed_gb (and the pool's allocated_gb) from size to the new size and
// charges the difference to quota, in the transaction that moves the volume to extending.
// FinishExtend makes size follow; FailExtend gives the claim and the quota back.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// extendingVolume is what FinishExtend and FailExtend read, and lock, of a volume.
type extendingVolume struct {
	project, status, host, typeName string
	size, claim                     int
}

func (s *Store) lockExtending(ctx context.Context, tx *sql.Tx, id string) (*extendingVolume, error) {
	var (
		v              extendingVolume
		host, typeName sql.NullString
	)
	err := tx.QueryRowContext(ctx, `SELECT v.project_id, v.status, v.host, v.size, v.claimed_gb, t.name
		FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id
		WHERE v.id = ? AND v.deleted = 0`+s.forUpdate(), id).
		Scan(&v.project, &v.status, &host, &v.size, &v.claim, &typeName)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "Volume", ID: id}
	}
	if err != nil {
		return nil, err
	}
	if v.status != resource.StatusExtending {
		return nil, &resource.InvalidStateError{Kind: "Volume", ID: id, Status: v.status, Want: []string{resource.StatusExtending}}
	}
	v.host, v.typeName = host.String, typeName.String
	return &v, nil
}

// ExtendTarget returns the size volume id, in extending, grows to, as its claim records it;
// 0 when the claim does not say (it is not larger than the size). A volume in another status
// is a *resource.InvalidStateError, a missing one a *resource.NotFoundError.
func (s *Store) ExtendTarget(ctx context.Context, id string) (int, error) {
	var status string
	var size, claim int
	err := s.ro.QueryRowContext(ctx, "SELECT status, size, claimed_gb FROM volumes WHERE id = ? AND deleted = 0", id).
		Scan(&status, &size, &claim)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, &resource.NotFoundError{Kind: "Volume", ID: id}
	case err != nil:
		return 0, fmt.Errorf("read extend of volume %s: %w", id, err)
	case status != resource.StatusExtending:
		return 0, &resource.InvalidStateError{Kind: "Volume", ID: id, Status: status, Want: []string{resource.StatusExtending}}
	case claim > size:
		return claim, nil
	}
	return 0, nil
}

// FinishExtend ends the extend of volume id to newSize: from extending, size becomes newSize
// and the status goes back to in-use when the volume is attached, else to available. A claim
// smaller than newSize (an extend begun without growing it) is grown to newSize, on the
// pool too: the storage has grown. A volume not in extending is a
// *resource.InvalidStateError, a missing one a *resource.NotFoundError.
func (s *Store) FinishExtend(ctx context.Context, id string, newSize int) error {
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := s.lockExtending(ctx, tx, id)
		if err != nil {
			return err
		}
		claim := max(v.claim, newSize)
		if err := s.conditional(ctx, tx, id, []string{resource.StatusExtending},
			`UPDATE volumes SET size = ?, claimed_gb = ?, updated_at = ?,
			status = CASE WHEN attach_status = ? THEN ? ELSE ? END
			WHERE id = ? AND deleted = 0 AND status = ?`,
			newSize, claim, now, resource.AttachAttached, resource.StatusInUse, resource.StatusAvailable,
			id, resource.StatusExtending); err != nil {
			return err
		}
		if grow := claim - v.claim; grow > 0 && v.host != "" {
			_, err := tx.ExecContext(ctx, "UPDATE pools SET allocated_gb = allocated_gb + ? WHERE name = ?", grow, v.host)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish extend of volume %s to %d GiB: %w", id, newSize, err)
	}
	return nil
}

// FailExtend ends a failed extend of volume id to newSize: from extending to error_extending
// with its size unchanged, and, in the same transaction, the quota the extend took
// (newSize − size GiB) and the claim beyond its size go back, and msg (a user message, when
// non-nil) is written. Errors are those of FinishExtend.
func (s *Store) FailExtend(ctx context.Context, id string, newSize int, msg *resource.Message) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := s.lockExtending(ctx, tx, id)
		if err != nil {
			return err
		}
		claim := min(v.claim, v.size)
		if err := s.conditional(ctx, tx, id, []string{resource.StatusExtending},
			"UPDATE volumes SET status = ?, claimed_gb = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.StatusErrorExtending, claim, dbTime(now), id, resource.StatusExtending); err != nil {
			return err
		}
		if err := releaseClaim(ctx, tx, v.host, v.claim-claim); err != nil {
			return err
		}
		if delta := newSize - v.size; delta > 0 {
			if err := s.chargeQuota(ctx, tx, quotaChange{
				ProjectID: v.project, VolumeTypeName: v.typeName, Gigabytes: -delta,
			}); err != nil {
				return err
			}
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fail extend of volume %s to %d GiB: %w", id, newSize, err)
	}
	return nil
}

// FinishRevert ends the revert of volume volumeID to snapshot snapshotID: the volume goes
// from reverting to available and the snapshot from restoring to available, in one
// transaction. A volume not in reverting is a *resource.InvalidStateError (and nothing
// changes); a snapshot no longer in restoring (reset meanwhile) is left as it is.
func (s *Store) FinishRevert(ctx context.Context, volumeID, snapshotID string) error {
	return s.endRevert(ctx, volumeID, snapshotID, resource.StatusAvailable, nil)
}

// FailRevert ends a failed revert as Cinder does: the volume goes from reverting to error,
// the snapshot from restoring back to available (it is intact), and msg (a user message,
// when non-nil) is written, in one transaction. Errors are those of FinishRevert.
func (s *Store) FailRevert(ctx context.Context, volumeID, snapshotID string, msg *resource.Message) error {
	return s.endRevert(ctx, volumeID, snapshotID, resource.StatusError, msg)
}

func (s *Store) endRevert(ctx context.Context, volumeID, snapshotID, volumeStatus string, msg *resource.Message) error {
	now := s.now()
	from := []string{resource.StatusReverting}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.conditional(ctx, tx, volumeID, from,
			"UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			volumeStatus, dbTime(now), volumeID, resource.StatusReverting); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			"UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.SnapshotAvailable, dbTime(now), snapshotID, resource.SnapshotRestoring); err != nil {
			return err
		}
		if msg != nil {
			return insertMessage(ctx, tx, now, msg)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end revert of volume %s to snapshot %s (volume to %s): %w", volumeID, snapshotID, volumeStatus, err)
	}
	return nil
}
