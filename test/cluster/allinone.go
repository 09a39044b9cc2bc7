package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the all-in-one's database, read by the tests

	"github.com/scoria/scoria/test/blockstorage"
)

// BinAllInOne is the all-in-one binary (cmd/scoria); Build makes it with the others.
const BinAllInOne = "scoria"

// AllInOneProcess is the name of the all-in-one's one process.
const AllInOneProcess = "scoria"

// AllInOneHost is the [DEFAULT] host the all-in-one runs as: its backend is AllInOneHost@local,
// its pool AllInOneHost@local#local.
const AllInOneHost = "aio"

// AllInOneOptions shape an all-in-one. Zero values take the defaults in brackets.
type AllInOneOptions struct {
	BinDir  string            // directory with the binaries (see Build); required
	BaseDir string            // parent of its data directory [os.TempDir()]
	KeepDir bool              // keep the data directory (database, log, volume files) at Close
	Project string            // project of Client [demo]
	Debug   bool              // debug = true
	Extra   map[string]string // more [DEFAULT] options
	Logf    func(format string, args ...any)
}

// AllInOne is a running cmd/scoria — API, scheduler and a local-file volume service in one
// process on SQLite and the in-process bus — in a data directory of its own, on a free port.
// Its methods may be called from several goroutines.
type AllInOne struct {
	Dir     string // the --data-dir: scoria.conf, scoria.db, volumes/, the log
	Project string

	opts AllInOneOptions
	port int
	proc *Process
	db   *sql.DB
	http *http.Client
}

// StartAllInOne writes a configuration file (a free port, noauth, host AllInOneHost) into a new
// data directory, starts the all-in-one and waits until its API lists the scheduler and the
// volume service up. On failure it cleans up and the error carries the tail of the log.
func StartAllInOne(ctx context.Context, opts AllInOneOptions) (*AllInOne, error) {
	if opts.BinDir == "" {
		return nil, errors.New("cluster: AllInOneOptions.BinDir is required (see Build)")
	}
	if opts.Project == "" {
		opts.Project = "demo"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	dir, err := os.MkdirTemp(opts.BaseDir, "scoria-aio-")
	if err != nil {
		return nil, err
	}
	a := &AllInOne{Dir: dir, Project: opts.Project, opts: opts,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
	}
	a.proc = &Process{
		Name:    AllInOneProcess,
		Binary:  filepath.Join(opts.BinDir, BinAllInOne),
		Args:    []string{"--data-dir", dir},
		Config:  filepath.Join(dir, "test.conf"),
		LogPath: filepath.Join(dir, "scoria.log"),
	}
	if err := a.start(ctx); err != nil {
		tail := a.LogTail(60)
		a.Close()
		return nil, fmt.Errorf("%w\n---- last 60 lines of %s ----\n%s", err, a.proc.LogPath, tail)
	}
	return a, nil
}

func (a *AllInOne) start(ctx context.Context) error {
	began := time.Now()
	if err := a.writeConfig(); err != nil {
		return err
	}
	if err := a.startProcess(ctx); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", filepath.Join(a.Dir, "scoria.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	a.db = db
	a.opts.Logf("all-in-one up in %s: API %s, dir %s", time.Since(began).Round(time.Millisecond), a.Endpoint(), a.Dir)
	return nil
}

// writeConfig writes the file given with --config-file, on top of the one the all-in-one
// generates in its data directory.
func (a *AllInOne) writeConfig() error {
	var err error
	if a.port, err = freePort(); err != nil {
		return err
	}
	opts := map[string]string{
		"host":                     AllInOneHost,
		"osapi_volume_listen":      "127.0.0.1",
		"osapi_volume_listen_port": strconv.Itoa(a.port),
		"auth_strategy":            "noauth",
		"report_interval":          "1",
		"service_down_time":        "5",
		"periodic_interval":        "5",
		"debug":                    strconv.FormatBool(a.opts.Debug),
	}
	for k, v := range a.opts.Extra {
		opts[k] = v
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by test/cluster for the all-in-one.\n[DEFAULT]\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, opts[k])
	}
	return os.WriteFile(a.proc.Config, []byte(b.String()), 0o644)
}

