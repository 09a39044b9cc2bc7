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

// messageFilterColumns are the columns a message list may filter on.
var messageFilterColumns = map[string]bool{
	"resource_uuid": true, "resource_type": true, "event_id": true, "request_id": true, "message_level": true,
}

// DefaultMessageTTL is how long a user message is guaranteed to be kept (Cinder's
// message_ttl, 2592000 seconds).
const DefaultMessageTTL = 2592000 * time.Second

const messageSelect = `SELECT id, project_id, request_id, resource_type, resource_uuid, event_id,
	message_level, action_id, detail_id, detail, created_at, expires_at FROM messages`

func scanMessage(sc scanner) (*resource.Message, error) {
	var (
		m                                           resource.Message
		rid, rtype, ruuid, action, detailID, detail sql.NullString
		created, expires                            nullTime
	)
	if err := sc.Scan(&m.ID, &m.ProjectID, &rid, &rtype, &ruuid, &m.EventID, &m.Level,
		&action, &detailID, &detail, &created, &expires); err != nil {
		return nil, err
	}
	m.RequestID, m.ResourceType, m.ResourceUUID = rid.String, rtype.String, ruuid.String
	m.ActionID, m.DetailID, m.Detail = action.String, detailID.String, detail.String
	m.CreatedAt, m.ExpiresAt = created.Time, expires.Time
	return &m, nil
}

// insertMessage writes m, filling in what it leaves empty: a new id, created_at now, expiry
// DefaultMessageTTL from now, level ERROR and Cinder's event id.
func insertMessage(ctx context.Context, q querier, now time.Time, m *resource.Message) error {
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	if m.Level == "" {
		m.Level = "ERROR"
	}
	if m.EventID == "" {
		m.EventID = fmt.Sprintf("VOLUME_%s_%s_%s", m.ResourceType, m.ActionID, m.DetailID)
	}
	m.CreatedAt = now
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = now.Add(DefaultMessageTTL)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO messages (id, project_id, request_id, resource_type,
	resource_uuid, event_id, message_level, action_id, detail_id, detail, created_at, expires_at, deleted)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		m.ID, m.ProjectID, nullString(m.RequestID), nullString(m.ResourceType), nullString(m.ResourceUUID),
		m.EventID, m.Level, nullString(m.ActionID), nullString(m.DetailID), nullString(m.Detail),
		dbTime(m.CreatedAt), dbTime(m.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	return nil
}

// CreateMessage writes a user message; see insertMessage for the fields it fills in.
func (s *Store) CreateMessage(ctx context.Context, m *resource.Message) error {
	return insertMessage(ctx, s.db, s.now(), m)
}

// GetMessage returns user message id; with projectID set, only a message of that project.
// A missing one is a *resource.NotFoundError of kind "Message".
func (s *Store) GetMessage(ctx context.Context, id, projectID string) (*resource.Message, error) {
	query, args := messageSelect+" WHERE id = ? AND deleted = 0", []any{id}
	if projectID != "" {
		query, args = query+" AND project_id = ?", append(args, projectID)
	}
	m, err := scanMessage(s.ro.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &resource.NotFoundError{Kind: "Message", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// ListMessages returns the user messages f selects, newest first (created_at DESC, id DESC).
// f.Marker is the id of the last message of the previous page; one that is not a visible
// message is a *resource.NotFoundError of kind "Marker".
func (s *Store) ListMessages(ctx context.Context, f resource.MessageFilter) ([]*resource.Message, error) {
	where := []string{"deleted = 0"}
	var args []any
	if f.ProjectID != "" {
		where, args = append(where, "project_id = ?"), append(args, f.ProjectID)
	}
	for _, col := range slices.Sorted(maps.Keys(f.Fields)) {
		if !messageFilterColumns[col] {
			return nil, fmt.Errorf("list messages: %q is not a filter of messages", col)
		}
		where, args = append(where, col+" = ?"), append(args, f.Fields[col])
	}
	if f.Marker != "" {
		marker, err := s.GetMessage(ctx, f.Marker, f.ProjectID)
		var nf *resource.NotFoundError
		if errors.As(err, &nf) {
			return nil, &resource.NotFoundError{Kind: "Marker", ID: f.Marker}
		}
		if err != nil {
			return nil, fmt.Errorf("list messages: read marker: %w", err)
		}
		at := dbTime(marker.CreatedAt)
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, at, at, f.Marker)
	}
	query := messageSelect + " WHERE " + strings.Join(where, " AND ") + " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		query, args = query+" LIMIT ?", append(args, f.Limit)
	}
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []*resource.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// DeleteMessage soft-deletes user message id (of projectID, when set), as Cinder's
// message_destroy does. A missing one is a *resource.NotFoundError of kind "Message".
func (s *Store) DeleteMessage(ctx context.Context, id, projectID string) error {
	now := dbTime(s.now())
	query := "UPDATE messages SET deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0"
	args := []any{now, now, id}
	if projectID != "" {
		query, args = query+" AND project_id = ?", append(args, projectID)
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("delete message %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete message %s: %w", id, err)
	} else if n == 0 {
		return &resource.NotFoundError{Kind: "Message", ID: id}
	}
	return nil
}

// PurgeExpiredMessages removes the user messages that expired before now, as Cinder's
// scheduler does every message_reap_interval, and returns how many it removed.
func (s *Store) PurgeExpiredMessages(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM messages WHERE expires_at < ?", dbTime(now))
	if err != nil {
		return 0, fmt.Errorf("purge expired messages: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge expired messages: %w", err)
	}
	return n, nil
}
