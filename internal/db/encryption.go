package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// Volume type encryption (the `encryption` table, one live row per type) and the key ids
// of encrypted volumes (volumes.encryption_key_id, snapshots.encryption_key_id).

const encryptionColumns = "encryption_id, volume_type_id, provider, cipher, key_size, control_location, created_at, updated_at"

func scanEncryption(sc scanner) (*resource.Encryption, error) {
	var (
		e                  resource.Encryption
		provider, location sql.NullString
		cipher             sql.NullString
		keySize            sql.NullInt64
		created, updated   nullTime
	)
	if err := sc.Scan(&e.ID, &e.VolumeTypeID, &provider, &cipher, &keySize, &location, &created, &updated); err != nil {
		return nil, err
	}
	e.Provider, e.ControlLocation = provider.String, location.String
	if cipher.Valid {
		e.Cipher = &cipher.String
	}
	if keySize.Valid {
		n := int(keySize.Int64)
		e.KeySize = &n
	}
	e.CreatedAt, e.UpdatedAt = created.Time, updated.Ptr()
	return &e, nil
}

// GetVolumeTypeEncryption returns the encryption of volume type typeID;
// resource.ErrEncryptionNotFound when it has none (whether or not the type exists).
func (s *Store) GetVolumeTypeEncryption(ctx context.Context, typeID string) (*resource.Encryption, error) {
	return s.getEncryption(ctx, s.ro, typeID, "")
}

