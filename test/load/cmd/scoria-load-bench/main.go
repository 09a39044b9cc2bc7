// Command scoria-load-bench is `make load`: it builds Scoria, starts the split services
// (scoria-api, scoria-scheduler, scoria-volume) on MariaDB and RabbitMQ in a fresh database and
// vhost with test/cluster, runs the load of scoria-load against them, prints the results with
// the targets, and tears everything down. MariaDB and RabbitMQ are found as the end-to-end
// tests find them (SCORIA_TEST_MYSQL_URL, SCORIA_TEST_RABBIT_URL).
//
// With -attach, each volume process's backend exports through the machine's tgtd with CHAP
// (target_helper=tgtadm, a target_prefix of its own per run), so every attach creates a real
// iSCSI target and every detach removes it; the attach and detach phases run between the GET
// and delete phases:
//
//	go run ./test/load/cmd/scoria-load-bench -attach -n 100 -c 10 -gets -1
//
// With -backend nfs, each volume process serves an [nfs] section (volume_driver = nfs,
// snapshots on) on the machine's test NFS server (deploy/nfs/nfs-up.sh; its shares from
// $NFS_DIR/env or SCORIA_TEST_NFS_SHARES/SCORIA_TEST_NFS_EXPORTS), in a mount namespace of its
// own. -clones and -snapshots add the copy phases (a clone, then a snapshot, of every
// available volume, and their deletes) between the GET and delete phases, on any backend:
//
//	go run ./test/load/cmd/scoria-load-bench -backend nfs -clones -snapshots -n 200
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
	"github.com/scoria/scoria/test/load"
)

// Targets of the speed issue.
const (
	targetCreates = 250.0  // volumes/s create→available at concurrency 20
	targetGets    = 5000.0 // GET /volumes/{id} per second
)

func main() {
	var cfg load.Config
	flag.IntVar(&cfg.N, "n", 1000, "volumes to create")
	flag.IntVar(&cfg.C, "c", 20, "concurrent clients")
	flag.IntVar(&cfg.Size, "size", 1, "size of each volume in GiB")
	flag.IntVar(&cfg.Gets, "gets", 20000, "GET /volumes/{id} requests in the read phase (-1 skips it)")
	flag.StringVar(&cfg.Wait, "wait", load.WaitList, "how the end of a create/delete is seen: list (one poller lists the volumes in creating/deleting) or get (every client polls its volume)")
	flag.DurationVar(&cfg.Poll, "poll", 10*time.Millisecond, "interval between status polls")
	flag.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "longest wait for one volume to become available or gone")
	volumes := flag.Int("volumes", 1, "scoria-volume processes (hosts node1, node2, …)")
	binDir := flag.String("bin", "", "directory with the scoria binaries (default: build them into a temporary directory)")
	keep := flag.Bool("keep", false, "keep the cluster directory (configuration, logs) after the run")
	debug := flag.Bool("debug", false, "debug logging in the services")
	maxTime := flag.Duration("max-time", 30*time.Minute, "stop the create and GET phases after this long")
	flag.BoolVar(&cfg.Attach, "attach", false, "export through tgtd (tgtadm, CHAP) and run the attach and detach phases")
	backend := flag.String("backend", backendLocal, "backend of the volume processes: localfile, or nfs (the test NFS server of deploy/nfs/nfs-up.sh; needs root)")
	var copies load.Copies
	flag.BoolVar(&copies.Clones, "clones", false, "clone every available volume, then delete the clones (between the GET and delete phases)")
	flag.BoolVar(&copies.Snapshots, "snapshots", false, "snapshot every available volume, then delete the snapshots (between the GET and delete phases)")
	flag.Parse()

	if err := run(cfg, copies, *backend, *volumes, *binDir, *keep, *debug, *maxTime); err != nil {
		fmt.Fprintf(os.Stderr, "scoria-load-bench: %v\n", err)
		os.Exit(1)
	}
}

// createPhase is the name load gives its create phase.
const createPhase = "create→available"

// The values of -backend.
const (
	backendLocal = "localfile"
	backendNFS   = "nfs"
)

