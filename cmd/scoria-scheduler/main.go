// Command scoria-scheduler places new volumes on backend pools reported by the volume services.
package main

import (
	"context"

	"github.com/scoria/scoria/internal/launch"
)

func main() {
	launch.Main("scoria-scheduler", func(ctx context.Context, env *launch.Env) error {
		return env.RunScheduler(ctx)
	})
}
