package rpc_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpc/rpctest"
)

func TestLocalConformance(t *testing.T) {
	rpctest.Run(t, func(t *testing.T) func() rpc.Transport {
		l := rpc.NewLocal(rpctest.Logger(t))
		t.Cleanup(func() { l.Close() })
		return func() rpc.Transport { return l }
	})
}

// A server that stops gives the messages it had not finished back to its queue, as an
// AMQP consumer's unacked messages are requeued: another server handles them all.
func TestLocalStoppingServerRequeues(t *testing.T) {
	l := rpc.NewLocal(rpctest.Logger(t))
	t.Cleanup(func() { l.Close() })
	const n = rpc.LocalWorkers + 10

	a := rpctest.StartServer(t, l, rpc.Target{Topic: "vol", Server: "a"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
		<-ctx.Done() // never finishes while serving
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		if err := l.Cast(ctx, rpc.Target{Topic: "vol"}, "create", i); err != nil {
			t.Fatalf("Cast %d: %v", i, err)
		}
	}
	for range rpc.LocalWorkers { // a's pool is full, the rest waits in its inbox
		a.Receive(t, 5*time.Second)
	}

	var mu sync.Mutex
	handled := map[int]int{}
	b := rpctest.StartServer(t, l, rpc.Target{Topic: "vol", Server: "b"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
		var i int
		if err := json.Unmarshal(msg.Args, &i); err != nil {
			return nil, err
		}
		mu.Lock()
		handled[i]++
		mu.Unlock()
		return nil, nil
	})
	_ = b
	if err := a.Stop(t); err != nil {
		t.Fatalf("Serve of a: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(handled)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b handled %d distinct casts of %d after a stopped", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Casts held while a queue had no server are shared round robin once servers appear.
func TestLocalHeldCastsThenRoundRobin(t *testing.T) {
	l := rpc.NewLocal(rpctest.Logger(t))
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := l.Cast(ctx, rpc.Target{Topic: "vol"}, "held", i); err != nil {
			t.Fatal(err)
		}
	}
	a := rpctest.StartServer(t, l, rpc.Target{Topic: "vol", Server: "a"}, nil)
	for range 3 {
		if msg := a.Receive(t, 5*time.Second); msg.Method != "held" {
			t.Errorf("first server got %q, want the held casts", msg.Method)
		}
	}
	b := rpctest.StartServer(t, l, rpc.Target{Topic: "vol", Server: "b"}, nil)
	rpctest.WaitReady(t, l, "vol", a, b)
	for i := range 4 {
		if err := l.Cast(ctx, rpc.Target{Topic: "vol"}, "shared", i); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*rpctest.Server{a, b} {
		for range 2 {
			if msg := s.Receive(t, 5*time.Second); msg.Method != "shared" {
				t.Errorf("%s got %q", s.Name, msg.Method)
			}
		}
	}
}
