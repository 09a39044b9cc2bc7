package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// Volume transfers: an offer (a transfers row, the volume awaiting-transfer) that another
// project accepts with the auth key, moving the volume, its snapshots and their quota in
// one transaction.

// Lengths of Cinder's transfer secrets (volume_transfer_key_length, salt).
const (
	transferKeyLength  = 16
	transferSaltLength = 8
)

const transferColumns = `id, volume_id, display_name, source_project_id, destination_project_id, accepted,
	no_snapshots, created_at, updated_at, deleted_at`

func scanTransfer(sc scanner, extra ...any) (*resource.Transfer, error) {
	var (
		t                         resource.Transfer
		name, dest                sql.NullString
		created, updated, deleted nullTime
	)
	err := sc.Scan(append([]any{&t.ID, &t.VolumeID, &name, &t.SourceProjectID, &dest, &t.Accepted,
		&t.NoSnapshots, &created, &updated, &deleted}, extra...)...)
	if err != nil {
		return nil, err
	}
	t.Name, t.DestinationProjectID = name.String, dest.String
	t.CreatedAt, t.UpdatedAt, t.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	return &t, nil
}

// randomString returns n characters of [a-zA-Z0-9] from crypto/rand.
func randomString(n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		// Rejection sampling keeps the characters uniform.
		for {
			var c [1]byte
			if _, err := rand.Read(c[:]); err != nil {
				return "", err
			}
			if int(c[0]) < 256-256%len(alphabet) {
				b[i] = alphabet[int(c[0])%len(alphabet)]
				break
			}
		}
	}
	return string(b), nil
}

// transferHash is the stored form of an auth key: hex SHA-256 of salt and key.
func transferHash(salt, key string) string {
	sum := sha256.Sum256([]byte(salt + key))
	return hex.EncodeToString(sum[:])
}

// CreateTransfer offers volume t.VolumeID: the volume must be available and detached, and
// (unless t.NoSnapshots) its snapshots available; it becomes awaiting-transfer in the same
// transaction. t gets ID, SourceProjectID (the volume's project), CreatedAt and AuthKey, the
// only time the key is known. A missing volume (or, when projectID is not "", one of another
// project) is a *resource.NotFoundError, one in another status a *resource.InvalidStateError,
// a busy snapshot a *resource.SnapshotStateError.
func (s *Store) CreateTransfer(ctx context.Context, t *resource.Transfer, projectID string) error {
	key, err := randomString(transferKeyLength)
	if err != nil {
		return fmt.Errorf("create transfer: %w", err)
	}
	salt, err := randomString(transferSaltLength)
	if err != nil {
		return fmt.Errorf("create transfer: %w", err)
	}
	t.ID = uuid.NewString()
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var project, status, attach string
		err := tx.QueryRowContext(ctx, "SELECT project_id, status, attach_status FROM volumes WHERE id = ? AND deleted = 0"+s.forUpdate(),
			t.VolumeID).Scan(&project, &status, &attach)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && projectID != "" && project != projectID) {
			return &resource.NotFoundError{Kind: "Volume", ID: t.VolumeID}
		}
		if err != nil {
			return err
		}
		if status != resource.StatusAvailable || attach != resource.AttachDetached {
			return &resource.InvalidStateError{Kind: "Volume", ID: t.VolumeID, Status: status, Want: []string{resource.StatusAvailable}}
		}
		if !t.NoSnapshots {
			var busy string
			err := tx.QueryRowContext(ctx, "SELECT id FROM snapshots WHERE volume_id = ? AND deleted = 0 AND status <> ? ORDER BY id LIMIT 1",
				t.VolumeID, resource.SnapshotAvailable).Scan(&busy)
			if err == nil {
				return &resource.SnapshotStateError{SnapshotID: busy}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if err := s.conditional(ctx, tx, t.VolumeID, []string{resource.StatusAvailable},
			"UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.StatusAwaitingTransfer, dbTime(now), t.VolumeID, resource.StatusAvailable); err != nil {
			return err
		}
		t.SourceProjectID = project
		_, err = tx.ExecContext(ctx, `INSERT INTO transfers (id, volume_id, display_name, salt, crypt_hash,
			source_project_id, accepted, no_snapshots, created_at, deleted) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, 0)`,
			t.ID, t.VolumeID, nullString(t.Name), salt, transferHash(salt, key), project, t.NoSnapshots, dbTime(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("create transfer of volume %s: %w", t.VolumeID, err)
	}
	t.AuthKey, t.CreatedAt = key, now
	return nil
}

// GetTransfer returns transfer id unless it is deleted or accepted; with projectID not "",
// only a transfer of that (source) project. Otherwise a *resource.NotFoundError.
func (s *Store) GetTransfer(ctx context.Context, id, projectID string) (*resource.Transfer, error) {
	query, args := "SELECT "+transferColumns+" FROM transfers WHERE id = ? AND deleted = 0", []any{id}
	if projectID != "" {
		query, args = query+" AND source_project_id = ?", append(args, projectID)
	}
	t, err := scanTransfer(s.ro.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "Transfer", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("get transfer %s: %w", id, err)
	}
	return t, nil
}

// ListTransfers returns the open transfers f selects, newest first.
func (s *Store) ListTransfers(ctx context.Context, f resource.TransferFilter) ([]*resource.Transfer, error) {
	where, args := []string{"deleted = 0"}, []any(nil)
	for _, c := range []struct{ col, val string }{
		{"source_project_id", f.ProjectID}, {"display_name", f.Name}, {"volume_id", f.VolumeID},
	} {
		if c.val != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.val)
		}
	}
	rows, err := s.ro.QueryContext(ctx, "SELECT "+transferColumns+" FROM transfers WHERE "+strings.Join(where, " AND ")+
		" ORDER BY created_at DESC, id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list transfers: %w", err)
	}
	defer rows.Close()
	var out []*resource.Transfer
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, fmt.Errorf("list transfers: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTransfer withdraws transfer id (of projectID, when not ""): the row is soft-deleted
// and its volume, if still awaiting-transfer, is available again, in one transaction.
func (s *Store) DeleteTransfer(ctx context.Context, id, projectID string) error {
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, _, _, err := s.lockTransfer(ctx, tx, id, projectID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE transfers SET deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ?", now, now, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE volumes SET status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			resource.StatusAvailable, now, t.VolumeID, resource.StatusAwaitingTransfer)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete transfer %s: %w", id, err)
	}
	return nil
}

