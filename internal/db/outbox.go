package db

import (
	"context"
	"fmt"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// DeleteOutbox removes delivered outbox messages. Ids that are gone already are no error.
func (s *Store) DeleteOutbox(ctx context.Context, ids ...int64) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	for _, c := range chunks(len(args)) {
		part := args[c[0]:c[1]]
		if _, err := s.db.ExecContext(ctx, "DELETE FROM outbox WHERE id IN ("+placeholders(len(part))+")", part...); err != nil {
			return fmt.Errorf("delete outbox messages: %w", err)
		}
	}
	return nil
}

// ClaimOutbox returns up to limit outbox messages (all when limit <= 0), oldest first, that
// were last claimed before olderThan, or created before it when never claimed, and marks them
// claimed now. Each is claimed with a compare-and-set on the claimed_at it was read with, so
// of relays claiming at the same time exactly one gets a message; the others skip it, and it
// becomes claimable again only once olderThan passes its new claimed_at.
func (s *Store) ClaimOutbox(ctx context.Context, olderThan time.Time, limit int) ([]resource.OutboxMessage, error) {
	query := "SELECT id, topic, server, method, args, `context`, created_at, claimed_at FROM outbox WHERE (claimed_at IS NULL AND created_at < ?) OR claimed_at < ? ORDER BY id"
	before := dbTime(olderThan)
	args := []any{before, before}
	if limit > 0 {
		query, args = query+" LIMIT ?", append(args, limit)
	}
	type candidate struct {
		msg     resource.OutboxMessage
		claimed nullTime
	}
	var found []candidate
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	for rows.Next() {
		var c candidate
		var margs, mctx string
		var created nullTime
		if err := rows.Scan(&c.msg.ID, &c.msg.Topic, &c.msg.Server, &c.msg.Method, &margs, &mctx, &created, &c.claimed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim outbox: %w", err)
		}
		c.msg.Args, c.msg.Context, c.msg.CreatedAt = bytesOrNil(margs), bytesOrNil(mctx), created.Time
		found = append(found, c)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}

	now := dbTime(s.now())
	var claimed []resource.OutboxMessage
	for _, c := range found {
		query, args := "UPDATE outbox SET claimed_at = ? WHERE id = ? AND claimed_at IS NULL", []any{now, c.msg.ID}
		if c.claimed.Valid {
			query, args = "UPDATE outbox SET claimed_at = ? WHERE id = ? AND claimed_at = ?", append(args, dbTime(c.claimed.Time))
		}
		res, err := s.db.ExecContext(ctx, query, args...)
		if err != nil {
			return claimed, fmt.Errorf("claim outbox message %d: %w", c.msg.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return claimed, err
		} else if n == 1 {
			claimed = append(claimed, c.msg)
		}
	}
	return claimed, nil
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// ListOutbox returns the outbox messages of method to topic that are still pending (not yet
// delivered, or on the in-process bus not yet handled), oldest first, without claiming them.
func (s *Store) ListOutbox(ctx context.Context, topic, method string) ([]resource.OutboxMessage, error) {
	rows, err := s.ro.QueryContext(ctx, "SELECT id, topic, server, method, args, `context`, created_at FROM outbox WHERE topic = ? AND method = ? ORDER BY id", topic, method)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []resource.OutboxMessage
	for rows.Next() {
		var m resource.OutboxMessage
		var margs, mctx string
		var created nullTime
		if err := rows.Scan(&m.ID, &m.Topic, &m.Server, &m.Method, &margs, &mctx, &created); err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		m.Args, m.Context, m.CreatedAt = bytesOrNil(margs), bytesOrNil(mctx), created.Time
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}
