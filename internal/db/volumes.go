package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// volumeSelect reads volumes with their type's name; scanVolume reads its columns.
const (
	volumeColumns = `v.id, v.project_id, v.user_id, v.display_name, v.display_description,
	v.size, v.status, v.attach_status, v.availability_zone, v.host, v.volume_type_id, t.name,
	v.bootable, v.multiattach, v.created_at, v.updated_at, v.deleted_at, v.snapshot_id, v.source_volid,
	v.encryption_key_id, v.group_id, v.provider_location, v.provider_auth, v.provider_id`
	volumeSelect = "SELECT " + volumeColumns + `
FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id`
	// volumeWithMetadataSelect reads one volume and its metadata in one statement: a row per
	// metadata item (one row with NULLs when there is none). GET /volumes/{id} is the hottest
	// read, and a second round trip was half its cost.
	volumeWithMetadataSelect = "SELECT " + volumeColumns + ", m.`key`, m.`value`" + `
FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id
LEFT JOIN volume_metadata m ON m.volume_id = v.id`
)

type scanner interface{ Scan(dest ...any) error }

// providerColumns scans the provider_location, provider_auth and provider_id columns of a
// volume or a snapshot.
type providerColumns struct{ location, auth, id sql.NullString }

func (p providerColumns) data() resource.ProviderData {
	return resource.ProviderData{Location: p.location.String, Auth: p.auth.String, ID: p.id.String}
}

// providerSet sets the three provider columns from providerArgs: an empty field is NULL, as
// a driver that returned nothing leaves Cinder's columns.
const providerSet = "provider_location = ?, provider_auth = ?, provider_id = ?"

func providerArgs(p resource.ProviderData) []any {
	return []any{nullString(p.Location), nullString(p.Auth), nullString(p.ID)}
}

func scanVolume(sc scanner, extra ...any) (*resource.Volume, error) {
	var (
		v                                      resource.Volume
		name, desc, az, host, typeID, typeName sql.NullString
		snapshotID, sourceVolID, groupID       sql.NullString
		encryptionKeyID                        sql.NullString
		provider                               providerColumns
		created, updated, deleted              nullTime
	)
	dest := append([]any{&v.ID, &v.ProjectID, &v.UserID, &name, &desc,
		&v.Size, &v.Status, &v.AttachStatus, &az, &host, &typeID, &typeName,
		&v.Bootable, &v.Multiattach, &created, &updated, &deleted, &snapshotID, &sourceVolID,
		&encryptionKeyID, &groupID, &provider.location, &provider.auth, &provider.id}, extra...)
	err := sc.Scan(dest...)
	if err != nil {
		return nil, err
	}
	v.Name, v.Description, v.AvailabilityZone = name.String, desc.String, az.String
	v.Host, v.VolumeTypeID, v.VolumeTypeName = host.String, typeID.String, typeName.String
	v.CreatedAt, v.UpdatedAt, v.DeletedAt = created.Time, updated.Ptr(), deleted.Ptr()
	v.SnapshotID, v.SourceVolID, v.GroupID = snapshotID.String, sourceVolID.String, groupID.String
	v.EncryptionKeyID = encryptionKeyID.String
	v.Provider = provider.data()
	return &v, nil
}

