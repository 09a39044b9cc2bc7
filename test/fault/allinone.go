package fault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current run exited
	exitErr error
	stopped bool // the current run was stopped or killed on purpose
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
		return nil, fmt.Errorf("%w\n---- last 60 lines of %s ----\n%s", err, a.logPath(), tail)
	}
	opts.Logf("all-in-one up in %s: API %s, dir %s", time.Since(began).Round(time.Millisecond), a.Endpoint(), dir)
	return a, nil
}

func (a *AllInOne) confPath() string { return filepath.Join(a.Dir, "test.conf") }
func (a *AllInOne) logPath() string  { return filepath.Join(a.Dir, "scoria.log") }

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
	return os.WriteFile(a.confPath(), []byte(b.String()), 0o644)
}

// start runs the process; it must not be running.
func (a *AllInOne) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil && !isClosed(a.done) {
		return fmt.Errorf("the all-in-one is already running (pid %d)", a.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(a.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(a.opts.BinDir, BinAllInOne), "--data-dir", a.Dir, "--config-file", a.confPath())
	cmd.Stdout, cmd.Stderr = logf, logf
	for _, kv := range os.Environ() { // no SCORIA_* override of the configuration written here
		if !strings.HasPrefix(kv, "SCORIA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary
	fmt.Fprintf(logf, "==== fault: %s starting %s\n", time.Now().Format("15:04:05.000"), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start the all-in-one: %w", err)
	}
	done := make(chan struct{})
	a.cmd, a.done, a.exitErr, a.stopped = cmd, done, nil, false
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logf, "==== fault: %s pid %d exited: %v\n", time.Now().Format("15:04:05.000"), cmd.Process.Pid, err)
		logf.Close()
		a.mu.Lock()
		a.exitErr = err
		a.mu.Unlock()
		close(done)
	}()
	return nil
}

func isClosed(ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// signal sends sig and waits up to grace for the exit, then kills.
func (a *AllInOne) signal(sig syscall.Signal, grace time.Duration) error {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.stopped = true
	a.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal the all-in-one: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
		return fmt.Errorf("the all-in-one did not exit within %s of %s; killed", grace, sig)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the all-in-one (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
	}
}

// Running reports whether the process runs now.
func (a *AllInOne) Running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cmd != nil && !isClosed(a.done)
}

// Pid is the process id of the current run (0 when never started).
func (a *AllInOne) Pid() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil || a.cmd.Process == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

// CheckProcess returns an error when the process exited by itself (not stopped or killed on
// purpose), with the tail of its log.
func (a *AllInOne) CheckProcess() error {
	a.mu.Lock()
	exited := a.cmd != nil && isClosed(a.done) && !a.stopped
	pid, err := 0, a.exitErr
	if a.cmd != nil {
		pid = a.cmd.Process.Pid
	}
	a.mu.Unlock()
	if !exited {
		return nil
	}
	return fmt.Errorf("the all-in-one (pid %d) exited by itself: %v; its log ends:\n%s", pid, err, a.LogTail(30))
}

// Kill sends kill -9 and waits for the process to die.
func (a *AllInOne) Kill() error {
	a.opts.Logf("all-in-one: kill -9 (pid %d)", a.Pid())
	return a.signal(syscall.SIGKILL, 10*time.Second)
}

// Restart starts the process again (stopping it first if it runs) on the same port and waits
// until its API lists the scheduler and the volume service up.
func (a *AllInOne) Restart(ctx context.Context) error { return a.run(ctx, false) }

// run starts the process and waits until it is up. A port someone else took in the meantime
// is waited for (a restart keeps the endpoint the test's clients know) or, at the first start,
// replaced by another free one.
func (a *AllInOne) run(ctx context.Context, first bool) error {
	if err := a.signal(syscall.SIGTERM, 15*time.Second); err != nil {
		return err
	}
	if first {
		if err := a.writeConfig(); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		if err := a.start(); err != nil {
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
		if err := a.signal(syscall.SIGTERM, 15*time.Second); err != nil {
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
	b, err := os.ReadFile(a.logPath())
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
	errs := []error{a.signal(syscall.SIGTERM, 15*time.Second)}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	a.http.CloseIdleConnections()
	errs = append(errs, os.RemoveAll(a.Dir))
	return errors.Join(errs...)
}
