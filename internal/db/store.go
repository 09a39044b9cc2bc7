// Package db is Scoria's data-access layer: one Store, over MySQL/MariaDB or SQLite, that
// holds volumes (with their user, admin and image metadata), snapshots (both with their
// driver's provider data, written by the update that finishes their create), attachments,
// volume types (extra specs, access, per-project defaults, encryption), encrypted volumes' key ids,
// group types (group specs, access; the seeded default_cgsnapshot_type), generic volume
// groups (with their volume types and members), QoS specs, quotas, quota classes and usage,
// transfers, user messages, services, the scheduler's pools and capacity claims, and the RPC
// outbox; and the schema migrations of both dialects. Group snapshots (group_snapshots.go)
// are written with a snapshot row per member, their quota and their cast in one transaction.
// The image-volume cache's entries (imagecache.go) are written with their cache volume, its
// quota and its pool claim in one transaction. Backups (backups*.go: rows, metadata, quota,
// the volume's backing-up / restoring-backup moves, incremental chains) are the store of the
// backup service to come (issue 18).
//
// Every status change is one conditional UPDATE whose affected-row count decides who won, so
// processes need no locks of their own. Times are stored in UTC with microsecond precision and
// come back identical from both databases.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialects, as Store.Dialect reports them.
const (
	DialectMySQL  = "mysql"
	DialectSQLite = "sqlite"
)

// DefaultVolumeTypeID is the id the migrations give the __DEFAULT__ volume type.
const DefaultVolumeTypeID = "644d43d8-9530-4dc1-9e32-21ba29eaf806"

// Store is the database. It is safe for concurrent use.
type Store struct {
	dialect string
	db      *sql.DB // writes and transactions; every read too, except on a file-backed SQLite
	ro      *sql.DB // reads outside transactions: a separate pool of readers for a SQLite file
	// lockPath is the file locked while a file-backed SQLite database is migrated.
	lockPath  string
	migrateMu sync.Mutex
	// connector makes MySQL connections apart from db's pool: Migrate's (nil for SQLite).
	connector driver.Connector
}

// Open connects to the database named by an SQLAlchemy URL, as Cinder's [database]
// connection option holds it:
//
//	mysql+pymysql://user:password@host[:port]/database[?charset=utf8&unix_socket=/path]
//	sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (in memory)
//
// The URL's driver part (+pymysql, +mysqldb, …) is ignored; so are its charset (Scoria always
// talks utf8mb4) and any other query parameter except unix_socket. Open does not migrate the
// schema: call Migrate, or check SchemaVersion.
func Open(ctx context.Context, url string) (*Store, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	var s *Store
	switch t.dialect {
	case DialectMySQL:
		if t.mysql.DBName == "" {
			return nil, fmt.Errorf("database URL %s names no database (want …/DATABASE)", redact(url))
		}
		s, err = openMySQL(t.mysql)
	default:
		s, err = openSQLite(t.path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(url), err)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	return s, nil
}

func openMySQL(cfg *mysql.Config) (*Store, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)                  // as many as may be open: reconnecting under load costs more than idle sockets
	db.SetConnMaxLifetime(10 * time.Minute) // below any sane wait_timeout
	return &Store{dialect: DialectMySQL, db: db, ro: db, connector: connector}, nil
}

// openSQLite opens a SQLite database: path "" is a private in-memory database.
//
// SQLite allows one writer at a time, and a writer that finds the database locked fails with
// SQLITE_BUSY once busy_timeout has passed, or at once when it has to upgrade a read
// transaction. So writes and transactions go through a pool of exactly one connection whose
// transactions begin IMMEDIATE (taking the write lock up front, waiting up to busy_timeout for
// other processes), and reads go through a separate read-only pool that WAL lets run beside
// the writer.
func openSQLite(path string) (*Store, error) {
	if path == "" {
		// One connection, kept forever: an in-memory database lives as long as its connection.
		db, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return &Store{dialect: DialectSQLite, db: db, ro: db}, nil
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("SQLite path %q: '?' and '#' are not supported in a path", path)
	}
	const common = "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", path+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// Make sure the writer has switched the file to WAL before any reader opens it.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &Store{dialect: DialectSQLite, db: w, ro: r, lockPath: path + ".migrate-lock"}, nil
}