// queryVolumes runs a volumeSelect query and loads the metadata of what it found.
func queryVolumes(ctx context.Context, q querier, query string, args ...any) ([]*resource.Volume, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vols []*resource.Volume
	for rows.Next() {
		v, err := scanVolume(rows)
		if err != nil {
			return nil, err
		}
		vols = append(vols, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close() // before the next query: a SQLite pool may have a single connection
	if err := loadMetadata(ctx, q, vols); err != nil {
		return nil, err
	}
	return vols, nil
}

// loadMetadata fills the Metadata of vols.
func loadMetadata(ctx context.Context, q querier, vols []*resource.Volume) error {
	ids := make([]string, len(vols))
	for i, v := range vols {
		ids[i] = v.ID
	}
	md, err := keyValuesOf(ctx, q, "volume_metadata", "volume_id", ids)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if v.Metadata = md[v.ID]; v.Metadata == nil {
			v.Metadata = map[string]string{}
		}
	}
	return nil
}

func insertMetadata(ctx context.Context, q querier, volumeID string, md map[string]string, now time.Time) error {
	if len(md) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(md))
	for _, c := range chunks(len(keys)) {
		part := keys[c[0]:c[1]]
		args := make([]any, 0, 4*len(part))
		for _, k := range part {
			args = append(args, volumeID, k, md[k], dbTime(now))
		}
		values := strings.Repeat("(?, ?, ?, ?), ", len(part)-1) + "(?, ?, ?, ?)"
		if _, err := q.ExecContext(ctx,
			"INSERT INTO volume_metadata (volume_id, `key`, `value`, created_at) VALUES "+values, args...); err != nil {
			return err
		}
	}
	return nil
}

