package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/volume"
)

// Exit statuses of volume reconcile.
const (
	exitClean    = 0
	exitFailure  = 1
	exitUsage    = 2
	exitFindings = 3
)

// reconcile is `volume reconcile`: the reconciler of each backend of this node (or the one
// --host names) run here, with the drivers built from the configuration. The drivers are not
// set up: a set-up may clean up after a crash (the local-file driver removes partial
// files), which is the running volume service's to do, not a bystander's.
func reconcile(cfg *config.Config, log *logrus.Logger, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("volume reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	onlyHost := fs.String("host", "", "reconcile only this backend, as host@backend")
	deleteOrphans := fs.Bool("delete-orphans", false, "delete the orphans unchanged for the grace period")
	grace := fs.Int("grace", int(volume.DefaultOrphanGrace/time.Second), "seconds an orphan is left alone after its last change")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 || *grace < 0 {
		fmt.Fprintln(stderr, "usage: scoria-manage volume reconcile [--host HOST@BACKEND] [--delete-orphans] [--grace SECONDS ≥ 0]")
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", binary, err)
		return exitFailure
	}
	if err := cfg.Require("database", "connection"); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	store, err := db.Open(ctx, cfg.Database.Connection)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	opts := volume.ReconcileOptions{DeleteOrphans: *deleteOrphans, Grace: time.Duration(*grace) * time.Second}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintln(w, "Host\tProblem\tKind\tID\tObject\tSize\tChanged\tStatus\tOutcome")
	status, matched := exitClean, false
	for _, b := range cfg.Backends {
		host := cfg.Default.Host + "@" + b.Name
		if *onlyHost != "" && *onlyHost != host {
			continue
		}
		matched = true
		drv, err := backend.New(b, cfg.Default.StatePath)
		if err != nil {
			return fail(err)
		}
		r := &volume.Reconciler{Host: host, Driver: drv, Store: store, Log: log.WithField("backend", b.Name)}
		rep, err := r.Reconcile(ctx, opts)
		if c, ok := drv.(interface{ Close() }); ok {
			c.Close()
		}
		if errors.Is(err, volume.ErrNoInventory) {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\t-\tnot reconciled: the %s driver cannot list its storage\n", host, b.VolumeDriver)
			continue
		}
		if err != nil {
			w.Flush()
			return fail(err)
		}
		for _, f := range rep.Findings {
			size, changed := "-", "-"
			if f.Problem == volume.ProblemOrphan {
				size = strconv.FormatInt(f.Object.Size, 10)
				if !f.Object.Changed.IsZero() {
					changed = f.Object.Changed.UTC().Format(time.RFC3339)
				}
			}
			st := f.Status
			if st == "" {
				st = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", host, f.Problem, f.Object.Kind, f.Object.ID, f.Object.Name, size, changed, st, f.Outcome)
			if f.Outcome != "deleted" {
				status = exitFindings
			}
		}
		fmt.Fprintf(w, "%s\tsummary\t-\t-\t-\t-\t-\t-\t%d objects, %d volumes, %d orphans (%d deleted), %d missing\n",
			host, rep.Objects, rep.Volumes, rep.Orphans(), rep.Deleted, rep.Missing())
	}
	if !matched {
		w.Flush()
		return fail(fmt.Errorf("no backend of this node is %q (enabled_backends: %v, host %s)", *onlyHost, cfg.Default.EnabledBackends, cfg.Default.Host))
	}
	return status
}
