package nfsjudge

import (
	"context"
	"os"
	"testing"
	"time"
)

// Require returns the test NFS server's Env once its first share answers MOUNT; without it
// the test skips, or fails when CI=true (where .ci/run starts the server).
func Require(t testing.TB) Env {
	t.Helper()
	e, err := LoadEnv()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		host, export := Split(e.Shares[0])
		err = Mount(ctx, host, export)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("test NFS server (deploy/nfs/nfs-up.sh) needed under CI=true: %v", err)
		}
		t.Skipf("no test NFS server (start it with deploy/nfs/nfs-up.sh): %v", err)
	}
	return e
}