// insertOutbox writes msgs and returns them with ID and CreatedAt set.
func insertOutbox(ctx context.Context, q querier, now time.Time, msgs []resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	out := slices.Clone(msgs)
	for i := range out {
		m := &out[i]
		res, err := q.ExecContext(ctx,
			"INSERT INTO outbox (topic, server, method, args, `context`, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			m.Topic, m.Server, m.Method, string(m.Args), string(m.Context), dbTime(now))
		if err != nil {
			return nil, fmt.Errorf("write outbox message %s: %w", m.Method, err)
		}
		if m.ID, err = res.LastInsertId(); err != nil {
			return nil, err
		}
		m.CreatedAt = now
	}
	return out, nil
}

// CreateVolume inserts v, its metadata and msgs in one transaction, and returns msgs with ID
// and CreatedAt set. It fills in what v leaves empty: ID (a new UUID), Status (creating),
// AttachStatus (detached) and CreatedAt (now); CreatedAt is kept in UTC at microsecond
// precision, as it will read back. An ID that exists already gives an error wrapping
// resource.ErrConflict, a VolumeTypeID that does not a *resource.NotFoundError. The volume is
// charged to its project's quota in the same transaction: over quota is a
// *resource.OverQuotaError, and nothing is written.
func (s *Store) CreateVolume(ctx context.Context, v *resource.Volume, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if v.ID == "" {
		v.ID = uuid.NewString()
	}
	if v.Status == "" {
		v.Status = resource.StatusCreating
	}
	if v.AttachStatus == "" {
		v.AttachStatus = resource.AttachDetached
	}
	now := s.now()
	if v.CreatedAt.IsZero() {
		v.CreatedAt = now
	} else {
		v.CreatedAt = v.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	var out []resource.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertVolume(ctx, tx, v, now); err != nil {
			return err
		}
		var err error
		out, err = insertOutbox(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", v.ID, err)
	}
	return out, nil
}

// insertVolume charges v to its project's quota and inserts it with its metadata, image
// metadata and encryption key in tx (CreateVolume, with its defaults filled in).
func (s *Store) insertVolume(ctx context.Context, tx *sql.Tx, v *resource.Volume, now time.Time) error {
	if err := s.chargeQuota(ctx, tx, quotaChange{ProjectID: v.ProjectID, VolumeTypeName: v.VolumeTypeName,
		VolumeTypeID: v.VolumeTypeID, Volumes: 1, Gigabytes: v.Size, VolumeSize: v.Size}); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO volumes (id, project_id, user_id, display_name,
		display_description, size, status, attach_status, availability_zone, host, volume_type_id,
		bootable, multiattach, created_at, updated_at, snapshot_id, source_volid, group_id, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		v.ID, v.ProjectID, v.UserID, nullString(v.Name),
		nullString(v.Description), v.Size, v.Status, v.AttachStatus, nullString(v.AvailabilityZone),
		nullString(v.Host), nullString(v.VolumeTypeID),
		v.Bootable, v.Multiattach, dbTime(v.CreatedAt), dbTimePtr(v.UpdatedAt),
		nullString(v.SnapshotID), nullString(v.SourceVolID), nullString(v.GroupID))
	switch {
	case err == nil:
	case isDuplicate(err):
		return fmt.Errorf("id in use: %w", resource.ErrConflict)
	case isForeignKey(err):
		return &resource.NotFoundError{Kind: "VolumeType", ID: v.VolumeTypeID}
	default:
		return err
	}
	if err := insertMetadata(ctx, tx, v.ID, v.Metadata, now); err != nil {
		return err
	}
	if err := writeMetadata(ctx, tx, "volume_glance_metadata", v.ID, v.ImageMetadata, now); err != nil {
		return err
	}
	return setVolumeEncryptionKey(ctx, tx, v)
}

// GetVolume returns the volume id with its metadata and type name. A missing or deleted volume
// is a *resource.NotFoundError.
func (s *Store) GetVolume(ctx context.Context, id string) (*resource.Volume, error) {
	return getVolume(ctx, s.ro, id)
}

func getVolume(ctx context.Context, q querier, id string) (*resource.Volume, error) {
	v, err := queryVolumeWithMetadata(ctx, q, id)
	if err != nil {
		return nil, fmt.Errorf("get volume %s: %w", id, err)
	}
	if v == nil {
		return nil, &resource.NotFoundError{Kind: "Volume", ID: id}
	}
	return v, nil
}

// queryVolumeWithMetadata reads one visible volume with its metadata; nil when there is none.
func queryVolumeWithMetadata(ctx context.Context, q querier, id string) (*resource.Volume, error) {
	rows, err := q.QueryContext(ctx, volumeWithMetadataSelect+" WHERE v.id = ? AND v.deleted = 0", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var v *resource.Volume
	for rows.Next() {
		var key, value sql.NullString
		row, err := scanVolume(rows, &key, &value)
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = row
			v.Metadata = map[string]string{}
		}
		if key.Valid {
			v.Metadata[key.String] = value.String
		}
	}
	return v, rows.Err()
}

// UpdateVolume applies a user's change to volume id in one transaction, stamps updated_at and
// returns the volume as it now is.
func (s *Store) UpdateVolume(ctx context.Context, id string, u resource.VolumeUpdate) (*resource.Volume, error) {
	now := s.now()
	var vol *resource.Volume
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		sets, args := []string{"updated_at = ?"}, []any{dbTime(now)}
		if u.Name != nil {
			sets, args = append(sets, "display_name = ?"), append(args, nullString(*u.Name))
		}
		if u.Description != nil {
			sets, args = append(sets, "display_description = ?"), append(args, nullString(*u.Description))
		}
		res, err := tx.ExecContext(ctx,
			"UPDATE volumes SET "+strings.Join(sets, ", ")+" WHERE id = ? AND deleted = 0", append(args, id)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &resource.NotFoundError{Kind: "Volume", ID: id}
		}
		if u.Metadata != nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM volume_metadata WHERE volume_id = ?", id); err != nil {
				return err
			}
			if err := insertMetadata(ctx, tx, id, u.Metadata, now); err != nil {
				return err
			}
		}
		vol, err = getVolume(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update volume %s: %w", id, err)
	}
	return vol, nil
}

