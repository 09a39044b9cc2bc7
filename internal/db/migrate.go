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

// The character set and collation of every MariaDB table Scoria creates: utf8mb4 as Cinder's,
// with the binary collation so that comparisons, ordering and unique keys behave as in SQLite
// (case-sensitive, by code point). Migrate makes them the database's defaults, so migrations
// need no table options.
const (
	mysqlCharset   = "utf8mb4"
	mysqlCollation = "utf8mb4_bin"
)

// Migrate brings the schema up to date with the migrations embedded in package migrations.
// On MariaDB it first makes utf8mb4/utf8mb4_bin the database's defaults (existing tables keep
// the options they were made with). It is idempotent, and safe when several processes run it
// at once: they take turns under a lock (GET_LOCK on MySQL, a file lock beside a SQLite file),
// and the later ones find nothing left to do.
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
		return fmt.Errorf("read the migrations: %w", err)
	}
	conns := s.db
	if s.dialect == DialectMySQL {
		if err := s.setDatabaseDefaults(ctx); err != nil {
			return err
		}
	}
	if s.connector != nil {
		// A MariaDB session keeps the database's defaults of when it began (its
		// collation_database), and CREATE TABLE follows the session's: the migrations run on
		// connections of their own, opened now, not on the pool's older ones.
		conns = sql.OpenDB(s.connector)
		defer conns.Close()
	}
	dialect := goose.DialectSQLite3
	if s.dialect == DialectMySQL {
		dialect = goose.DialectMySQL
	}
	p, err := goose.NewProvider(dialect, conns, migrations.FS,
		goose.WithTableName(versionTable),
		goose.WithExcludeNames(excluded),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("prepare the migrations: %w", err)
	}
	// Not p.Close: it would close s.db on SQLite (conns is closed above on MySQL).
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate the schema: %w", err)
	}
	return nil
}

// setDatabaseDefaults makes mysqlCharset and mysqlCollation the defaults of the connection's
// database, unless they are already (ALTER DATABASE needs the ALTER privilege, which a
// database made by an operator with the right defaults then does not).
func (s *Store) setDatabaseDefaults(ctx context.Context) error {
	var charset, collation string
	if err := s.db.QueryRowContext(ctx, `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()`).Scan(&charset, &collation); err != nil {
		return fmt.Errorf("read the database's default character set: %w", err)
	}
	if charset == mysqlCharset && collation == mysqlCollation {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "ALTER DATABASE CHARACTER SET "+mysqlCharset+" COLLATE "+mysqlCollation); err != nil {
		return fmt.Errorf("set the database's default character set to %s (collation %s, was %s/%s): %w",
			mysqlCharset, mysqlCollation, charset, collation, err)
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
