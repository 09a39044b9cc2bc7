// Command scoria runs all of Scoria in one process — API, scheduler and a volume service —
// on an embedded default: a SQLite database, the in-process message bus and a local-file
// backend under a data directory. It is how a newcomer starts Scoria with one command.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/scoria/scoria/internal/launch"
	"github.com/scoria/scoria/internal/service"
)

const binary = "scoria"

// defaultConfig is written to the data directory on first start; edit it to change anything.
const defaultConfig = `# Written by scoria on first start. Every option of cinder.conf that Scoria implements
# may be set here; see etc/scoria.conf.sample.
[DEFAULT]
state_path = %[1]s
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
auth_strategy = noauth
# Empty transport_url: the in-process message bus.
transport_url =
enabled_backends = local

[database]
connection = sqlite:///%[1]s/scoria.db

[local]
volume_driver = localfile
volume_backend_name = local
local_volume_dir = %[1]s/volumes
`

func main() {
	dataDir, args, err := splitDataDir(os.Args[1:])
	if err != nil {
		launch.Fatal(binary, err)
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		launch.Fatal(binary, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		launch.Fatal(binary, fmt.Errorf("create data directory: %w", err))
	}
	generated := filepath.Join(dir, "scoria.conf")
	if _, err := os.Stat(generated); os.IsNotExist(err) {
		if err := os.WriteFile(generated, []byte(fmt.Sprintf(defaultConfig, dir)), 0o640); err != nil {
			launch.Fatal(binary, fmt.Errorf("write %s: %w", generated, err))
		}
	}
	// The generated file comes first, so --config-file options given by the user win.
	cfg, log, closer, _, err := launch.Boot(binary, append([]string{"--config-file", generated}, args...))
	if err != nil {
		launch.Fatal(binary, err)
	}
	defer closer.Close()
	ctx, stop := service.SignalContext()
	defer stop()
	env, err := launch.Open(ctx, cfg, log, true)
	if err != nil {
		launch.Fatal(binary, err)
	}
	defer env.Close()

	ready := make(chan string, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return env.RunVolume(gctx) })
	g.Go(func() error { return env.RunScheduler(gctx) })
	g.Go(func() error {
		// A backup service that cannot start (no usable backup driver) leaves the rest running.
		if err := env.RunBackup(gctx); err != nil && gctx.Err() == nil {
			log.WithError(err).Error("backup service not running; backups are unavailable")
		}
		return nil
	})
	g.Go(func() error { return env.RunAPI(gctx, ready) })
	go func() {
		select {
		case addr := <-ready:
			fmt.Printf("\nScoria is running: Block Storage API v3 at http://%s/v3\n", addr)
			fmt.Printf("Data directory: %s (configuration: %s)\n\nTry:\n", dir, generated)
			fmt.Printf("  cinder --os-auth-type noauth --os-endpoint http://%s/v3 --os-project-id demo --os-user-id demo create --name v1 1\n", addr)
			fmt.Printf("  cinder --os-auth-type noauth --os-endpoint http://%s/v3 --os-project-id demo --os-user-id demo list\n\n", addr)
		case <-gctx.Done():
		}
	}()
	if err := g.Wait(); err != nil && ctx.Err() == nil {
		env.Close()
		launch.Fatal(binary, err)
	}
	log.Info("stopped")
}

// splitDataDir takes --data-dir DIR (or --data-dir=DIR) out of args; the rest are
// oslo-style options (--config-file, --config-dir) for the configuration loader.
func splitDataDir(args []string) (string, []string, error) {
	dir := "scoria-data"
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--data-dir":
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("--data-dir needs a directory")
			}
			dir = args[i+1]
			i++
		case strings.HasPrefix(a, "--data-dir="):
			dir = strings.TrimPrefix(a, "--data-dir=")
		case a == "-h" || a == "--help":
			fmt.Println("usage: scoria [--data-dir DIR] [--config-file FILE]...")
			os.Exit(0)
		default:
			rest = append(rest, a)
		}
	}
	return dir, rest, nil
}