// Dialect returns "mysql" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return err
	}
	if s.ro != s.db {
		return s.ro.PingContext(ctx)
	}
	return nil
}

// Close closes the database's connections.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.ro != s.db {
		err = errors.Join(err, s.ro.Close())
	}
	return err
}

// querier is what a query needs: a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction and commits it when fn returns nil. A transaction that MySQL
// chose as a deadlock victim is run again (up to four more times, after a short jittered
// pause), so fn must only depend on what it reads inside the transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == 5 || !isDeadlock(err) {
			return err
		}
		// The other transaction of the deadlock usually commits within milliseconds; a
		// jittered pause keeps the two from colliding again at once.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Duration(2+rand.IntN(8)) * time.Millisecond):
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// now is the time a change is stamped with: UTC, truncated to what the databases keep.
func (s *Store) now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// timeLayout is how times are written: fixed width, so SQLite's text compares as time does.
const timeLayout = "2006-01-02 15:04:05.000000"

// dbTime is t as a query parameter.
func dbTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// dbTimePtr is t as a query parameter, NULL for nil.
func dbTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// nullTime scans a DATETIME column from either driver: go-sql-driver gives time.Time (with
// parseTime=true), modernc gives the stored text.
type nullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(src any) error {
	n.Valid = false
	switch v := src.(type) {
	case nil:
		return nil
	case time.Time:
		n.Time = v.UTC()
	case string:
		t, err := parseTime(v)
		if err != nil {
			return err
		}
		n.Time = t
	case []byte:
		t, err := parseTime(string(v))
		if err != nil {
			return err
		}
		n.Time = t
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	n.Valid = true
	return nil
}

// Ptr returns the time, or nil for NULL.
func (n nullTime) Ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}

func parseTime(s string) (time.Time, error) {
	// The fractional second is optional when parsing: CURRENT_TIMESTAMP has none.
	for _, layout := range []string{"2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q as a time", s)
}

// nullString is s as a query parameter, NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// placeholders returns "?, ?, ?" for n parameters.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// strArgs turns strings into query parameters.
func strArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// maxInList bounds how many parameters one IN (…) list takes; SQLite allows 32766 per
// statement, MySQL about 65535.
const maxInList = 500

// chunks splits n items into ranges of at most maxInList.
func chunks(n int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += maxInList {
		out = append(out, [2]int{lo, min(lo+maxInList, n)})
	}
	return out
}

// SQLite extended result codes (https://www.sqlite.org/rescode.html).
const (
	sqliteConstraintForeignKey = sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	sqliteConstraintPrimaryKey = sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE
)

// MySQL error numbers.
const (
	mysqlDuplicateEntry   = 1062 // ER_DUP_ENTRY
	mysqlNoReferencedRow  = 1452 // ER_NO_REFERENCED_ROW_2
	mysqlDeadlock         = 1213 // ER_LOCK_DEADLOCK
	mysqlNoReferencedRow1 = 1216 // ER_NO_REFERENCED_ROW
)

// isDuplicate reports whether err is a primary-key or unique-key violation.
func isDuplicate(err error) bool {
	if me := (*mysql.MySQLError)(nil); errors.As(err, &me) {
		return me.Number == mysqlDuplicateEntry
	}
	if se := (*sqlite.Error)(nil); errors.As(err, &se) {
		return se.Code() == sqliteConstraintPrimaryKey || se.Code() == sqliteConstraintUnique
	}
	return false
}

// isForeignKey reports whether err is a row referring to a parent that does not exist.
func isForeignKey(err error) bool {
	if me := (*mysql.MySQLError)(nil); errors.As(err, &me) {
		return me.Number == mysqlNoReferencedRow || me.Number == mysqlNoReferencedRow1
	}
	if se := (*sqlite.Error)(nil); errors.As(err, &se) {
		return se.Code() == sqliteConstraintForeignKey
	}
	return false
}

// isDeadlock reports whether MySQL rolled the transaction back to break a deadlock.
func isDeadlock(err error) bool {
	me := (*mysql.MySQLError)(nil)
	return errors.As(err, &me) && me.Number == mysqlDeadlock
}
