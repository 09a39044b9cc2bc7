//go:build !unix

package db

import "context"

// lockFile is a no-op where flock is missing: migrations of one SQLite file are then only
// serialised within a Store.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, nil }
