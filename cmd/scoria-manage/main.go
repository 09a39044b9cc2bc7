// Command scoria-manage administers a Scoria deployment: database schema (db sync, db
// version), services (service list), policy (policy defaults), as cinder-manage and
// oslopolicy-sample-generator do, and the storage of this node's backends (volume reconcile).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/launch"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/resource"
)

const binary = "scoria-manage"

const usage = `usage: scoria-manage [--config-file FILE]... COMMAND
commands:
  db sync        apply the database migrations ([database] connection)
  db version     print the schema version
  service list   list the registered services and whether they are up
  policy defaults  print Cinder's default policy rules as an oslo.policy YAML file
  volume reconcile [--host HOST@BACKEND] [--delete-orphans] [--grace SECONDS]
                 compare the storage of this node's backends (enabled_backends) with the
                 database: objects no volume or snapshot owns (orphans) and volumes or
                 snapshots whose object is gone (missing). It runs here, on the volume host,
                 with the backend sections of the configuration, beside a running
                 scoria-volume. Nothing is deleted unless --delete-orphans is given, and then
                 only orphans unchanged for --grace seconds (default 600) whose row is still
                 absent. Exit status: 0 nothing left to report, 3 findings left, 1 failure.
`

func main() {
	cfg, log, closer, rest, err := launch.Boot(binary, os.Args[1:], launch.DefaultConfigFile)
	if err != nil {
		launch.Fatal(binary, err)
	}
	defer closer.Close()
	log.SetOutput(os.Stderr)
	cmd := strings.Join(rest, " ")
	if len(rest) >= 2 && rest[0] == "volume" && rest[1] == "reconcile" {
		code := reconcile(cfg, log, rest[2:], os.Stdout, os.Stderr)
		closer.Close()
		os.Exit(code)
	}
	switch cmd {
	case "db sync", "db version", "service list":
	case "policy defaults":
		if err := policy.WriteDefaults(os.Stdout); err != nil {
			launch.Fatal(binary, err)
		}
		return
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cfg.Require("database", "connection"); err != nil {
		launch.Fatal(binary, err)
	}
	store, err := db.Open(ctx, cfg.Database.Connection)
	if err != nil {
		launch.Fatal(binary, err)
	}
	defer store.Close()
	switch cmd {
	case "db sync":
		if err := store.Migrate(ctx); err != nil {
			launch.Fatal(binary, err)
		}
		v, _ := store.SchemaVersion(ctx)
		fmt.Printf("database schema at version %d\n", v)
	case "db version":
		v, err := store.SchemaVersion(ctx)
		if err != nil {
			launch.Fatal(binary, err)
		}
		fmt.Println(v)
	case "service list":
		services, err := store.ListServices(ctx, resource.ServiceFilter{})
		if err != nil {
			launch.Fatal(binary, err)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "Binary\tHost\tZone\tStatus\tState\tUpdated At")
		now := time.Now().UTC()
		for _, s := range services {
			status, state := "enabled", "XXX"
			if s.Disabled {
				status = "disabled"
			}
			if s.Up(now, cfg.Default.ServiceDownTime) {
				state = ":-)"
			}
			updated := s.CreatedAt
			if s.UpdatedAt != nil {
				updated = *s.UpdatedAt
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Binary, s.Host, s.AvailabilityZone, status, state, updated.Format("2006-01-02 15:04:05"))
		}
		w.Flush()
	}
}
