// Package cluster starts and stops Scoria deployments of real processes for end-to-end tests
// and the load bench: scoria-api, scoria-scheduler, N scoria-volume and (Options.Backups)
// scoria-backup processes on MariaDB and RabbitMQ,
// each cluster on its own database, vhost, API port and directory, so clusters run side by side;
// and the all-in-one binary on a data directory of its own (StartAllInOne). Process runs one
// binary with kill -9, stop and restart.
package cluster

import (
	"bufio"
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
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// BackendName is the one local-file backend section each volume process serves; its
// service host is <host>@file1 and its pool <host>@file1#file1.
const BackendName = "file1"

// Process names.
const (
	API       = "api"
	Scheduler = "scheduler"
)

// VolumeProcess is the name of the scoria-volume process of host.
func VolumeProcess(host string) string { return "volume-" + host }

// Options shape a cluster. Zero values take the defaults in brackets.
type Options struct {
	BinDir           string            // directory with the binaries (see Build); required
	Servers          Servers           // [ServersFromEnv()]
	Name             string            // prefix of the database, vhost and directory names [scoria_e2e]
	VolumeHosts      []string          // one scoria-volume per host [node1]
	Volumes          []VolumeSpec      // one scoria-volume per entry, with its own backends; replaces VolumeHosts
	ControllerHost   string            // host of scoria-api and scoria-scheduler [controller]
	Project          string            // project of Client [demo]
	Debug            bool              // debug = true in every process
	ReportInterval   int               // report_interval, seconds [1]
	ServiceDownTime  int               // service_down_time, seconds [5]
	PeriodicInterval int               // periodic_interval, seconds [5]
	Extra            map[string]string // more [DEFAULT] options
	// Sections are more sections (e.g. keystone_authtoken) of every process's configuration.
	Sections map[string]map[string]string
	// AuthToken is the X-Auth-Token of Client (a Keystone token of Project, with auth_strategy
	// = keystone in Extra); empty: the noauth token admin-of-Project.
	AuthToken  string
	BaseDir    string // parent of the cluster directory [os.TempDir()]
	KeepDir    bool   // keep the directory (logs, volume files) at Close
	Logf       func(format string, args ...any)
	Schedulers int // scoria-scheduler processes [1]; see SchedulerProcess
	// Backups are scoria-backup processes, started after the volume processes; none by default.
	Backups []BackupSpec
	// CinderQuotas keeps Cinder's default quotas (10 volumes, 1000 GiB, …); otherwise the
	// class 'default' is made unlimited for volumes, snapshots and gigabytes after db sync.
	CinderQuotas bool
}

// Cluster is a running deployment. Its methods may be called from several goroutines.
type Cluster struct {
	Dir     string // configuration, logs, state and the volume directories
	Project string

	opts      Options
	dbName    string
	vhost     string
	port      int
	db        *sql.DB
	http      *http.Client
	procs     map[string]*Process
	order     []string
	dbMade    bool
	vhMade    bool
	closeOnce sync.Once
	closeErr  error
}

// Start sets up the database and vhost, writes one configuration file per process, runs
// `scoria-manage db sync`, starts scoria-api, scoria-scheduler and the volume processes, and
// waits until the API lists every service up — as a user would, not until the scheduler has
// heard from every backend: the scheduler itself holds creates until then. On failure it cleans up and the error carries the tail of
// every log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.BinDir == "" {
		return nil, errors.New("cluster: Options.BinDir is required (see Build)")
	}
	if opts.Servers == (Servers{}) {
		opts.Servers = ServersFromEnv()
	}
	if opts.Name == "" {
		opts.Name = "scoria_e2e"
	}
	if len(opts.Volumes) > 0 {
		opts.VolumeHosts = volumeHostsOf(opts.Volumes)
	}
	if len(opts.VolumeHosts) == 0 {
		opts.VolumeHosts = []string{"node1"}
	}
	if opts.ControllerHost == "" {
		opts.ControllerHost = "controller"
	}
	if opts.Project == "" {
		opts.Project = "demo"
	}
	if opts.ReportInterval == 0 {
		opts.ReportInterval = 1
	}
	if opts.ServiceDownTime == 0 {
		opts.ServiceDownTime = 5
	}
	if opts.PeriodicInterval == 0 {
		opts.PeriodicInterval = 5
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	suffix := randomSuffix()
	dir, err := os.MkdirTemp(opts.BaseDir, strings.ReplaceAll(opts.Name, "_", "-")+"-"+suffix+"-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Dir:     dir,
		Project: opts.Project,
		opts:    opts,
		dbName:  opts.Name + "_" + suffix,
		vhost:   strings.ReplaceAll(opts.Name, "_", "-") + "-" + suffix,
		procs:   map[string]*Process{},
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
	}
	if err := c.start(ctx); err != nil {
		tails := c.LogTails(60)
		c.Close()
		return nil, fmt.Errorf("%w\n%s", err, tails)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	began := time.Now()
	for _, d := range []string{"etc", "logs", "backups"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return err
		}
	}
	db, err := c.opts.Servers.createDatabase(ctx, c.dbName)
	if err != nil {
		return err
	}
	c.db, c.dbMade = db, true
	if err := c.opts.Servers.createVhost(ctx, c.vhost); err != nil {
		return err
	}
	c.vhMade = true
	c.port, err = freePort()
	if err != nil {
		return err
	}
	c.addProcess(API, BinAPI)
	c.addSchedulers()
	for _, h := range c.opts.VolumeHosts {
		c.addProcess(VolumeProcess(h), BinVolume)
	}
	c.addBackups()
	if err := c.writeConfigs(); err != nil {
		return err
	}
	if err := c.dbSync(ctx); err != nil {
		return err
	}
	if !c.opts.CinderQuotas {
		if _, err := c.db.ExecContext(ctx, "UPDATE quota_classes SET hard_limit = -1 WHERE class_name = 'default'"+
			" AND resource IN ('volumes', 'snapshots', 'gigabytes')"); err != nil {
			return fmt.Errorf("lift the default quotas: %w", err)
		}
	}
	if err := c.startAPI(ctx); err != nil {
		return err
	}
	for _, name := range c.order[1:] {
		if err := c.procs[name].start(); err != nil {
			return err
		}
	}
	if err := c.WaitServicesUp(60 * time.Second); err != nil {
		return err
	}
	c.opts.Logf("cluster %s up in %s: API %s, database %s, vhost %s, dir %s",
		c.vhost, time.Since(began).Round(time.Millisecond), c.Endpoint(), c.dbName, c.vhost, c.Dir)
	return nil
}