func (s *Store) getEncryption(ctx context.Context, q querier, typeID, lock string) (*resource.Encryption, error) {
	e, err := scanEncryption(q.QueryRowContext(ctx,
		"SELECT "+encryptionColumns+" FROM encryption WHERE volume_type_id = ? AND deleted = 0"+lock, typeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("volume type %s: %w", typeID, resource.ErrEncryptionNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get encryption of volume type %s: %w", typeID, err)
	}
	return e, nil
}

// lockTypeForEncryption checks, in tx, that type id exists (a *resource.NotFoundError if
// not) and that no volume that is not deleted uses it (resource.ErrVolumeTypeInUse). On
// MariaDB it takes the type row's lock, so that changes of one type's encryption queue.
func (s *Store) lockTypeForEncryption(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM volume_types WHERE id = ? AND deleted = 0"+s.forUpdate(), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return &resource.NotFoundError{Kind: "VolumeType", ID: id}
	}
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM volumes WHERE volume_type_id = ? AND deleted = 0 LIMIT 1", id).Scan(&one)
	if err == nil {
		return resource.ErrVolumeTypeInUse
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// CreateVolumeTypeEncryption gives type e.VolumeTypeID encryption e (e.ID and e.CreatedAt
// are set here when empty). It fails with a *resource.NotFoundError for a missing type,
// resource.ErrVolumeTypeInUse while volumes of the type exist and
// resource.ErrEncryptionExists when the type has one already.
func (s *Store) CreateVolumeTypeEncryption(ctx context.Context, e *resource.Encryption) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockTypeForEncryption(ctx, tx, e.VolumeTypeID); err != nil {
			return err
		}
		if _, err := s.getEncryption(ctx, tx, e.VolumeTypeID, ""); err == nil {
			return resource.ErrEncryptionExists
		} else if !errors.Is(err, resource.ErrEncryptionNotFound) {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO encryption ("+encryptionColumns+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0)",
			e.ID, e.VolumeTypeID, e.Provider, nullStringPtr(e.Cipher), nullIntPtr(e.KeySize), e.ControlLocation, dbTime(e.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create encryption of volume type %s: %w", e.VolumeTypeID, err)
	}
	return nil
}

// UpdateVolumeTypeEncryption changes the encryption of type typeID and returns it. It fails
// as CreateVolumeTypeEncryption does, and with resource.ErrEncryptionNotFound when the type
// has no encryption.
func (s *Store) UpdateVolumeTypeEncryption(ctx context.Context, typeID string, u resource.EncryptionUpdate) (*resource.Encryption, error) {
	var out *resource.Encryption
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockTypeForEncryption(ctx, tx, typeID); err != nil {
			return err
		}
		sets, args := []string{"updated_at = ?"}, []any{dbTime(s.now())}
		if u.Provider != nil {
			sets, args = append(sets, "provider = ?"), append(args, *u.Provider)
		}
		if u.ControlLocation != nil {
			sets, args = append(sets, "control_location = ?"), append(args, *u.ControlLocation)
		}
		if u.SetCipher {
			sets, args = append(sets, "cipher = ?"), append(args, nullStringPtr(u.Cipher))
		}
		if u.SetKeySize {
			sets, args = append(sets, "key_size = ?"), append(args, nullIntPtr(u.KeySize))
		}
		query := "UPDATE encryption SET "
		for i, set := range sets {
			if i > 0 {
				query += ", "
			}
			query += set
		}
		res, err := tx.ExecContext(ctx, query+" WHERE volume_type_id = ? AND deleted = 0", append(args, typeID)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return resource.ErrEncryptionNotFound
		}
		out, err = s.getEncryption(ctx, tx, typeID, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update encryption of volume type %s: %w", typeID, err)
	}
	return out, nil
}

// DeleteVolumeTypeEncryption soft-deletes the encryption of type typeID:
// resource.ErrVolumeTypeInUse while volumes of the type exist,
// resource.ErrEncryptionNotFound when it has none (or the type does not exist, as Cinder
// answers).
func (s *Store) DeleteVolumeTypeEncryption(ctx context.Context, typeID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockTypeForEncryption(ctx, tx, typeID); err != nil {
			var nf *resource.NotFoundError
			if errors.As(err, &nf) {
				return resource.ErrEncryptionNotFound
			}
			return err
		}
		now := dbTime(s.now())
		res, err := tx.ExecContext(ctx, "UPDATE encryption SET deleted = 1, deleted_at = ? WHERE volume_type_id = ? AND deleted = 0", now, typeID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return resource.ErrEncryptionNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete encryption of volume type %s: %w", typeID, err)
	}
	return nil
}

// setVolumeEncryptionKey records, in the transaction that creates volume v, the id of its
// encryption key (nothing to do for a volume without one).
func setVolumeEncryptionKey(ctx context.Context, tx *sql.Tx, v *resource.Volume) error {
	if v.EncryptionKeyID == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE volumes SET encryption_key_id = ? WHERE id = ?", v.EncryptionKeyID, v.ID)
	return err
}

// copySnapshotEncryptionKey gives snapshot id, in the transaction that creates it, the key
// id of its volume, as Cinder's snapshots keep it.
func copySnapshotEncryptionKey(ctx context.Context, tx *sql.Tx, id, volumeID string) error {
	_, err := tx.ExecContext(ctx, "UPDATE snapshots SET encryption_key_id = (SELECT encryption_key_id FROM volumes WHERE id = ?) WHERE id = ?", volumeID, id)
	return err
}

// SnapshotEncryptionKey returns the key id snapshot id keeps, "" when none (or no such
// snapshot).
func (s *Store) SnapshotEncryptionKey(ctx context.Context, id string) (string, error) {
	var key sql.NullString
	err := s.ro.QueryRowContext(ctx, "SELECT encryption_key_id FROM snapshots WHERE id = ?", id).Scan(&key)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("encryption key of snapshot %s: %w", id, err)
	}
	return key.String, nil
}

// EncryptionKeyInUse reports whether a volume other than volumeID, or a snapshot of another
// volume, that is not deleted still refers to key keyID: then deleting volumeID must not
// delete the key (Cinder's volumes made from one backup or image share a key id).
func (s *Store) EncryptionKeyInUse(ctx context.Context, keyID, volumeID string) (bool, error) {
	var n int
	err := s.ro.QueryRowContext(ctx,
		"SELECT (SELECT COUNT(*) FROM volumes WHERE encryption_key_id = ? AND id <> ? AND deleted = 0)"+
			" + (SELECT COUNT(*) FROM snapshots WHERE encryption_key_id = ? AND volume_id <> ? AND deleted = 0)",
		keyID, volumeID, keyID, volumeID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("encryption key %s in use: %w", keyID, err)
	}
	return n > 0, nil
}

func nullStringPtr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func nullIntPtr(n *int) any {
	if n == nil {
		return nil
	}
	return *n
}

// softDeleteTypeEncryption soft-deletes, in the transaction that deletes type id, its
// encryption, as Cinder's volume_type_destroy does.
func softDeleteTypeEncryption(ctx context.Context, tx *sql.Tx, id, now string) error {
	_, err := tx.ExecContext(ctx, "UPDATE encryption SET deleted = 1, deleted_at = ? WHERE volume_type_id = ? AND deleted = 0", now, id)
	return err
}