// TransitionVolume moves volume id from one of the statuses from to ch.Status with one
// conditional UPDATE, and writes msgs in the same transaction if, and only if, it won. A
// volume in another status (or, with ch.WhereHostNull, with a host already) gives a
// *resource.InvalidStateError naming its status, a missing one a *resource.NotFoundError.
// Moving a creating volume to error (a create that failed for good), or setting its host
// here rather than with ClaimPlacement, releases the capacity it claimed, in the same
// transaction (see pools.go).
func (s *Store) TransitionVolume(ctx context.Context, id string, from []string, ch resource.VolumeChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	if len(from) == 0 {
		return nil, fmt.Errorf("transition volume %s: no status to move from", id)
	}
	now := s.now()
	// A create that fails for good (creating → error), or a host set outside ClaimPlacement,
	// gives the volume's capacity claim back in the same transaction.
	mayRelease := ch.Host != nil || (ch.Status == resource.StatusError && slices.Contains(from, resource.StatusCreating))
	build := func(release bool) (string, []any) {
		query, args := "UPDATE volumes SET status = ?", []any{ch.Status}
		if ch.Host != nil {
			query, args = query+", host = ?", append(args, nullString(*ch.Host))
		}
		if ch.Provider != nil {
			query, args = query+", "+providerSet, append(args, providerArgs(*ch.Provider)...)
		}
		if ch.Bootable != nil {
			query, args = query+", bootable = ?", append(args, *ch.Bootable)
		}
		if release {
			query += ", claimed_gb = 0"
		}
		query += ", updated_at = ? WHERE id = ? AND deleted = 0 AND status IN (" + placeholders(len(from)) + ")"
		args = append(append(args, dbTime(now), id), strArgs(from)...)
		if ch.WhereHostNull {
			query += " AND host IS NULL"
		}
		return query, args
	}
	var out []resource.OutboxMessage
	transition := func(q querier, release bool) error {
		query, args := build(release)
		if err := s.conditional(ctx, q, id, from, query, args...); err != nil {
			return err
		}
		if ch.Message != nil {
			if err := insertMessage(ctx, q, now, ch.Message); err != nil {
				return err
			}
		}
		if err := changeVolumeMetadata(ctx, q, id, ch, now); err != nil {
			return err
		}
		var err error
		out, err = insertOutbox(ctx, q, now, msgs)
		return err
	}
	var err error
	switch {
	case mayRelease:
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			host, claim, status, err := s.heldClaim(ctx, tx, id)
			if err != nil {
				return err
			}
			release := ch.Host != nil || status == resource.StatusCreating
			if err := transition(tx, release); err != nil || !release {
				return err
			}
			return releaseClaim(ctx, tx, host, claim)
		})
	case len(msgs) == 0 && ch.Message == nil && ch.ImageMetadata == nil && len(ch.AdminMetadata) == 0:
		err = transition(s.db, false) // one statement needs no transaction
	default:
		err = s.inTx(ctx, func(tx *sql.Tx) error { return transition(tx, false) })
	}
	if err != nil {
		return nil, fmt.Errorf("volume %s to %s: %w", id, ch.Status, err)
	}
	return out, nil
}

// DestroyVolume soft-deletes volume id if its status is one of from: status deleted,
// deleted=1, deleted_at now; the capacity it claimed goes back to its pool in the same
// transaction. Errors are those of TransitionVolume.
func (s *Store) DestroyVolume(ctx context.Context, id string, from []string) error {
	return s.destroyVolume(ctx, id, from, false)
}

// DestroyUnplacedVolume is DestroyVolume for a volume no volume service owns: it also
// requires, in the same statement, that the volume still has no host. A volume a scheduler
// placed since the caller read it is left alone (resource.ErrInvalidState): its storage may
// exist, so only its volume service may delete it.
func (s *Store) DestroyUnplacedVolume(ctx context.Context, id string, from []string) error {
	return s.destroyVolume(ctx, id, from, true)
}