func (c *Cluster) addProcess(name, binary string) {
	c.procs[name] = &Process{
		Name:    name,
		Binary:  filepath.Join(c.opts.BinDir, binary),
		Config:  filepath.Join(c.Dir, "etc", name+".conf"),
		LogPath: filepath.Join(c.Dir, "logs", name+".log"),
	}
	c.order = append(c.order, name)
}

// hostOf is the [DEFAULT] host of a process, and whether it is a volume process.
func (c *Cluster) hostOf(name string) (host string, volume bool) {
	if h, ok := strings.CutPrefix(name, "volume-"); ok {
		return h, true
	}
	if h, ok := c.schedulerHost(name); ok {
		return h, false
	}
	if s, ok := c.backupSpec(name); ok {
		return s.Host, false
	}
	return c.opts.ControllerHost, false
}

func (c *Cluster) writeConfigs() error {
	conn, err := c.opts.Servers.connectionURL(c.dbName)
	if err != nil {
		return err
	}
	transport, err := c.opts.Servers.transportURL(c.vhost)
	if err != nil {
		return err
	}
	for _, name := range c.order {
		host, volume := c.hostOf(name)
		var b strings.Builder
		fmt.Fprintf(&b, "# Written by test/cluster for process %s.\n[DEFAULT]\n", name)
		opts := map[string]string{
			"host":                     host,
			"transport_url":            transport,
			"osapi_volume_listen":      "127.0.0.1",
			"osapi_volume_listen_port": strconv.Itoa(c.port),
			"auth_strategy":            "noauth",
			"report_interval":          strconv.Itoa(c.opts.ReportInterval),
			"service_down_time":        strconv.Itoa(c.opts.ServiceDownTime),
			"periodic_interval":        strconv.Itoa(c.opts.PeriodicInterval),
			"state_path":               filepath.Join(c.Dir, "state-"+name),
			"debug":                    strconv.FormatBool(c.opts.Debug),
		}
		if volume {
			opts["enabled_backends"] = BackendName
		}
		for k, v := range c.opts.Extra {
			opts[k] = v
		}
		if volume {
			c.addVolumeOptions(host, opts)
		}
		if s, ok := c.backupSpec(name); ok {
			opts["backup_posix_path"] = c.BackupPosixPath()
			for k, v := range c.opts.Extra {
				opts[k] = v
			}
			for k, v := range s.Extra {
				opts[k] = v
			}
		}
		keys := make([]string, 0, len(opts))
		for k := range opts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s = %s\n", k, opts[k])
		}
		fmt.Fprintf(&b, "\n[database]\nconnection = %s\n", conn)
		writeSections(&b, c.opts.Sections)
		if volume {
			c.writeBackendSections(&b, host)
		}
		if err := os.WriteFile(c.procs[name].Config, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) dbSync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	logPath := filepath.Join(c.Dir, "logs", "manage.log")
	cmd := exec.CommandContext(ctx, filepath.Join(c.opts.BinDir, BinManage), "--config-file", c.procs[API].Config, "db", "sync")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(logPath, out, 0o644)
	if err != nil {
		return fmt.Errorf("scoria-manage db sync: %v\n%s", err, out)
	}
	return nil
}

