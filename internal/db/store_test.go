package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/scoria/scoria/internal/resource"
)

// Tests run every case against SQLite (a file in a temporary directory) and MariaDB. The
// MariaDB server is SCORIA_TEST_MYSQL_URL (default below); each test gets a database of its
// own, scoria_test_<random>, dropped when it ends. Without a reachable server the MariaDB
// cases are skipped, unless CI=true, where they fail.
const defaultMySQLURL = "mysql+pymysql://root:@127.0.0.1:3306/"

func mysqlServerURL() string {
	if u := os.Getenv("SCORIA_TEST_MYSQL_URL"); u != "" {
		return u
	}
	return defaultMySQLURL
}

var mysqlServer struct {
	once sync.Once
	db   *sql.DB // connected without a database, to create and drop them
	err  error
}

// mysqlAdmin returns a connection to the test server, skipping (or in CI failing) the test
// when there is none.
func mysqlAdmin(t testing.TB) *sql.DB {
	t.Helper()
	mysqlServer.once.Do(func() {
		cfg, err := mysqlConfig(mysqlServerURL())
		if err != nil {
			mysqlServer.err = err
			return
		}
		cfg.DBName = ""
		cfg.Timeout = 3 * time.Second
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			mysqlServer.err = err
			return
		}
		db := sql.OpenDB(connector)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			mysqlServer.err = err
			return
		}
		mysqlServer.db = db
	})
	if mysqlServer.err != nil {
		msg := fmt.Sprintf("MariaDB at %s unreachable (set SCORIA_TEST_MYSQL_URL): %v", redact(mysqlServerURL()), mysqlServer.err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return mysqlServer.db
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// emptyURL returns the URL of a new, empty database of dialect, removed when t ends.
func emptyURL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == DialectSQLite {
		return "sqlite:///" + filepath.Join(t.TempDir(), "scoria.db") // TempDir is absolute: sqlite:////tmp/…
	}
	admin := mysqlAdmin(t)
	name := "scoria_test_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(mysqlServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// openURL opens url for the length of t.
func openURL(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore returns a migrated, empty store of dialect.
func newStore(t testing.TB, dialect string) *Store {
	t.Helper()
	s := openURL(t, emptyURL(t, dialect))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	liftQuotas(t, s) // tests of other things create more than Cinder's 10 volumes
	return s
}

var dialects = []string{DialectSQLite, DialectMySQL}

// forEachDialect runs fn, in parallel subtests, against a fresh migrated store of each dialect.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore(t, d))
		})
	}
}

// volume builds a volume of project p with the default type; change adjusts it.
func volume(p string, change ...func(*resource.Volume)) *resource.Volume {
	v := &resource.Volume{
		ProjectID:        p,
		UserID:           "user-" + p,
		Name:             "vol",
		Description:      "a volume",
		Size:             1,
		Status:           resource.StatusAvailable,
		AttachStatus:     resource.AttachDetached,
		AvailabilityZone: "nova",
		VolumeTypeID:     DefaultVolumeTypeID,
		Metadata:         map[string]string{},
	}
	for _, c := range change {
		c(v)
	}
	return v
}