// lockTransfer reads and locks an open transfer (of projectID when not "") with its salt and
// hash.
func (s *Store) lockTransfer(ctx context.Context, tx *sql.Tx, id, projectID string) (t *resource.Transfer, salt, hash string, err error) {
	query, args := "SELECT "+transferColumns+", salt, crypt_hash FROM transfers WHERE id = ? AND deleted = 0", []any{id}
	if projectID != "" {
		query, args = query+" AND source_project_id = ?", append(args, projectID)
	}
	t, err = scanTransfer(tx.QueryRowContext(ctx, query+s.forUpdate(), args...), &salt, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", "", &resource.NotFoundError{Kind: "Transfer", ID: id}
	}
	return t, salt, hash, err
}

// AcceptTransfer gives the volume of transfer id, with authKey, to projectID (as userID): in
// one transaction the key is checked (in constant time), the receiver is charged the volume
// (and, unless the transfer says no_snapshots, its snapshots) and the giver given them back,
// the volume (and snapshots) change project and the volume is available again; the transfer
// is soft-deleted as accepted. A wrong key is a *resource.InvalidAuthKeyError, a receiver
// over quota a *resource.OverQuotaError, a volume no longer awaiting-transfer a
// *resource.InvalidStateError; then nothing changes.
func (s *Store) AcceptTransfer(ctx context.Context, id, authKey, projectID, userID string) (*resource.Transfer, error) {
	now := dbTime(s.now())
	var out *resource.Transfer
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, salt, hash, err := s.lockTransfer(ctx, tx, id, "")
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(transferHash(salt, authKey)), []byte(hash)) != 1 {
			return &resource.InvalidAuthKeyError{TransferID: id}
		}
		var (
			giver, status string
			size          int
			typeName      sql.NullString
		)
		err = tx.QueryRowContext(ctx, `SELECT v.project_id, v.status, v.size, t.name FROM volumes v
			LEFT JOIN volume_types t ON t.id = v.volume_type_id WHERE v.id = ? AND v.deleted = 0`+s.forUpdate(), t.VolumeID).
			Scan(&giver, &status, &size, &typeName)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Volume", ID: t.VolumeID}
		}
		if err != nil {
			return err
		}
		if status != resource.StatusAwaitingTransfer {
			return &resource.InvalidStateError{Kind: "Volume", ID: t.VolumeID, Status: status, Want: []string{resource.StatusAwaitingTransfer}}
		}
		var snaps, snapGB int
		if !t.NoSnapshots {
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(volume_size), 0) FROM snapshots WHERE volume_id = ? AND deleted = 0 AND project_id = ?",
				t.VolumeID, giver).Scan(&snaps, &snapGB); err != nil {
				return err
			}
		}
		move := quotaChange{ProjectID: projectID, VolumeTypeName: typeName.String, Volumes: 1, Gigabytes: size + snapGB,
			Snapshots: snaps, VolumeSize: size}
		if giver != projectID {
			if err := s.chargeQuota(ctx, tx, move); err != nil {
				return err
			}
			back := move
			back.ProjectID, back.Volumes, back.Gigabytes, back.Snapshots, back.VolumeSize = giver, -1, -(size + snapGB), -snaps, 0
			if err := s.chargeQuota(ctx, tx, back); err != nil {
				return err
			}
		}
		if err := s.conditional(ctx, tx, t.VolumeID, []string{resource.StatusAwaitingTransfer},
			"UPDATE volumes SET project_id = ?, user_id = ?, status = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status = ?",
			projectID, userID, resource.StatusAvailable, now, t.VolumeID, resource.StatusAwaitingTransfer); err != nil {
			return err
		}
		if !t.NoSnapshots {
			if _, err := tx.ExecContext(ctx, "UPDATE snapshots SET project_id = ?, user_id = ?, updated_at = ? WHERE volume_id = ? AND deleted = 0 AND project_id = ?",
				projectID, userID, now, t.VolumeID, giver); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE transfers SET deleted = 1, deleted_at = ?, updated_at = ?, accepted = 1,
			destination_project_id = ? WHERE id = ?`, now, now, projectID, id); err != nil {
			return err
		}
		t.Accepted, t.DestinationProjectID = true, projectID
		out = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept transfer %s: %w", id, err)
	}
	return out, nil
}