// startAPI starts scoria-api and waits until it answers HTTP. A port taken in the meantime
// by someone else is replaced by another free port.
func (c *Cluster) startAPI(ctx context.Context) error {
	p := c.procs[API]
	for attempt := 1; ; attempt++ {
		if err := p.start(); err != nil {
			return err
		}
		err := c.poll(ctx, 30*time.Second, 50*time.Millisecond, func() (bool, string, error) {
			if err := p.Exited(); err != nil {
				return false, "", err
			}
			resp, err := c.http.Get(fmt.Sprintf("http://127.0.0.1:%d/", c.port))
			if err != nil {
				return false, err.Error(), nil
			}
			resp.Body.Close()
			return true, "", nil
		})
		if err == nil {
			return nil
		}
		if attempt >= 3 || !strings.Contains(c.LogTail(API, 20), "address already in use") {
			return fmt.Errorf("scoria-api did not answer on %s: %w", c.Endpoint(), err)
		}
		if c.port, err = freePort(); err != nil {
			return err
		}
		if err := c.writeConfigs(); err != nil {
			return err
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Endpoint is the Block Storage v3 endpoint: http://127.0.0.1:PORT/v3.
func (c *Cluster) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d/v3", c.port) }

// Client is a client of the API for the cluster's project.
func (c *Cluster) Client() *blockstorage.Client {
	cl := blockstorage.New(c.Endpoint(), c.Project)
	cl.HTTP, cl.AuthToken = c.http, c.opts.AuthToken
	return cl
}

// DB is a connection to the cluster's own database.
func (c *Cluster) DB() *sql.DB { return c.db }

// Vhost is the cluster's RabbitMQ virtual host.
func (c *Cluster) Vhost() string { return c.vhost }

// VolumeHosts are the hosts of the volume processes.
func (c *Cluster) VolumeHosts() []string { return append([]string(nil), c.opts.VolumeHosts...) }

// VolumeDir is the local_volume_dir of host's volume process.
func (c *Cluster) VolumeDir(host string) string { return filepath.Join(c.Dir, "vols-"+host) }

// BackendHost is the service host of host's backend: host@file1.
func BackendHost(host string) string { return host + "@" + BackendName }

// HostOfVolume is the [DEFAULT] host part of a volume's os-vol-host-attr:host
// (node1@file1#file1 → node1).
func HostOfVolume(volumeHost string) string {
	h, _, _ := strings.Cut(volumeHost, "@")
	return h
}

// Files lists the entries of every volume directory by host (a missing directory is empty).
func (c *Cluster) Files() (map[string][]string, error) {
	out := map[string][]string{}
	for _, h := range c.opts.VolumeHosts {
		entries, err := os.ReadDir(c.VolumeDir(h))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		out[h] = names
	}
	return out, nil
}

// Process is the named process (API, Scheduler, VolumeProcess(host), BackupProcess(host)); it panics on an
// unknown name, a bug in the test.
func (c *Cluster) Process(name string) *Process {
	p, ok := c.procs[name]
	if !ok {
		panic(fmt.Sprintf("cluster: no process %q (have %v)", name, c.order))
	}
	return p
}

// Kill sends kill -9 to the named process and waits for it to die.
func (c *Cluster) Kill(name string) error {
	c.opts.Logf("cluster: kill -9 %s (pid %d)", name, c.Process(name).Pid())
	return c.Process(name).Kill()
}

// Stop stops the named process with SIGTERM.
func (c *Cluster) Stop(name string) error {
	c.opts.Logf("cluster: stop %s (pid %d)", name, c.Process(name).Pid())
	return c.Process(name).Stop()
}

// Restart starts the named process again (stopping it first if it runs). For the API it
// also waits until it answers.
func (c *Cluster) Restart(name string) error {
	p := c.Process(name)
	if p.Running() {
		if err := p.Stop(); err != nil {
			return err
		}
	}
	if name == API {
		return c.startAPI(context.Background())
	}
	if err := p.start(); err != nil {
		return err
	}
	c.opts.Logf("cluster: restarted %s (pid %d)", name, p.Pid())
	return nil
}

// LogTail is the last n lines of the named process's log.
func (c *Cluster) LogTail(name string, n int) string {
	path := filepath.Join(c.Dir, "logs", name+".log")
	if p, ok := c.procs[name]; ok {
		path = p.LogPath
	}
	return tail(path, n)
}

// LogTails is the last n lines of every log, each under a heading.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, name := range append([]string{"manage"}, c.order...) {
		fmt.Fprintf(&b, "---- %s: last %d lines of %s ----\n%s\n", name, n,
			filepath.Join(c.Dir, "logs", name+".log"), c.LogTail(name, n))
	}
	return b.String()
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops every process (SIGTERM, then SIGKILL), drops the database, deletes the vhost
// and removes the directory unless KeepDir. It is safe to call more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, p := range c.procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Stop(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c.db != nil {
			c.db.Close()
		}
		if c.dbMade {
			errs = append(errs, c.opts.Servers.dropDatabase(ctx, c.dbName))
		}
		if c.vhMade {
			errs = append(errs, c.opts.Servers.deleteVhost(ctx, c.vhost))
		}
		if c.http != nil {
			c.http.CloseIdleConnections()
		}
		if !c.opts.KeepDir {
			errs = append(errs, os.RemoveAll(c.Dir))
		} else {
			c.opts.Logf("cluster: kept %s", c.Dir)
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
