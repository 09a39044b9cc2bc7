package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// BinAllInOne is the all-in-one binary (SQLite, in-process bus, local files); Build makes it
// with the others.
const BinAllInOne = "scoria"

// AllInOne is one `scoria` process on a data directory and a free port of its own: what
// `make run` starts. Its volume files are under Dir/volumes, its database is Dir/scoria.db.
type AllInOne struct {
	Dir  string
	Proc *Process
	port int
	http *http.Client
	logf func(format string, args ...any)
}

// StartAllInOne writes an override of the generated configuration (the port, debug logs)
// in dir, starts binDir/scoria on dir and waits until its API answers.
func StartAllInOne(ctx context.Context, binDir, dir string, logf func(string, ...any)) (*AllInOne, error) {
	return StartAllInOneWith(ctx, binDir, dir, nil, logf)
}

// StartAllInOneWith is StartAllInOne with more [DEFAULT] options in the override (e.g. the
// backup_posix_path two all-in-ones share to export a backup from one and import it into the
// other).
func StartAllInOneWith(ctx context.Context, binDir, dir string, extra map[string]string, logf func(string, ...any)) (*AllInOne, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "test.conf")
	body := fmt.Sprintf("[DEFAULT]\nosapi_volume_listen_port = %d\ndebug = true\nreport_interval = 1\nperiodic_interval = 2\n", port)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		body += fmt.Sprintf("%s = %s\n", k, extra[k])
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return nil, err
	}
	a := &AllInOne{Dir: dir, port: port, http: &http.Client{Timeout: 30 * time.Second}, logf: logf,
		Proc: &Process{Name: "scoria", Binary: filepath.Join(binDir, BinAllInOne), Config: conf,
			LogPath: filepath.Join(dir, "scoria.log"), Args: []string{"--data-dir", dir}}}
	if err := a.Restart(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Endpoint is the Block Storage v3 endpoint.
func (a *AllInOne) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d/v3", a.port) }

// Client is a client of the API for project.
func (a *AllInOne) Client(project string) *blockstorage.Client {
	cl := blockstorage.New(a.Endpoint(), project)
	cl.HTTP = a.http
	return cl
}

// Kill sends kill -9 and waits for the process to die.
func (a *AllInOne) Kill() error {
	a.logf("all-in-one: kill -9 (pid %d)", a.Proc.Pid())
	return a.Proc.Kill()
}

// Restart starts the process (stopping it first if it runs) and waits until the API answers.
func (a *AllInOne) Restart(ctx context.Context) error {
	if a.Proc.Running() {
		if err := a.Proc.Stop(); err != nil {
			return err
		}
	}
	if err := a.Proc.start(); err != nil {
		return err
	}
	a.logf("all-in-one: started (pid %d)", a.Proc.Pid())
	return Poll(ctx, 60*time.Second, 50*time.Millisecond, func() (bool, string, error) {
		if err := a.Proc.Exited(); err != nil {
			return false, "", fmt.Errorf("%w\n%s", err, a.LogTail(20))
		}
		resp, err := a.http.Get(a.Endpoint() + "/")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return true, "", nil
	})
}

// VolumeFiles lists the names in the backend directory (volume-<id>, and any partial file).
func (a *AllInOne) VolumeFiles() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(a.Dir, "volumes"))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// LogTail is the last n lines of the process's log.
func (a *AllInOne) LogTail(n int) string { return tail(a.Proc.LogPath, n) }

// Close stops the process (SIGTERM, then SIGKILL after 15 s).
func (a *AllInOne) Close() error { return a.Proc.Stop() }
