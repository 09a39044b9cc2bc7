// Command scoria-api serves the Block Storage API v3 (Cinder-compatible) and hands accepted
// requests to the scheduler and volume services over the message bus.
package main

import (
	"context"

	"github.com/scoria/scoria/internal/launch"
)

func main() {
	launch.Main("scoria-api", func(ctx context.Context, env *launch.Env) error {
		return env.RunAPI(ctx, nil)
	})
}
