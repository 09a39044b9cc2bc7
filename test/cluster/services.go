package cluster

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Environment variables naming the shared servers, and their defaults.
const (
	EnvMySQLURL     = "SCORIA_TEST_MYSQL_URL"
	EnvRabbitURL    = "SCORIA_TEST_RABBIT_URL"
	DefaultMySQLURL = "mysql+pymysql://root:@127.0.0.1:3306/"
	DefaultRabbit   = "rabbit://guest:guest@127.0.0.1:5672/"
)

// Servers are the shared MariaDB and RabbitMQ a cluster makes its own database and vhost on.
type Servers struct {
	MySQLURL  string // SQLAlchemy-style URL; its path (database) is ignored
	RabbitURL string // rabbit://user:pass@host:port/; its vhost is ignored
}

// ServersFromEnv reads SCORIA_TEST_MYSQL_URL and SCORIA_TEST_RABBIT_URL, with local defaults.
func ServersFromEnv() Servers {
	s := Servers{MySQLURL: os.Getenv(EnvMySQLURL), RabbitURL: os.Getenv(EnvRabbitURL)}
	if s.MySQLURL == "" {
		s.MySQLURL = DefaultMySQLURL
	}
	if s.RabbitURL == "" {
		s.RabbitURL = DefaultRabbit
	}
	return s
}

// Check says why the servers cannot be used, or returns nil: both answer on their ports, MySQL
// accepts the credentials, and rabbitmqctl (needed to make vhosts) runs and reaches the broker.
func (s Servers) Check(ctx context.Context) error {
	my, err := parseMySQL(s.MySQLURL)
	if err != nil {
		return err
	}
	rb, err := url.Parse(s.RabbitURL)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvRabbitURL, err)
	}
	for _, hp := range []struct{ what, addr string }{{"MariaDB", my.Addr}, {"RabbitMQ", hostPort(rb, "5672")}} {
		conn, err := net.DialTimeout("tcp", hp.addr, 2*time.Second)
		if err != nil {
			return fmt.Errorf("%s is not reachable at %s: %w", hp.what, hp.addr, err)
		}
		conn.Close()
	}
	db, err := sql.Open("mysql", my.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return fmt.Errorf("MariaDB at %s refuses %s: %w", my.Addr, my.User, err)
	}
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		return errors.New("rabbitmqctl is not installed (it makes a vhost per test cluster)")
	}
	if out, err := rabbitmqctl(ctx, "-q", "list_vhosts"); err != nil {
		return fmt.Errorf("rabbitmqctl cannot reach the broker: %v: %s", err, out)
	}
	return nil
}

func hostPort(u *url.URL, defPort string) string {
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = defPort
	}
	return net.JoinHostPort(host, port)
}

// parseMySQL turns mysql+pymysql://user:pw@host:port/ into a go-sql-driver config without a
// database.
func parseMySQL(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvMySQLURL, err)
	}
	if !strings.HasPrefix(u.Scheme, "mysql") {
		return nil, fmt.Errorf("%s: %q is not a mysql URL", EnvMySQLURL, raw)
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = hostPort(u, "3306")
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Timeout = 5 * time.Second
	cfg.ParseTime = true
	return cfg, nil
}

// connectionURL is the [database] connection option for database name on the servers.
func (s Servers) connectionURL(name string) (string, error) {
	u, err := url.Parse(s.MySQLURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	u.RawPath = ""
	u.RawQuery = "charset=utf8"
	return u.String(), nil
}

// transportURL is the transport_url for vhost on the servers.
func (s Servers) transportURL(vhost string) (string, error) {
	u, err := url.Parse(s.RabbitURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + vhost
	u.RawPath = ""
	return u.String(), nil
}

// createDatabase makes an empty database and returns a handle on it.
func (s Servers) createDatabase(ctx context.Context, name string) (*sql.DB, error) {
	cfg, err := parseMySQL(s.MySQLURL)
	if err != nil {
		return nil, err
	}
	root, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

func (s Servers) dropDatabase(ctx context.Context, name string) error {
	cfg, err := parseMySQL(s.MySQLURL)
	if err != nil {
		return err
	}
	root, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// createVhost makes vhost and gives the URL's user every permission on it.
func (s Servers) createVhost(ctx context.Context, vhost string) error {
	u, err := url.Parse(s.RabbitURL)
	if err != nil {
		return err
	}
	user := u.User.Username()
	if user == "" {
		user = "guest"
	}
	if out, err := rabbitmqctl(ctx, "-q", "add_vhost", vhost); err != nil {
		return fmt.Errorf("rabbitmqctl add_vhost %s: %v: %s", vhost, err, out)
	}
	if out, err := rabbitmqctl(ctx, "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"); err != nil {
		return fmt.Errorf("rabbitmqctl set_permissions -p %s %s: %v: %s", vhost, user, err, out)
	}
	return nil
}

func (s Servers) deleteVhost(ctx context.Context, vhost string) error {
	if out, err := rabbitmqctl(ctx, "-q", "delete_vhost", vhost); err != nil {
		return fmt.Errorf("rabbitmqctl delete_vhost %s: %v: %s", vhost, err, out)
	}
	return nil
}

func rabbitmqctl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// randomSuffix is 8 hex digits.
func randomSuffix() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
