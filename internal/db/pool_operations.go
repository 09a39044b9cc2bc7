package db

// The optional operations a pool's backend supports (pools.operations, written by UpsertPool
// from each capability report): a comma list of resource.Op* names, '' for none, NULL when
// the report did not say (unknown).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// operationsColumn is ops as the pools.operations column holds it: NULL for nil (unknown).
func operationsColumn(ops []string) any {
	if ops == nil {
		return nil
	}
	return strings.Join(ops, ",")
}

// parseOperations reads a pools.operations value: nil and false for NULL (unknown), an empty,
// non-nil list for the empty string (none).
func parseOperations(col sql.NullString) ([]string, bool) {
	if !col.Valid {
		return nil, false
	}
	ops := []string{}
	for o := range strings.SplitSeq(col.String, ",") {
		if o = strings.TrimSpace(o); o != "" {
			ops = append(ops, o)
		}
	}
	return ops, true
}

// PoolOperations returns the optional operations (resource.Op*) that the backend of pool
// (host@backend#pool) last reported it supports. known is false when that is not known: the
// pool has no row, or its last report did not say.
func (s *Store) PoolOperations(ctx context.Context, pool string) (ops []string, known bool, err error) {
	var col sql.NullString
	err = s.ro.QueryRowContext(ctx, "SELECT operations FROM pools WHERE name = ?", pool).Scan(&col)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read the operations of pool %s: %w", pool, err)
	}
	ops, known = parseOperations(col)
	return ops, known, nil
}
