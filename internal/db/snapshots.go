package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

const snapshotColumns = `s.id, s.project_id, s.user_id, s.volume_id, s.display_name, s.display_description,
	s.volume_size, s.status, s.progress, s.volume_type_id, s.host, s.created_at, s.updated_at, s.deleted_at,
	s.group_snapshot_id, s.provider_location, s.provider_auth, s.provider_id`

func scanSnapshot(sc scanner, extra ...any) (*resource.Snapshot, error) {
	var (
		sn                                 resource.Snapshot
		name, desc, progress, typeID, host sql.NullString
		created, updated, deleted          nullTime
		groupSnapshotID                    sql.NullString
		provider                           providerColumns
	)
	dest := append([]any{&sn.ID, &sn.ProjectID, &sn.UserID, &sn.VolumeID, &name, &desc,
		&sn.Size, &sn.Status, &progress, &typeID, &host, &created, &updated, &deleted, &groupSnapshotID,
		&provider.location, &provider.auth, &provider.id}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	sn.Name, sn.Description, sn.Progress = name.String, desc.String, progress.String
	sn.VolumeTypeID, sn.Host = typeID.String, host.String
	sn.CreatedAt, sn.UpdatedAt, sn.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	sn.GroupSnapshotID = groupSnapshotID.String
	sn.Provider = provider.data()
	return &sn, nil
}

// CreateSnapshot inserts snapshot sn of a volume whose status is one of volumeFrom, with its
// metadata and msgs, in one transaction; the volume's row is locked meanwhile, so a delete of
// the volume cannot slip in between. It fills in ID, Status (creating), CreatedAt, and from
// the volume Size, VolumeTypeID and Host. The snapshot is charged to the project's quota in
// the same transaction. A missing volume is a *resource.NotFoundError, a volume in another
// status a *resource.InvalidStateError.
func (s *Store) CreateSnapshot(ctx context.Context, sn *resource.Snapshot, volumeFrom []string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if sn.ID == "" {
		sn.ID = uuid.NewString()
	}
	if sn.Status == "" {
		sn.Status = resource.SnapshotCreating
	}
	now := s.now()
	sn.CreatedAt = now
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			status       string
			typeID, host sql.NullString
			typeName     sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT v.status, v.size, v.volume_type_id, v.host, t.name
			FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id
			WHERE v.id = ? AND v.deleted = 0`+s.forUpdate(), sn.VolumeID).
			Scan(&status, &sn.Size, &typeID, &host, &typeName)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Volume", ID: sn.VolumeID}
		}
		if err != nil {
			return err
		}
		if !slices.Contains(volumeFrom, status) {
			return &resource.InvalidStateError{Kind: "Volume", ID: sn.VolumeID, Status: status, Want: slices.Clone(volumeFrom)}
		}
		sn.VolumeTypeID, sn.Host = typeID.String, host.String
		if err := s.chargeQuota(ctx, tx, quotaChange{
			ProjectID: sn.ProjectID, VolumeTypeName: typeName.String, Snapshots: 1, Gigabytes: sn.Size,
		}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO snapshots (id, project_id, user_id, volume_id,
			display_name, display_description, volume_size, status, progress, volume_type_id, host,
			created_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			sn.ID, sn.ProjectID, sn.UserID, sn.VolumeID, nullString(sn.Name), nullString(sn.Description),
			sn.Size, sn.Status, nullString(sn.Progress), nullString(sn.VolumeTypeID), nullString(sn.Host),
			dbTime(now)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("id in use: %w", resource.ErrConflict)
			}
			return err
		}
		if err := insertSnapshotMetadata(ctx, tx, sn.ID, sn.Metadata, now); err != nil {
			return err
		}
		if err := copySnapshotEncryptionKey(ctx, tx, sn.ID, sn.VolumeID); err != nil {
			return err
		}
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create snapshot of volume %s: %w", sn.VolumeID, err)
	}
	if sn.Metadata == nil {
		sn.Metadata = map[string]string{}
	}
	return out, nil
}

func insertSnapshotMetadata(ctx context.Context, q querier, id string, md map[string]string, now time.Time) error {
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := q.ExecContext(ctx,
			"INSERT INTO snapshot_metadata (snapshot_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
			id, k, md[k], dbTime(now)); err != nil {
			return err
		}
	}
	return nil
}

// GetSnapshot returns snapshot id with its metadata; a missing or deleted one is a
// *resource.NotFoundError.
func (s *Store) GetSnapshot(ctx context.Context, id string) (*resource.Snapshot, error) {
	return getSnapshot(ctx, s.ro, id)
}

func getSnapshot(ctx context.Context, q querier, id string) (*resource.Snapshot, error) {
	sn, err := scanSnapshot(q.QueryRowContext(ctx, "SELECT "+snapshotColumns+" FROM snapshots s WHERE s.id = ? AND s.deleted = 0", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "Snapshot", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("get snapshot %s: %w", id, err)
	}
	if err := loadSnapshotMetadata(ctx, q, []*resource.Snapshot{sn}); err != nil {
		return nil, fmt.Errorf("get snapshot %s: %w", id, err)
	}
	return sn, nil
}

// querySnapshots runs a query of snapshotColumns and loads the metadata of what it found.
func querySnapshots(ctx context.Context, q querier, query string, args ...any) ([]*resource.Snapshot, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*resource.Snapshot
	for rows.Next() {
		sn, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close() // before the next query: a SQLite pool may have a single connection
	return out, loadSnapshotMetadata(ctx, q, out)
}

func loadSnapshotMetadata(ctx context.Context, q querier, snaps []*resource.Snapshot) error {
	ids := make([]string, len(snaps))
	for i, sn := range snaps {
		ids[i] = sn.ID
	}
	md, err := keyValuesOf(ctx, q, "snapshot_metadata", "snapshot_id", ids)
	if err != nil {
		return err
	}
	for _, sn := range snaps {
		if sn.Metadata = md[sn.ID]; sn.Metadata == nil {
			sn.Metadata = map[string]string{}
		}
	}
	return nil
}

// TransitionSnapshot moves snapshot id from one of the statuses from to status with one
// conditional UPDATE, and writes msg (a user message, when non-nil) and msgs in the same
// transaction if, and only if, it won. Errors are those of TransitionVolume, of kind
// "Snapshot".
func (s *Store) TransitionSnapshot(ctx context.Context, id string, from []string, status string, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	return s.transitionSnapshot(ctx, id, from, status, nil, msg, msgs...)
}

// FinishSnapshotCreate moves snapshot id from creating to available (progress 100%) and sets
// its provider data p, what the driver returned when it took it, in the same UPDATE: a crash
// cannot keep one without the other, and a create run again (a redelivery, a recovery)
// overwrites what an earlier run wrote. Errors are those of TransitionSnapshot.
func (s *Store) FinishSnapshotCreate(ctx context.Context, id string, p resource.ProviderData) error {
	_, err := s.transitionSnapshot(ctx, id, []string{resource.SnapshotCreating}, resource.SnapshotAvailable, &p, nil)
	return err
}

// transitionSnapshot is TransitionSnapshot that also sets the provider columns from p when p
// is non-nil.
func (s *Store) transitionSnapshot(ctx context.Context, id string, from []string, status string, p *resource.ProviderData, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(from) == 0 {
		return nil, fmt.Errorf("transition snapshot %s: no status to move from", id)
	}
	now := s.now()
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set := "status = ?, updated_at = ?"
		args := []any{status, dbTime(now)}
		if status == resource.SnapshotAvailable {
			set += ", progress = '100%'"
		}
		if p != nil {
			set, args = set+", "+providerSet, append(args, providerArgs(*p)...)
		}
		if err := s.conditionalSnapshot(ctx, tx, id, from,
			"UPDATE snapshots SET "+set+" WHERE id = ? AND deleted = 0 AND status IN ("+placeholders(len(from))+")",
			append(append(args, id), strArgs(from)...)...); err != nil {
			return err
		}
		if msg != nil {
			if err := insertMessage(ctx, tx, now, msg); err != nil {
				return err
			}
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s to %s: %w", id, status, err)
	}
	return out, nil
}

// DestroySnapshot soft-deletes snapshot id if its status is one of from, and gives its quota
// back, in one transaction. Errors are those of TransitionSnapshot.
func (s *Store) DestroySnapshot(ctx context.Context, id string, from []string) error {
	if len(from) == 0 {
		return fmt.Errorf("destroy snapshot %s: no status to delete from", id)
	}
	now := dbTime(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			project  string
			size     int
			typeName sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT s.project_id, s.volume_size, t.name FROM snapshots s
			LEFT JOIN volume_types t ON t.id = s.volume_type_id WHERE s.id = ? AND s.deleted = 0`+s.forUpdate(), id).
			Scan(&project, &size, &typeName)
		if errors.Is(err, sql.ErrNoRows) {
			return &resource.NotFoundError{Kind: "Snapshot", ID: id}
		}
		if err != nil {
			return err
		}
		if err := s.conditionalSnapshot(ctx, tx, id, from,
			"UPDATE snapshots SET status = ?, deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0 AND status IN ("+placeholders(len(from))+")",
			append([]any{resource.SnapshotDeleted, now, now, id}, strArgs(from)...)...); err != nil {
			return err
		}
		return s.chargeQuota(ctx, tx, quotaChange{
			ProjectID: project, VolumeTypeName: typeName.String, Snapshots: -1, Gigabytes: -size,
		})
	})
	if err != nil {
		return fmt.Errorf("destroy snapshot %s: %w", id, err)
	}
	return nil
}

// conditionalSnapshot runs a conditional UPDATE of snapshot id; when it changed no row, it
// reads the snapshot (through q, inside the same transaction) to say why.
func (s *Store) conditionalSnapshot(ctx context.Context, q querier, id string, from []string, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	var status string
	switch err := q.QueryRowContext(ctx, "SELECT status FROM snapshots WHERE id = ? AND deleted = 0", id).Scan(&status); {
	case errors.Is(err, sql.ErrNoRows):
		return &resource.NotFoundError{Kind: "Snapshot", ID: id}
	case err != nil:
		return err
	}
	return &resource.InvalidStateError{Kind: "Snapshot", ID: id, Status: status, Want: slices.Clone(from)}
}
