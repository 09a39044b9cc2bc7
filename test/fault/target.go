package fault

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// Target is one running deployment under test: where its API is, its database, the processes
// the killer may kill, and its local-file backends.
type Target struct {
	Name      string
	Endpoint  string // Block Storage v3 endpoint
	HTTP      *http.Client
	DB        *sql.DB
	Processes []string          // the names Kill and Restart take
	Backends  map[string]string // backend host (host@backend) → its local_volume_dir

	Kill    func(name string) error
	Restart func(ctx context.Context, name string) error
	Running func(name string) bool
	// WaitUp waits until every service is up again (the API answers, the services report).
	WaitUp func(ctx context.Context, timeout time.Duration) error
	// CheckProcesses names a process that exited by itself (a crash the killer did not cause).
	CheckProcesses func() error
	LogTails       func(n int) string
}

// ClusterTarget is the split services of c (one scheduler): scoria-api, scoria-scheduler and
// the volume processes may be killed.
func ClusterTarget(c *cluster.Cluster, hc *http.Client) Target {
	procs := []string{cluster.API, cluster.Scheduler}
	backends := map[string]string{}
	for _, h := range c.VolumeHosts() {
		procs = append(procs, cluster.VolumeProcess(h))
		backends[cluster.BackendHost(h)] = c.VolumeDir(h)
	}
	return Target{
		Name: "split services on MariaDB + RabbitMQ", Endpoint: c.Endpoint(), HTTP: hc, DB: c.DB(),
		Processes: procs, Backends: backends,
		Kill:    c.Kill,
		Restart: func(_ context.Context, name string) error { return c.Restart(name) },
		Running: func(name string) bool { return c.Process(name).Running() },
		WaitUp: func(_ context.Context, timeout time.Duration) error {
			return c.WaitServicesUp(timeout)
		},
		CheckProcesses: c.CheckProcesses,
		LogTails:       c.LogTails,
	}
}

// AllInOneTarget is the all-in-one a: its one process may be killed.
func AllInOneTarget(a *AllInOne) Target {
	return Target{
		Name: "all-in-one on SQLite and the in-process bus", Endpoint: a.Endpoint(), HTTP: a.HTTPClient(), DB: a.DB(),
		Processes: []string{BinAllInOne},
		Backends:  map[string]string{AllInOneHost + "@local": a.VolumeDir()},
		Kill:      func(string) error { return a.Kill() },
		Restart:   func(ctx context.Context, _ string) error { return a.Restart(ctx) },
		Running:   func(string) bool { return a.Running() },
		WaitUp: func(ctx context.Context, _ time.Duration) error {
			if a.Running() {
				return nil
			}
			return a.Restart(ctx)
		},
		CheckProcesses: a.CheckProcess,
		LogTails:       func(n int) string { return "---- all-in-one log ----\n" + a.LogTail(n) },
	}
}