func (s *Store) destroyVolume(ctx context.Context, id string, from []string, unplaced bool) error {
	if len(from) == 0 {
		return fmt.Errorf("destroy volume %s: no status to delete from", id)
	}
	now := dbTime(s.now())
	query := "UPDATE volumes SET status = ?, deleted = 1, deleted_at = ?, updated_at = ?, claimed_gb = 0 WHERE id = ? AND deleted = 0 AND status IN (" + placeholders(len(from)) + ")"
	if unplaced {
		query += " AND host IS NULL"
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		host, claim, _, err := s.heldClaim(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.conditional(ctx, tx, id, from, query, append([]any{resource.StatusDeleted, now, now, id}, strArgs(from)...)...); err != nil {
			return err
		}
		if err := s.giveBackVolume(ctx, tx, id); err != nil {
			return err
		}
		return releaseClaim(ctx, tx, host, claim)
	})
	if err != nil {
		return fmt.Errorf("destroy volume %s: %w", id, err)
	}
	return nil
}

// conditional runs a conditional UPDATE of volume id; when it changed no row, it reads the
// volume (through q, so inside the same transaction) to say why.
func (s *Store) conditional(ctx context.Context, q querier, id string, from []string, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var status string
	switch err := q.QueryRowContext(ctx, "SELECT status FROM volumes WHERE id = ? AND deleted = 0", id).Scan(&status); {
	case errors.Is(err, sql.ErrNoRows):
		return &resource.NotFoundError{Kind: "Volume", ID: id}
	case err != nil:
		return err
	}
	return &resource.InvalidStateError{Kind: "Volume", ID: id, Status: status, Want: slices.Clone(from)}
}

// ListVolumesByHost returns the volumes of a backend: host is backendHost itself or one of its
// pools (backendHost#pool), with a status in statuses (any status when statuses is empty),
// oldest first.
func (s *Store) ListVolumesByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Volume, error) {
	// host = backendHost or host starts with "backendHost#", as one range of the (host, status)
	// index rather than LIKE: no wildcards to escape, and case-sensitive on SQLite too. The
	// range [backendHost, backendHost+"$") holds backendHost, backendHost+"#…" ('$' follows
	// '#') and backendHost followed by a character below '#', which the OR leaves out.
	query := volumeSelect + " WHERE v.deleted = 0 AND v.host >= ? AND v.host < ? AND (v.host = ? OR v.host >= ?)"
	args := []any{backendHost, backendHost + "$", backendHost, backendHost + "#"}
	if len(statuses) > 0 {
		query, args = query+" AND v.status IN ("+placeholders(len(statuses))+")", append(args, strArgs(statuses)...)
	}
	vols, err := queryVolumes(ctx, s.ro, query+" ORDER BY v.created_at, v.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list volumes of %s: %w", backendHost, err)
	}
	return vols, nil
}

// ListVolumesInStatus returns the volumes with a status in statuses (any when empty) that
// have not changed since updatedBefore (by updated_at, or created_at if never updated; a zero
// updatedBefore does not filter), oldest first: what a recovery sweep looks for.
func (s *Store) ListVolumesInStatus(ctx context.Context, statuses []string, updatedBefore time.Time) ([]*resource.Volume, error) {
	query, args := volumeSelect+" WHERE v.deleted = 0", []any(nil)
	if len(statuses) > 0 {
		query, args = query+" AND v.status IN ("+placeholders(len(statuses))+")", append(args, strArgs(statuses)...)
	}
	if !updatedBefore.IsZero() {
		t := dbTime(updatedBefore)
		query += " AND (v.updated_at < ? OR (v.updated_at IS NULL AND v.created_at < ?))"
		args = append(args, t, t)
	}
	vols, err := queryVolumes(ctx, s.ro, query+" ORDER BY v.created_at, v.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list volumes in %v: %w", statuses, err)
	}
	return vols, nil
}

// CountVolumes counts the volumes of a project that are not deleted; projectID "" counts all.
func (s *Store) CountVolumes(ctx context.Context, projectID string) (int, error) {
	query, args := "SELECT COUNT(*) FROM volumes WHERE deleted = 0", []any(nil)
	if projectID != "" {
		query, args = query+" AND project_id = ?", append(args, projectID)
	}
	var n int
	if err := s.ro.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count volumes: %w", err)
	}
	return n, nil
}