// mustCreate creates v and fails the test on error.
func mustCreate(t testing.TB, s *Store, v *resource.Volume, msgs ...resource.OutboxMessage) []resource.OutboxMessage {
	t.Helper()
	out, err := s.CreateVolume(context.Background(), v, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// message builds an outbox message.
func message(method string) resource.OutboxMessage {
	return resource.OutboxMessage{
		Topic:   "scoria-volume",
		Server:  "host@lvm",
		Method:  method,
		Args:    []byte(`{"volume_id":"x"}`),
		Context: []byte(`{"request_id":"req-1"}`),
	}
}

// countRows counts the rows of table.
func countRows(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("in memory", func(t *testing.T) {
		s := openURL(t, "sqlite://")
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Dialect() != DialectSQLite {
			t.Errorf("Dialect() = %q", s.Dialect())
		}
		mustCreate(t, s, volume("p"))
		if n, err := s.CountVolumes(ctx, "p"); err != nil || n != 1 {
			t.Errorf("CountVolumes = %d, %v; want 1", n, err)
		}
	})
	t.Run("relative sqlite path", func(t *testing.T) {
		t.Chdir(t.TempDir())
		s := openURL(t, "sqlite:///rel.db")
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat("rel.db"); err != nil {
			t.Errorf("sqlite:///rel.db did not create rel.db in the working directory: %v", err)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		s := openURL(t, emptyURL(t, DialectMySQL))
		if s.Dialect() != DialectMySQL {
			t.Errorf("Dialect() = %q", s.Dialect())
		}
		if err := s.Ping(ctx); err != nil {
			t.Error(err)
		}
	})
	for _, bad := range []string{
		"postgresql://u:secret@h/db",
		"not a url",
		"sqlite://host/path",
		"mysql+pymysql://u:secret@127.0.0.1:1/", // no database
		"sqlite:////nonexistent-dir/sub/x.db",
	} {
		t.Run("error "+bad, func(t *testing.T) {
			s, err := Open(ctx, bad)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", bad)
			}
			if msg := err.Error(); strings.Contains(msg, "secret") {
				t.Errorf("error shows the password: %s", msg)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		dialect string
		path    string // sqlite
		net     string // mysql
		addr    string
		user    string
		passwd  string
		dbname  string
		wantErr bool
	}{
		{url: "sqlite://", dialect: DialectSQLite, path: ""},
		{url: "sqlite:///:memory:", dialect: DialectSQLite, path: ""},
		{url: "sqlite:///cinder.sqlite", dialect: DialectSQLite, path: "cinder.sqlite"},
		{url: "sqlite:///var/lib/x.db", dialect: DialectSQLite, path: "var/lib/x.db"},
		{url: "sqlite:////var/lib/x.db", dialect: DialectSQLite, path: "/var/lib/x.db"},
		{url: "sqlite+pysqlite:////var/lib/x.db?check_same_thread=False", dialect: DialectSQLite, path: "/var/lib/x.db"},
		{url: "mysql+pymysql://cinder:pw@db.example:3307/cinder?charset=utf8", dialect: DialectMySQL,
			net: "tcp", addr: "db.example:3307", user: "cinder", passwd: "pw", dbname: "cinder"},
		{url: "mysql://root:@127.0.0.1/scoria", dialect: DialectMySQL,
			net: "tcp", addr: "127.0.0.1:3306", user: "root", dbname: "scoria"},
		{url: "mysql+mysqldb://u:p%40ss%2Fw@[::1]:3306/db?plugin=dbcounter", dialect: DialectMySQL,
			net: "tcp", addr: "[::1]:3306", user: "u", passwd: "p@ss/w", dbname: "db"},
		{url: "mysql+pymysql://u:p@/db?unix_socket=/run/mysqld/mysqld.sock", dialect: DialectMySQL,
			net: "unix", addr: "/run/mysqld/mysqld.sock", user: "u", passwd: "p", dbname: "db"},
		{url: "mariadb+pymysql://u@host/db", dialect: DialectMySQL, net: "tcp", addr: "host:3306", user: "u", dbname: "db"},
		{url: "postgresql://u@host/db", wantErr: true},
		{url: "cinder.sqlite", wantErr: true},
		{url: "sqlite://relative.db", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := parseURL(tt.url)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseURL(%q) = %+v, want an error", tt.url, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.dialect != tt.dialect {
				t.Fatalf("dialect = %q, want %q", got.dialect, tt.dialect)
			}
			if tt.dialect == DialectSQLite {
				if got.path != tt.path {
					t.Errorf("path = %q, want %q", got.path, tt.path)
				}
				return
			}
			c := got.mysql
			if c.Net != tt.net || c.Addr != tt.addr || c.User != tt.user || c.Passwd != tt.passwd || c.DBName != tt.dbname {
				t.Errorf("config = net %q addr %q user %q passwd %q db %q, want %q %q %q %q %q",
					c.Net, c.Addr, c.User, c.Passwd, c.DBName, tt.net, tt.addr, tt.user, tt.passwd, tt.dbname)
			}
			if !c.ParseTime || c.Loc != time.UTC || !c.ClientFoundRows {
				t.Errorf("config lacks parseTime/loc=UTC/clientFoundRows: %s", c.FormatDSN())
			}
		})
	}
}

func TestTimeRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		berlin := time.FixedZone("CET", 3600)
		tests := []struct {
			name string
			in   time.Time
			want time.Time
		}{
			{"nanoseconds truncated", time.Date(2026, 11, 21, 18, 2, 27, 123456789, time.UTC), time.Date(2026, 11, 21, 18, 2, 27, 123456000, time.UTC)},
			{"whole second", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			{"other zone to UTC", time.Date(2026, 6, 1, 12, 0, 0, 1000, berlin), time.Date(2026, 6, 1, 11, 0, 0, 1000, time.UTC)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v := volume("p", func(v *resource.Volume) { v.CreatedAt = tt.in })
				mustCreate(t, s, v)
				if !v.CreatedAt.Equal(tt.want) || v.CreatedAt.Location() != time.UTC {
					t.Errorf("CreateVolume set CreatedAt %v, want %v", v.CreatedAt, tt.want)
				}
				got, err := s.GetVolume(ctx, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.CreatedAt != tt.want { // == : same instant, same location, no monotonic reading
					t.Errorf("read CreatedAt %v (%s), want %v", got.CreatedAt, got.CreatedAt.Location(), tt.want)
				}
			})
		}
	})
}