// startProcess starts the process and waits until the API lists the scheduler and the volume
// service up; a port taken in the meantime is replaced by another free one.
func (a *AllInOne) startProcess(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		if err := a.proc.start(); err != nil {
			return err
		}
		err := a.waitUp(ctx, 60*time.Second)
		if err == nil {
			return nil
		}
		if attempt >= 3 || !strings.Contains(a.LogTail(20), "address already in use") {
			return err
		}
		if stopErr := a.proc.Stop(); stopErr != nil {
			return stopErr
		}
		if err := a.writeConfig(); err != nil {
			return err
		}
	}
}

func (a *AllInOne) waitUp(ctx context.Context, timeout time.Duration) error {
	cl := a.Client()
	err := Poll(ctx, timeout, 100*time.Millisecond, func() (bool, string, error) {
		if err := a.proc.Exited(); err != nil {
			return false, "", fmt.Errorf("%w; its log ends:\n%s", err, a.LogTail(30))
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		services, err := cl.ListServices(rctx)
		if err != nil {
			return false, "GET os-services: " + err.Error(), nil
		}
		up := map[string]bool{}
		var seen []string
		for _, s := range services {
			seen = append(seen, fmt.Sprintf("%s %s %s/%s", s.Binary, s.Host, s.Status, s.State))
			if s.State == "up" && s.Status == "enabled" {
				up[s.Binary[strings.LastIndex(s.Binary, "-")+1:]] = true
			}
		}
		return up["scheduler"] && up["volume"], fmt.Sprintf("listed: %v", seen), nil
	})
	if err != nil {
		return fmt.Errorf("all-in-one on %s not up: %w", a.Endpoint(), err)
	}
	return nil
}

// Endpoint is the Block Storage v3 endpoint: http://127.0.0.1:PORT/v3.
func (a *AllInOne) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d/v3", a.port) }

// HTTPClient is the HTTP client of Client, shared by everything that calls the API.
func (a *AllInOne) HTTPClient() *http.Client { return a.http }

// Client is a client of the API for the all-in-one's project (noauth, admin).
func (a *AllInOne) Client() *blockstorage.Client {
	cl := blockstorage.New(a.Endpoint(), a.Project)
	cl.HTTP = a.http
	return cl
}

// DB is a connection to the all-in-one's SQLite database (WAL: reads do not block it).
func (a *AllInOne) DB() *sql.DB { return a.db }

// VolumeDir is the local_volume_dir of its backend.
func (a *AllInOne) VolumeDir() string { return filepath.Join(a.Dir, "volumes") }

// Process is its one process.
func (a *AllInOne) Process() *Process { return a.proc }

// Kill sends kill -9 to the process and waits for it to die.
func (a *AllInOne) Kill() error {
	a.opts.Logf("all-in-one: kill -9 (pid %d)", a.proc.Pid())
	return a.proc.Kill()
}

// Restart starts the process again (stopping it first if it runs) and waits until it is up.
func (a *AllInOne) Restart(ctx context.Context) error {
	if a.proc.Running() {
		if err := a.proc.Stop(); err != nil {
			return err
		}
	}
	if err := a.startProcess(ctx); err != nil {
		return err
	}
	a.opts.Logf("all-in-one: restarted (pid %d)", a.proc.Pid())
	return nil
}

// CheckProcess returns an error when the process exited by itself, with the tail of its log.
func (a *AllInOne) CheckProcess() error {
	if err := a.proc.Exited(); err != nil {
		return fmt.Errorf("%w; its log ends:\n%s", err, a.LogTail(30))
	}
	return nil
}

// LogTail is the last n lines of its log.
func (a *AllInOne) LogTail(n int) string { return tail(a.proc.LogPath, n) }

// Close stops the process (SIGTERM, then SIGKILL) and removes the data directory unless
// KeepDir.
func (a *AllInOne) Close() error {
	errs := []error{a.proc.Stop()}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	a.http.CloseIdleConnections()
	if a.opts.KeepDir {
		a.opts.Logf("all-in-one: kept %s", a.Dir)
	} else {
		errs = append(errs, os.RemoveAll(a.Dir))
	}
	return errors.Join(errs...)
}
