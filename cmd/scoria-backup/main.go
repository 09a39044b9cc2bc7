// Command scoria-backup runs the backup service of this host: it takes, restores, deletes,
// exports and imports volume backups with the configured backup driver.
package main

import (
	"context"

	"github.com/scoria/scoria/internal/launch"
)

func main() {
	launch.Main("scoria-backup", func(ctx context.Context, env *launch.Env) error {
		return env.RunBackup(ctx)
	})
}