func run(cfg load.Config, copies load.Copies, backend string, volumes int, binDir string, keep, debug bool, maxTime time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	switch {
	case backend != backendLocal && backend != backendNFS:
		return fmt.Errorf("-backend %q is neither %s nor %s", backend, backendLocal, backendNFS)
	case backend == backendNFS && cfg.Attach:
		return fmt.Errorf("-attach exports through tgtd, which only -backend %s does", backendLocal)
	}

	servers := cluster.ServersFromEnv()
	if err := servers.Check(ctx); err != nil {
		return fmt.Errorf("MariaDB and RabbitMQ are needed (%s, %s): %w", cluster.EnvMySQLURL, cluster.EnvRabbitURL, err)
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "scoria-load-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		logf("building the binaries into %s", dir)
		if err := cluster.Build(ctx, dir); err != nil {
			return err
		}
		binDir = dir
	}
	hosts := make([]string, volumes)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("node%d", i+1)
	}
	// Cinder's default intervals: the bench measures a deployment as it would run.
	opts := cluster.Options{
		BinDir: binDir, Servers: servers, Name: "scoria_bench", VolumeHosts: hosts, Debug: debug,
		ReportInterval: 10, ServiceDownTime: 60, PeriodicInterval: 60, KeepDir: keep, Logf: logf,
	}
	var nfs *nfsBackend
	if backend == backendNFS {
		b, err := newNFSBackend(ctx)
		if err != nil {
			return err
		}
		nfs = b
		defer nfs.close()
		opts.Volumes = nfs.volumes(hosts)
		logf("volume processes on the NFS shares %s, each in a private mount namespace", strings.Join(nfs.env.Shares, ", "))
	}
	var tgt *tgtExport
	if cfg.Attach {
		t, err := newTGTExport()
		if err != nil {
			return err
		}
		tgt = t
		defer tgt.close()
		opts.Volumes = tgt.volumes(hosts)
		logf("exporting through tgtd with CHAP, target prefix %s", tgt.prefix)
	}
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()

	cfg.Endpoint, cfg.Project, cfg.Progress = c.Endpoint(), c.Project, os.Stderr
	services := map[string][]int{
		"scoria-api":       {c.Process(cluster.API).Pid()},
		"scoria-scheduler": {c.Process(cluster.Scheduler).Pid()},
	}
	for _, h := range hosts {
		services["scoria-volume"] = append(services["scoria-volume"], c.Process(cluster.VolumeProcess(h)).Pid())
	}
	use := newUsage(c.DB(), services, tgt != nil)
	cfg.Hook = use.hook
	var placed *placement
	if nfs != nil {
		// After the create phase (its usage measured first), the NFS side is asked where
		// the volumes are: outside the phases' wall times.
		cl := blockstorage.New(c.Endpoint(), c.Project)
		cfg.Hook = func(phase string, end bool) {
			use.hook(phase, end)
			if end && phase == createPhase {
				p := nfs.check(ctx, cl)
				placed = &p
			}
		}
	}
	lctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()
	var res *load.Result
	var cres *load.CopyResult
	if copies.Clones || copies.Snapshots {
		res, cres, err = load.RunCopies(lctx, cfg, copies)
	} else {
		res, err = load.Run(lctx, cfg)
	}
	if res != nil {
		export := "localfile"
		if tgt != nil {
			export += ", exported by tgtd with CHAP"
		}
		if nfs != nil {
			export = nfs.describe()
		}
		fmt.Printf("\nScoria split services on MariaDB + RabbitMQ: 1 scoria-api, 1 scoria-scheduler, %d scoria-volume (%s), debug=%v\n", volumes, export, debug)
		res.WriteTable(os.Stdout)
		phases := res.Phases()
		if cres != nil {
			cres.WriteTable(os.Stdout, res.Config)
			phases = append(phases, cres.Phases()...)
		}
		use.write(os.Stdout, phases)
		fmt.Println()
		verdict := func(got, want float64) string {
			if got >= want {
				return "met"
			}
			return "MISSED"
		}
		fmt.Printf("target create→available ≥ %.0f vol/s at concurrency 20: %.1f vol/s, %s\n", targetCreates, res.Create.Rate(), verdict(res.Create.Rate(), targetCreates))
		if res.Get.Name != "" {
			fmt.Printf("target GET /volumes/{id} ≥ %.0f req/s: %.1f req/s, %s\n", targetGets, res.Get.Rate(), verdict(res.Get.Rate(), targetGets))
		}
	}
	if tgt != nil {
		if left := tgt.left(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "%d targets of this run are still exported by tgtd, e.g. %s\n", len(left), left[0])
			if err == nil && res != nil && res.Errors() == 0 {
				err = fmt.Errorf("%d targets left after every attachment was deleted", len(left))
			}
		}
	}
	if placed != nil {
		fmt.Printf("\nvolumes per share after the create phase (host's pool, file volume-<id> in the exported directory):")
		for _, s := range nfs.env.Shares {
			fmt.Printf(" %s %d", s, placed.perShare[s])
		}
		fmt.Println()
		if placed.err != nil && err == nil {
			err = fmt.Errorf("the volumes are not where the NFS driver puts them: %w", placed.err)
		}
	}
	if nfs != nil {
		if left := nfs.leftMounts(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "mounts of the volume processes are visible outside their namespaces: %s\n", strings.Join(left, ", "))
			if err == nil {
				err = fmt.Errorf("%d NFS mounts leaked into the bench's mount namespace", len(left))
			}
		}
	}
	if cerr := c.CheckProcesses(); cerr != nil {
		fmt.Fprintf(os.Stderr, "a service died during the run:\n%v\n", cerr)
	}
	if keep {
		fmt.Printf("logs: %s/logs\n", c.Dir)
	}
	if err != nil {
		return err
	}
	n := res.Errors()
	if cres != nil {
		n += cres.Errors()
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "logs of the services:\n%s", c.LogTails(20))
		return fmt.Errorf("%d operations failed", n)
	}
	return nil
}
