package db

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// target is a parsed database URL.
type target struct {
	dialect string
	mysql   *mysql.Config // dialect mysql
	path    string        // dialect sqlite: the file, "" for in memory
}

// parseURL reads an SQLAlchemy database URL.
func parseURL(raw string) (target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return target{}, fmt.Errorf("database URL %s: want mysql+pymysql://user:password@host/database or sqlite:///path", redact(raw))
	}
	backend, _, _ := strings.Cut(strings.ToLower(scheme), "+") // "mysql+pymysql" → "mysql"
	switch backend {
	case "mysql", "mariadb":
		cfg, err := mysqlConfig(raw)
		if err != nil {
			return target{}, err
		}
		return target{dialect: DialectMySQL, mysql: cfg}, nil
	case "sqlite":
		path, err := sqlitePath(rest)
		if err != nil {
			return target{}, fmt.Errorf("database URL %s: %w", redact(raw), err)
		}
		return target{dialect: DialectSQLite, path: path}, nil
	default:
		return target{}, fmt.Errorf("database URL %s: unsupported database %q (Scoria supports mysql, mysql+pymysql, mysql+mysqldb and sqlite)", redact(raw), scheme)
	}
}

// sqlitePath reads what follows "sqlite://" as SQLAlchemy does: "" and "/:memory:" are in
// memory, "/rel/path" is the relative path rel/path, "//abs/path" the absolute /abs/path.
// A query string is ignored.
func sqlitePath(rest string) (string, error) {
	rest, _, _ = strings.Cut(rest, "?")
	if rest == "" {
		return "", nil
	}
	if !strings.HasPrefix(rest, "/") {
		return "", errors.New("a SQLite URL has no host: want sqlite:///relative/path or sqlite:////absolute/path")
	}
	path := rest[1:]
	if path == ":memory:" {
		return "", nil
	}
	return path, nil
}

// mysqlConfig turns a MySQL SQLAlchemy URL into a go-sql-driver configuration: UTC times
// parsed into time.Time at microsecond precision, utf8mb4, found-rows counts for UPDATE (so a
// conditional update that matches but changes nothing still counts), client-side parameter
// interpolation (one round trip per statement).
func mysqlConfig(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password and all; keep only the reason.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("database URL %s: %v", redact(raw), err)
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	q := u.Query()
	if sock := q.Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	cfg.InterpolateParams = true
	cfg.Collation = "utf8mb4_general_ci" // the connection's; the tables' is utf8mb4_bin
	cfg.Timeout = 10 * time.Second
	// NOW() and CURRENT_TIMESTAMP in UTC too, like every time Scoria writes.
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	return cfg, nil
}

// redact hides the password of a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "…" + raw[i:]
			}
		}
		return raw
	}
	return u.Redacted()
}
