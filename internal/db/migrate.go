package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/scoria/scoria/migrations"
)

// versionTable is where goose records the applied migrations.
const versionTable = "goose_db_version"

// migrateLockName is the MySQL user lock taken while migrating (GET_LOCK is server-wide, so
// the name carries the database's).
const migrateLockName = "CONCAT('scoria-migrate:', DATABASE())"

// Migrate brings the schema up to date with the migrations embedded in package migrations.
// It is idempotent, and safe when several processes run it at once: they take turns under a
// lock (GET_LOCK on MySQL, a file lock beside a SQLite file), and the later ones find nothing
// left to do.
func (s *Store) Migrate(ctx context.Context) error {
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return fmt.Errorf("lock the schema for migration: %w", err)
	}
	defer unlock()

	excluded, err := migrations.Exclude(s.dialect)
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	if s.dialect == DialectMySQL {
		dialect = goose.DialectMySQL
	}
	p, err := goose.NewProvider(dialect, s.db, migrations.FS,
		goose.WithTableName(versionTable),
		goose.WithExcludeNames(excluded),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return err
	}
	// Not p.Close: it would close s.db.
	if _, err := p.Up(ctx); err != nil {
		return err
	}
	return nil
}

// lockMigrations takes the lock that serialises migrations across processes.
func (s *Store) lockMigrations(ctx context.Context) (unlock func(), err error) {
	switch {
	case s.dialect == DialectMySQL:
		return s.lockMySQL(ctx)
	case s.lockPath != "":
		return lockFile(ctx, s.lockPath)
	default: // in memory: no other process can see the database
		return func() {}, nil
	}
}

// lockMySQL takes a user lock on a connection of its own, held until unlock; the lock goes
// with the connection if the process dies.
func (s *Store) lockMySQL(ctx context.Context) (func(), error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	for {
		var got sql.NullInt64
		// Wait in short rounds so that ctx is honoured.
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+migrateLockName+", 5)").Scan(&got); err != nil {
			conn.Close()
			return nil, err
		}
		if got.Valid && got.Int64 == 1 {
			break
		}
		if !got.Valid {
			conn.Close()
			return nil, errors.New("GET_LOCK failed")
		}
		if err := ctx.Err(); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		conn.ExecContext(ctx, "DO RELEASE_LOCK("+migrateLockName+")")
		conn.Close()
	}, nil
}

// SchemaVersion returns the version of the last migration applied, 0 for an empty database.
// Unlike goose's own version query it changes nothing, not even on an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var exists bool
	var q string
	if s.dialect == DialectMySQL {
		q = "SELECT COUNT(*) > 0 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	} else {
		q = "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?"
	}
	if err := s.ro.QueryRowContext(ctx, q, versionTable).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v sql.NullInt64
	if err := s.ro.QueryRowContext(ctx, "SELECT MAX(version_id) FROM "+versionTable).Scan(&v); err != nil {
		return 0, err
	}
	return v.Int64, nil
}
