// Command scoria-volume runs one volume service per enabled backend of this host (host@backend)
// and drives its storage.
package main

import (
	"context"

	"github.com/scoria/scoria/internal/launch"
)

func main() {
	launch.Main("scoria-volume", func(ctx context.Context, env *launch.Env) error {
		return env.RunVolume(ctx)
	})
}
