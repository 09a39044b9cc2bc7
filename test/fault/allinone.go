package fault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the all-in-one's database, read by the checks

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// BinAllInOne is the all-in-one binary (cmd/scoria); cluster.Build makes it with the others.
const BinAllInOne = "scoria"

// AllInOneHost is the [DEFAULT] host the all-in-one runs as: its backend is AllInOneHost@local,
// its pool AllInOneHost@local#local.
const AllInOneHost = "aio"

// AllInOneOptions shape an all-in-one. Zero values take the defaults in brackets.
type AllInOneOptions struct {
	BinDir  string            // directory with the binaries (see cluster.Build); required
	BaseDir string            // parent of its data directory [os.TempDir()]
	Project string            // project of Client [demo]
	Extra   map[string]string // more [DEFAULT] options
	Logf    func(format string, args ...any)
}

// AllInOne is a running cmd/scoria — API, scheduler and a local-file volume service in one
// process on SQLite and the in-process bus — in a data directory of its own, on a free port,
// with its output appended to Dir/scoria.log across restarts. Its methods may be called from
// several goroutines.
type AllInOne struct {
	Dir     string // the --data-dir: scoria.conf, scoria.db, volumes/, the log
	Project string

	opts AllInOneOptions
	port int
	db   *sql.DB
	http *http.Client
	proc *cluster.Process // the scoria process, across its restarts
}

// StartAllInOne writes a configuration file (a free port, noauth, host AllInOneHost, the
// test's options) on top of the one the all-in-one generates in a new data directory, starts
// it and waits until its API lists the scheduler and the volume service up. On failure it
// cleans up and the error carries the tail of the log.
func StartAllInOne(ctx context.Context, opts AllInOneOptions) (*AllInOne, error) {
	if opts.BinDir == "" {
		return nil, errors.New("fault: AllInOneOptions.BinDir is required (see cluster.Build)")
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
		proc: &cluster.Process{Name: "all-in-one", Binary: filepath.Join(opts.BinDir, BinAllInOne),
			Config: filepath.Join(dir, "test.conf"), LogPath: filepath.Join(dir, "scoria.log"), Args: []string{"--data-dir", dir}},
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
	}
	began := time.Now()
	err = a.run(ctx, true)
	if err == nil {
		a.db, err = sql.Open("sqlite", filepath.Join(dir, "scoria.db")+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		tail := a.LogTail(60)
		a.Close()
		return nil, fmt.Errorf("%w\n---- last 60 lines of %s ----\n%s", err, a.proc.LogPath, tail)
	}
	opts.Logf("all-in-one up in %s: API %s, dir %s", time.Since(began).Round(time.Millisecond), a.Endpoint(), dir)
	return a, nil
}

// writeConfig picks a free port and writes the file given with --config-file.
func (a *AllInOne) writeConfig() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	opts := map[string]string{
		"host":                     AllInOneHost,
		"osapi_volume_listen":      "127.0.0.1",
		"osapi_volume_listen_port": strconv.Itoa(a.port),
		"auth_strategy":            "noauth",
		"report_interval":          "1",
		"service_down_time":        "5",
		"periodic_interval":        "5",
		"debug":                    "true",
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
	b.WriteString("# Written by test/fault for the all-in-one.\n[DEFAULT]\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, opts[k])
	}
	return os.WriteFile(a.proc.Config, []byte(b.String()), 0o644)
}

// Running reports whether the process runs now.
func (a *AllInOne) Running() bool { return a.proc.Running() }

// Pid is the process id of the current run (0 when never started).
func (a *AllInOne) Pid() int { return a.proc.Pid() }

// CheckProcess returns an error when the process exited by itself (not stopped or killed on
// purpose), with the tail of its log.
func (a *AllInOne) CheckProcess() error {
	if err := a.proc.Exited(); err != nil {
		return fmt.Errorf("%w; its log ends:\n%s", err, a.LogTail(30))
	}
	return nil
}

// Kill sends kill -9 and waits for the process to die.
func (a *AllInOne) Kill() error {
	a.opts.Logf("all-in-one: kill -9 (pid %d)", a.Pid())
	return a.proc.Kill()
}

// Restart starts the process again (stopping it first if it runs) on the same port and waits
// until its API lists the scheduler and the volume service up.
func (a *AllInOne) Restart(ctx context.Context) error { return a.run(ctx, false) }

// run starts the process and waits until it is up. A port someone else took in the meantime
// is waited for (a restart keeps the endpoint the test's clients know) or, at the first start,
// replaced by another free one.
func (a *AllInOne) run(ctx context.Context, first bool) error {
	if err := a.proc.Stop(); err != nil {
		return err
	}
	if first {
		if err := a.writeConfig(); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		if err := a.proc.Start(); err != nil {
			return err
		}
		err := a.waitUp(ctx, 60*time.Second)
		if err == nil {
			a.opts.Logf("all-in-one: started (pid %d)", a.Pid())
			return nil
		}
		if attempt >= 3 || !strings.Contains(a.LogTail(20), "address already in use") {
			return err
		}
		if err := a.proc.Stop(); err != nil {
			return err
		}
		if first {
			if err := a.writeConfig(); err != nil {
				return err
			}
		} else {
			time.Sleep(time.Second)
		}
	}
}

func (a *AllInOne) waitUp(ctx context.Context, timeout time.Duration) error {
	cl := a.Client()
	err := cluster.Poll(ctx, timeout, 100*time.Millisecond, func() (bool, string, error) {
		if err := a.CheckProcess(); err != nil {
			return false, "", err
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

// LogTail is the last n lines of its log.
func (a *AllInOne) LogTail(n int) string {
	b, err := os.ReadFile(a.proc.LogPath)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops the process (SIGTERM, then SIGKILL) and removes the data directory.
func (a *AllInOne) Close() error {
	errs := []error{a.proc.Stop()}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	a.http.CloseIdleConnections()
	errs = append(errs, os.RemoveAll(a.Dir))
	return errors.Join(errs...)
}
