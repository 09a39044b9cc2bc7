package cluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// BuiltOnce is the binaries of one test process: built (Build) into a temporary directory by
// the first test that asks for them, shared by the others, removed by Remove from TestMain.
type BuiltOnce struct {
	Prefix string // of the temporary directory's name, e.g. "scoria-e2e-bin-"

	once sync.Once
	dir  string
	err  error
}

// Dir returns the directory of the binaries, building them the first time; a failed build
// fails t (and every later caller).
func (b *BuiltOnce) Dir(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", b.Prefix)
		if err != nil {
			b.err = err
			return
		}
		b.dir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		b.err = Build(ctx, dir)
		t.Logf("built the binaries in %s", time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatalf("build: %v", b.err)
	}
	return b.dir
}

// Remove removes the binaries' directory, if they were built.
func (b *BuiltOnce) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// Unavailable skips t because something it needs is missing, or fails it when CI=true: in CI
// nothing may be left out silently.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, and %s", msg)
	}
	t.Skip(msg)
}
