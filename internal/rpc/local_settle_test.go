package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpc/rpctest"
)

// TestLocalCastSettled: a CastSettled cast is settled only once a handler has finished with it
// for good — after it returned nil (also after failed attempts that were delivered again),
// panicked (dropped) or refused it as undeliverable (dropped) — never while it waits, is
// being handled, or is lost with a closed bus.
func TestLocalCastSettled(t *testing.T) {
	cases := []struct {
		name     string
		failures int  // attempts that return an error before one succeeds
		panics   bool // the handler panics instead
		// undeliverable: the handler refuses the message for good (rpc.ErrUndeliverable)
		undeliverable bool
	}{
		{name: "handled"},
		{name: "handled after a failed attempt", failures: 1},
		{name: "dropped by a panic", panics: true},
		{name: "dropped as undeliverable", undeliverable: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := rpc.NewLocal(rpctest.Logger(t))
			t.Cleanup(func() { l.Close() })
			var settled, attempts atomic.Int32
			release := make(chan struct{})
			target := rpc.Target{Topic: "sched"}
			if err := l.CastSettled(context.Background(), target, "create", 1, func() { settled.Add(1) }); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if settled.Load() != 0 {
				t.Fatal("settled while no server had the message")
			}
			rpctest.StartServer(t, l, target, func(ctx context.Context, msg *rpc.Message) (any, error) {
				n := attempts.Add(1)
				<-release
				if tc.panics {
					panic("boom")
				}
				if tc.undeliverable {
					return nil, fmt.Errorf("%w: unknown method", rpc.ErrUndeliverable)
				}
				if int(n) <= tc.failures {
					return nil, errors.New("not now")
				}
				return nil, nil
			})
			deadline := time.Now().Add(5 * time.Second)
			for attempts.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if settled.Load() != 0 {
				t.Fatal("settled while the handler runs")
			}
			close(release)
			deadline = time.Now().Add(5 * time.Second)
			for settled.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := settled.Load(); got != 1 {
				t.Fatalf("settled %d times, want 1 (attempts %d)", got, attempts.Load())
			}
			if want := int32(tc.failures + 1); attempts.Load() != want {
				t.Fatalf("attempts %d, want %d", attempts.Load(), want)
			}
		})
	}

	t.Run("lost with a closed bus", func(t *testing.T) {
		l := rpc.NewLocal(rpctest.Logger(t))
		var settled atomic.Int32
		if err := l.CastSettled(context.Background(), rpc.Target{Topic: "sched"}, "create", 1, func() { settled.Add(1) }); err != nil {
			t.Fatal(err)
		}
		l.Close()
		if settled.Load() != 0 {
			t.Fatal("a cast no handler ever saw was settled")
		}
	})
}
