// Package rpctest is the conformance suite of rpc.Transport: one table of behaviours that
// every transport (the in-process Local, AMQP) must show, and the helpers to drive them.
package rpctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpc"
)

// NewBus starts one isolated bus for test t and returns a function that makes transports
// connected to it (the same one every time, or a new connection each time). The bus closes
// them, and cleans up whatever it created, when t ends.
type NewBus func(t *testing.T) func() rpc.Transport

// Run runs every behaviour of the suite as a subtest of t, each on its own bus.
func Run(t *testing.T, newBus NewBus) {
	for _, c := range behaviours {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newBus(t))
		})
	}
}

// Logger returns a logger that writes to t's log until t ends, and discards afterwards (a
// transport's goroutines may log while they stop).
func Logger(t testing.TB) *logrus.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	log := logrus.New()
	log.SetOutput(w)
	log.SetLevel(logrus.DebugLevel)
	return log
}

type testWriter struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// Echo is what the suite's servers answer: what they received and who they are.
type Echo struct {
	Server  string          `json:"server"`
	ID      string          `json:"id"`
	Method  string          `json:"method"`
	Args    json.RawMessage `json:"args"`
	Context reqctx.Context  `json:"context"`
}

// readyMethod is the fanout with which WaitReady finds out that servers listen.
const readyMethod = "rpctest.ready"

// Server is one Serve started by StartServer: its received messages and its end.
type Server struct {
	Name string
	// Received gets every message the handler saw, except readiness probes.
	Received chan *rpc.Message

	ready    chan struct{}
	once     sync.Once
	cancel   context.CancelFunc
	returned chan error
}

// StartServer runs tr.Serve(target) in a goroutine with a handler that records each message
// in Received and then runs h (nil: answer an Echo). The Serve stops when t ends.
func StartServer(t testing.TB, tr rpc.Transport, target rpc.Target, h rpc.Handler) *Server {
	t.Helper()
	s := &Server{
		Name:     target.String(),
		Received: make(chan *rpc.Message, 1024),
		ready:    make(chan struct{}),
		returned: make(chan error, 1),
	}
	if h == nil {
		h = func(ctx context.Context, msg *rpc.Message) (any, error) {
			return Echo{Server: target.Server, ID: msg.ID, Method: msg.Method, Args: msg.Args, Context: reqctx.From(ctx)}, nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		s.returned <- tr.Serve(ctx, target, func(ctx context.Context, msg *rpc.Message) (any, error) {
			if msg.Method == readyMethod {
				s.once.Do(func() { close(s.ready) })
				return nil, nil
			}
			select {
			case s.Received <- msg:
			default:
			}
			return h(ctx, msg)
		})
	}()
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop cancels the Serve and waits for it to return, which it must within 10 s.
func (s *Server) Stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.returned:
		s.returned <- err // later Stops see it too
		return err
	case <-time.After(10 * time.Second):
		t.Errorf("Serve of %s did not return 10s after its ctx ended", s.Name)
		return nil
	}
}

// WaitReady fans readiness probes out on topic through tr until every server has seen one,
// so a test's fanouts and calls do not race the servers' subscriptions.
func WaitReady(t testing.TB, tr rpc.Transport, topic string, servers ...*Server) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var waiting []string
		for _, s := range servers {
			select {
			case <-s.ready:
			default:
				waiting = append(waiting, s.Name)
			}
		}
		if len(waiting) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers %v not listening on %q after 15s", waiting, topic)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := tr.Fanout(ctx, topic, readyMethod, nil); err != nil {
			t.Logf("readiness fanout on %q: %v", topic, err)
		}
		cancel()
		for _, s := range servers { // give this probe 50 ms to arrive
			select {
			case <-s.ready:
				continue
			case <-time.After(50 * time.Millisecond):
			}
			break
		}
	}
}

// Receive returns the next message s received, failing t after within.
func (s *Server) Receive(t testing.TB, within time.Duration) *rpc.Message {
	t.Helper()
	select {
	case msg := <-s.Received:
		return msg
	case <-time.After(within):
		t.Fatalf("server %s received nothing within %s", s.Name, within)
		return nil
	}
}

// ExpectNothing fails t when s receives a message within d.
func (s *Server) ExpectNothing(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case msg := <-s.Received:
		t.Errorf("server %s received %s (args %s), want nothing", s.Name, msg.Method, msg.Args)
	case <-time.After(d):
	}
}

func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var testContext = reqctx.Context{
	RequestID: "req-6f1c2a7e-0000-4000-8000-000000000001",
	UserID:    "user-1",
	ProjectID: "project-1",
	Roles:     []string{"member", "reader"},
	IsAdmin:   true,
}

type behaviour struct {
	name string
	run  func(t *testing.T, newTransport func() rpc.Transport)
}

var behaviours = []behaviour{
	{"call returns the reply and carries the request context", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		a := StartServer(t, srv, rpc.Target{Topic: "vol", Server: "a"}, nil)
		WaitReady(t, cli, "vol", a)
		for _, target := range []rpc.Target{{Topic: "vol"}, {Topic: "vol", Server: "a"}} {
			var got Echo
			ctx := reqctx.With(withTimeout(t, 10*time.Second), testContext)
			if err := cli.Call(ctx, target, "create_volume", map[string]any{"size": 1}, &got); err != nil {
				t.Fatalf("Call %s: %v", target, err)
			}
			if got.Server != "a" || got.Method != "create_volume" || string(got.Args) != `{"size":1}` || got.ID == "" {
				t.Errorf("Call %s: handler got %+v", target, got)
			}
			if !reflect.DeepEqual(got.Context, testContext) {
				t.Errorf("Call %s: handler's context = %+v, want %+v", target, got.Context, testContext)
			}
		}
		if err := cli.Call(withTimeout(t, 10*time.Second), rpc.Target{Topic: "vol"}, "ping", nil, nil); err != nil {
			t.Errorf("Call with a nil reply: %v", err)
		}
	}},
	{"call to a server's own queue reaches only that server", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		a := StartServer(t, srv, rpc.Target{Topic: "vol", Server: "a"}, nil)
		b := StartServer(t, nt(), rpc.Target{Topic: "vol", Server: "b"}, nil)
		WaitReady(t, cli, "vol", a, b)
		for i := range 10 {
			var got Echo
			if err := cli.Call(withTimeout(t, 10*time.Second), rpc.Target{Topic: "vol", Server: "b"}, "ping", i, &got); err != nil {
				t.Fatalf("Call %d: %v", i, err)
			}
			if got.Server != "b" {
				t.Fatalf("Call %d to vol.b answered by %q", i, got.Server)
			}
		}
	}},
	{"calls to a topic are shared round robin between its servers", func(t *testing.T, nt func() rpc.Transport) {
		cli := nt()
		a := StartServer(t, nt(), rpc.Target{Topic: "vol", Server: "a"}, nil)
		b := StartServer(t, nt(), rpc.Target{Topic: "vol", Server: "b"}, nil)
		WaitReady(t, cli, "vol", a, b)
		count := map[string]int{}
		for i := range 20 {
			var got Echo
			if err := cli.Call(withTimeout(t, 10*time.Second), rpc.Target{Topic: "vol"}, "ping", i, &got); err != nil {
				t.Fatalf("Call %d: %v", i, err)
			}
			count[got.Server]++
		}
		if count["a"] < 5 || count["b"] < 5 || count["a"]+count["b"] != 20 {
			t.Errorf("20 calls answered %v, want both servers about half", count)
		}
	}},
	{"cast reaches the handler with the request context", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		a := StartServer(t, srv, rpc.Target{Topic: "vol", Server: "a"}, nil)
		WaitReady(t, cli, "vol", a)
		ctx := reqctx.With(withTimeout(t, 10*time.Second), testContext)
		if err := cli.Cast(ctx, rpc.Target{Topic: "vol", Server: "a"}, "delete_volume", map[string]string{"id": "v1"}); err != nil {
			t.Fatalf("Cast: %v", err)
		}
		msg := a.Receive(t, 10*time.Second)
		if msg.Method != "delete_volume" || string(msg.Args) != `{"id":"v1"}` || msg.ID == "" {
			t.Errorf("handler got %+v", msg)
		}
		if !reflect.DeepEqual(msg.Context, testContext) {
			t.Errorf("message context = %+v, want %+v", msg.Context, testContext)
		}
	}},
	{"a cast whose handler fails is delivered again after a pause; one that panics is dropped", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		var failed sync.Once
		a := StartServer(t, srv, rpc.Target{Topic: "retry", Server: "a"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
			if msg.Method == "boom" {
				panic("boom")
			}
			var err error
			failed.Do(func() { err = errors.New("database unavailable") })
			return nil, err
		})
		WaitReady(t, cli, "retry", a)
		ctx := withTimeout(t, 10*time.Second)
		if err := cli.Cast(ctx, rpc.Target{Topic: "retry", Server: "a"}, "delete_volume", nil); err != nil {
			t.Fatalf("Cast: %v", err)
		}
		first := a.Receive(t, 10*time.Second)
		at := time.Now()
		again := a.Receive(t, 10*time.Second)
		if again.ID != first.ID {
			t.Fatalf("second delivery is message %s, want %s again", again.ID, first.ID)
		}
		if waited := time.Since(at); waited < rpc.CastRetryDelay/2 {
			t.Errorf("redelivered after %v, want a pause of about %v", waited, rpc.CastRetryDelay)
		}
		a.ExpectNothing(t, rpc.CastRetryDelay+500*time.Millisecond) // it succeeded: no third delivery
		if err := cli.Cast(ctx, rpc.Target{Topic: "retry", Server: "a"}, "boom", nil); err != nil {
			t.Fatalf("Cast: %v", err)
		}
		a.Receive(t, 10*time.Second)
		a.ExpectNothing(t, rpc.CastRetryDelay+500*time.Millisecond)
	}},
	{"an undeliverable message (unknown method, undecodable arguments) is never delivered again; a call gets the error", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		r := rpc.NewRouter("rpctest", Logger(t))
		rpc.OnCast(r, "resize", func(ctx context.Context, args struct {
			Size int `json:"size"`
		}) error {
			return nil
		})
		a := StartServer(t, srv, rpc.Target{Topic: "dead", Server: "a"}, r.Handle)
		WaitReady(t, cli, "dead", a)
		ctx := withTimeout(t, 10*time.Second)
		for _, c := range []struct {
			method string
			args   any
		}{
			{"no_such_method", nil},
			{"resize", map[string]string{"size": "not a number"}},
		} {
			if err := cli.Cast(ctx, rpc.Target{Topic: "dead", Server: "a"}, c.method, c.args); err != nil {
				t.Fatalf("Cast %s: %v", c.method, err)
			}
			a.Receive(t, 10*time.Second)
			a.ExpectNothing(t, rpc.CastRetryDelay+500*time.Millisecond) // not redelivered
			var remote *rpc.RemoteError
			err := cli.Call(ctx, rpc.Target{Topic: "dead", Server: "a"}, c.method, c.args, nil)
			if !errors.As(err, &remote) || !strings.Contains(remote.Message, "undeliverable") {
				t.Errorf("Call %s: error %v, want a RemoteError saying undeliverable", c.method, err)
			}
			a.Receive(t, 10*time.Second)
		}
		// The queue still works: a good message goes through once.
		if err := cli.Cast(ctx, rpc.Target{Topic: "dead", Server: "a"}, "resize", map[string]int{"size": 2}); err != nil {
			t.Fatalf("Cast: %v", err)
		}
		a.Receive(t, 10*time.Second)
		a.ExpectNothing(t, 300*time.Millisecond)
	}},
	{"cast before any server is held until one serves", func(t *testing.T, nt func() rpc.Transport) {
		cli := nt()
		ctx := withTimeout(t, 10*time.Second)
		for _, target := range []rpc.Target{{Topic: "late", Server: "a"}, {Topic: "late"}} {
			if err := cli.Cast(ctx, target, "for_"+target.String(), nil); err != nil {
				t.Fatalf("Cast %s: %v", target, err)
			}
		}
		a := StartServer(t, nt(), rpc.Target{Topic: "late", Server: "a"}, nil)
		got := map[string]bool{}
		for range 2 {
			got[a.Receive(t, 10*time.Second).Method] = true
		}
		if !got["for_late.a"] || !got["for_late"] {
			t.Errorf("late server received %v, want both held casts", got)
		}
	}},
	{"fanout reaches every listener of its topic and no other", func(t *testing.T, nt func() rpc.Transport) {
		cli := nt()
		a := StartServer(t, nt(), rpc.Target{Topic: "vol", Server: "a"}, nil)
		b := StartServer(t, nt(), rpc.Target{Topic: "vol", Server: "b"}, nil)
		c := StartServer(t, nt(), rpc.Target{Topic: "sched", Server: "c"}, nil)
		WaitReady(t, cli, "vol", a, b)
		WaitReady(t, cli, "sched", c)
		ctx := reqctx.With(withTimeout(t, 10*time.Second), testContext)
		if err := cli.Fanout(ctx, "vol", "publish_capabilities", struct{}{}); err != nil {
			t.Fatalf("Fanout: %v", err)
		}
		for _, s := range []*Server{a, b} {
			msg := s.Receive(t, 10*time.Second)
			if msg.Method != "publish_capabilities" || msg.Context.RequestID != testContext.RequestID {
				t.Errorf("%s got %+v", s.Name, msg)
			}
		}
		c.ExpectNothing(t, 300*time.Millisecond)
		a.ExpectNothing(t, 0)
	}},
	{"fanout is not kept for servers that were not listening", func(t *testing.T, nt func() rpc.Transport) {
		cli := nt()
		if err := cli.Fanout(withTimeout(t, 10*time.Second), "vol", "early", nil); err != nil {
			t.Fatalf("Fanout without listeners: %v", err)
		}
		a := StartServer(t, nt(), rpc.Target{Topic: "vol", Server: "a"}, nil)
		WaitReady(t, cli, "vol", a)
		if err := cli.Fanout(withTimeout(t, 10*time.Second), "vol", "late", nil); err != nil {
			t.Fatalf("Fanout: %v", err)
		}
		if msg := a.Receive(t, 10*time.Second); msg.Method != "late" {
			t.Errorf("listener got %q first, want only the fanout sent while it listened", msg.Method)
		}
	}},
	{"call without a server fails with ErrTimeout at its deadline", func(t *testing.T, nt func() rpc.Transport) {
		cli := nt()
		for _, target := range []rpc.Target{{Topic: "nobody"}, {Topic: "nobody", Server: "x"}} {
			assertTimeout(t, cli, target, 400*time.Millisecond)
		}
	}},
	{"call to a server that is gone times out, and is not handled later", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		target := rpc.Target{Topic: "vol", Server: "a"}
		a := StartServer(t, srv, target, nil)
		WaitReady(t, cli, "vol", a)
		if err := a.Stop(t); err != nil {
			t.Fatalf("Serve returned %v after its ctx ended, want nil", err)
		}
		assertTimeout(t, cli, target, 500*time.Millisecond)
		again := StartServer(t, srv, target, nil)
		WaitReady(t, cli, "vol", again)
		again.ExpectNothing(t, 300*time.Millisecond)
	}},
	{"handler error and panic come back as RemoteError", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		a := StartServer(t, srv, rpc.Target{Topic: "vol", Server: "a"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
			if msg.Method == "panic" {
				panic("boom")
			}
			return nil, errors.New("volume v1 not found")
		})
		WaitReady(t, cli, "vol", a)
		tests := []struct{ method, message string }{
			{"fail", "volume v1 not found"},
			{"panic", "handler panicked: boom"},
		}
		for _, tc := range tests {
			err := cli.Call(withTimeout(t, 10*time.Second), rpc.Target{Topic: "vol"}, tc.method, nil, nil)
			var re *rpc.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Call %s: error %v (%T), want *rpc.RemoteError", tc.method, err, err)
			}
			if re.Method != tc.method || re.Message != tc.message {
				t.Errorf("Call %s: RemoteError %+v, want message %q", tc.method, re, tc.message)
			}
		}
	}},
	{"handlers run concurrently", func(t *testing.T, nt func() rpc.Transport) {
		const n = 16
		var mu sync.Mutex
		arrived := 0
		all := make(chan struct{})
		srv, cli := nt(), nt()
		a := StartServer(t, srv, rpc.Target{Topic: "vol", Server: "a"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
			mu.Lock()
			arrived++
			if arrived == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
				return "ok", nil
			case <-time.After(10 * time.Second):
				mu.Lock()
				defer mu.Unlock()
				return nil, fmt.Errorf("only %d of %d handlers ran at once", arrived, n)
			}
		})
		WaitReady(t, cli, "vol", a)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				var got string
				if err := cli.Call(withTimeout(t, 20*time.Second), rpc.Target{Topic: "vol"}, "slow", i, &got); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}},
	{"close fails pending calls and ends Serve", func(t *testing.T, nt func() rpc.Transport) {
		srv, cli := nt(), nt()
		started := make(chan struct{}, 1)
		target := rpc.Target{Topic: "vol", Server: "a"}
		a := StartServer(t, srv, target, func(ctx context.Context, msg *rpc.Message) (any, error) {
			started <- struct{}{}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(20 * time.Second):
				return nil, errors.New("handler was not cancelled")
			}
		})
		WaitReady(t, cli, "vol", a)
		callErr := make(chan error, 1)
		go func() { callErr <- cli.Call(withTimeout(t, 30*time.Second), target, "slow", nil, nil) }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("handler did not start")
		}
		if err := cli.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-callErr:
			if !errors.Is(err, rpc.ErrClosed) {
				t.Errorf("pending Call after Close: %v, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("pending Call did not return after Close")
		}
		if err := cli.Cast(withTimeout(t, 5*time.Second), target, "late", nil); !errors.Is(err, rpc.ErrClosed) {
			t.Errorf("Cast after Close: %v, want ErrClosed", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close of the server's transport: %v", err)
		}
		select {
		case err := <-a.returned:
			a.returned <- err
			if !errors.Is(err, rpc.ErrClosed) {
				t.Errorf("Serve after Close returned %v, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after Close")
		}
	}},
	{"bad arguments and targets fail before sending", func(t *testing.T, nt func() rpc.Transport) {
		cli := nt()
		ctx := withTimeout(t, 5*time.Second)
		if err := cli.Cast(ctx, rpc.Target{Topic: "vol"}, "x", make(chan int)); err == nil {
			t.Error("Cast of unmarshallable args succeeded")
		}
		if err := cli.Call(ctx, rpc.Target{}, "x", nil, nil); err == nil {
			t.Error("Call without a topic succeeded")
		}
		if err := cli.Serve(ctx, rpc.Target{}, func(context.Context, *rpc.Message) (any, error) { return nil, nil }); err == nil {
			t.Error("Serve without a topic succeeded")
		}
	}},
}

// assertTimeout calls target with a deadline of d and checks that it fails with ErrTimeout
// neither before the deadline nor much after it.
func assertTimeout(t *testing.T, tr rpc.Transport, target rpc.Target, d time.Duration) {
	t.Helper()
	start := time.Now() // before the deadline is set: a busy machine may pause between the two
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := tr.Call(ctx, target, "ping", nil, nil)
	took := time.Since(start)
	if !errors.Is(err, rpc.ErrTimeout) {
		t.Errorf("Call %s without a server: %v, want ErrTimeout", target, err)
	}
	if took < d-10*time.Millisecond || took > d+3*time.Second {
		t.Errorf("Call %s returned after %s, want about %s", target, took, d)
	}
}
