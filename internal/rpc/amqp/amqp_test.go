package amqp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpc/rpctest"
)

// The integration tests run against the RabbitMQ at SCORIA_TEST_RABBIT_URL (default
// rabbit://guest:guest@127.0.0.1:5672/). They skip with -short or when it cannot be reached,
// and fail instead of skipping an unreachable broker when CI=true.

const defaultRabbitURL = "rabbit://guest:guest@127.0.0.1:5672/"

var probe struct {
	once sync.Once
	url  string // the reachable AMQP url
	err  error
}

// rabbitURL returns the test broker's transport url, or ends t when there is none.
func rabbitURL(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (needs RabbitMQ); skipped with -short")
	}
	raw := os.Getenv("SCORIA_TEST_RABBIT_URL")
	if raw == "" {
		raw = defaultRabbitURL
	}
	probe.once.Do(func() {
		urls, err := parseURL(raw)
		if err != nil {
			probe.err = err
			return
		}
		for _, u := range urls {
			conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(3 * time.Second)})
			if err == nil {
				_ = conn.Close()
				probe.url, probe.err = u, nil
				return
			}
			probe.err = err
		}
	})
	if probe.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ at SCORIA_TEST_RABBIT_URL (%s) unreachable with CI=true: %v", displayURLs(raw), probe.err)
		}
		t.Skipf("RabbitMQ unreachable (%v); set SCORIA_TEST_RABBIT_URL", probe.err)
	}
	return raw
}

func displayURLs(raw string) string {
	urls, err := parseURL(raw)
	if err != nil {
		return "(invalid url)"
	}
	for i, u := range urls {
		urls[i] = displayURL(u)
	}
	return strings.Join(urls, ",")
}

// testBus is one isolated namespace on the broker: a unique exchange and queue prefix.
type testBus struct {
	t    *testing.T
	url  string
	opts Options

	mu         sync.Mutex
	transports []*Transport
}

// newTestBus makes a namespace that is deleted, with every queue and exchange its
// transports declared, when t ends.
func newTestBus(t *testing.T) *testBus {
	url := rabbitURL(t)
	ns := "scoria-test-" + uuid.NewString()[:8]
	b := &testBus{t: t, url: url, opts: Options{
		Exchange:         ns,
		QueuePrefix:      ns + ".",
		ReconnectInitial: 50 * time.Millisecond,
		ReconnectMax:     500 * time.Millisecond,
		ConnectionName:   t.Name(),
	}}
	t.Cleanup(b.cleanup)
	return b
}

func (b *testBus) transport() *Transport {
	b.t.Helper()
	tr, err := New(b.url, b.opts, rpctest.Logger(b.t))
	if err != nil {
		b.t.Fatalf("New: %v", err)
	}
	b.mu.Lock()
	b.transports = append(b.transports, tr)
	b.mu.Unlock()
	return tr
}

func (b *testBus) cleanup() {
	b.mu.Lock()
	trs := b.transports
	b.mu.Unlock()
	names := map[string]string{b.opts.Exchange: "exchange"}
	for _, tr := range trs {
		_ = tr.Close()
		tr.mu.Lock()
		for name, kind := range tr.declared {
			names[name] = kind
		}
		tr.mu.Unlock()
	}
	conn, err := amqp.Dial(probe.url)
	if err != nil {
		b.t.Errorf("cleanup: cannot connect to delete %d queues and exchanges: %v", len(names), err)
		return
	}
	defer conn.Close()
	for name, kind := range names {
		ch, err := conn.Channel()
		if err != nil {
			b.t.Errorf("cleanup: %v", err)
			return
		}
		if kind == "queue" {
			_, err = ch.QueueDelete(name, false, false, false)
		} else {
			err = ch.ExchangeDelete(name, false, false)
		}
		if err != nil {
			b.t.Errorf("cleanup: delete %s %s: %v", kind, name, err)
		}
		_ = ch.Close()
	}
}

func TestConformance(t *testing.T) {
	rabbitURL(t)
	rpctest.Run(t, func(t *testing.T) func() rpc.Transport {
		b := newTestBus(t)
		return func() rpc.Transport { return b.transport() }
	})
}

// A transport url lists brokers; the first that answers is used.
func TestFirstReachableHost(t *testing.T) {
	b := newTestBus(t)
	scheme, rest, _ := strings.Cut(b.url, "://")
	b.url = scheme + "://guest:guest@127.0.0.1:1," + rest // nothing listens on port 1
	srv, cli := b.transport(), b.transport()
	s := rpctest.StartServer(t, srv, rpc.Target{Topic: "t", Server: "a"}, nil)
	rpctest.WaitReady(t, cli, "t", s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cli.Call(ctx, rpc.Target{Topic: "t"}, "ping", nil, nil); err != nil {
		t.Fatalf("Call through the second host: %v", err)
	}
}

// With no broker at all, calls time out at their deadline, casts end with their ctx, and
// Close returns: nothing hangs.
func TestUnreachableBroker(t *testing.T) {
	tr, err := New("rabbit://guest:guest@127.0.0.1:1/", Options{ReconnectMax: 200 * time.Millisecond}, rpctest.Logger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := tr.Call(ctx, rpc.Target{Topic: "t"}, "ping", nil, nil); !errors.Is(err, rpc.ErrTimeout) {
		t.Errorf("Call: %v, want ErrTimeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Call took %s", took)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := tr.Cast(ctx2, rpc.Target{Topic: "t"}, "x", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Cast: %v, want DeadlineExceeded", err)
	}
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- tr.Serve(context.Background(), rpc.Target{Topic: "t"}, func(context.Context, *rpc.Message) (any, error) { return nil, nil })
	}()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	go func() { _ = tr.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	if err := <-serveErr; !errors.Is(err, rpc.ErrClosed) {
		t.Errorf("Serve: %v, want ErrClosed", err)
	}
	if _, err := New("kombu://x", Options{}, rpctest.Logger(t)); err == nil {
		t.Error("New with a bad url succeeded")
	}
}

// The request id travels in an AMQP header too, and messages are persistent with ids.
func TestMessageProperties(t *testing.T) {
	b := newTestBus(t)
	tr := b.transport()
	conn, err := amqp.Dial(probe.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = reqctx.With(ctx, reqctx.Context{RequestID: "req-props"})
	if err := tr.Cast(ctx, rpc.Target{Topic: "props", Server: "x"}, "m", 1); err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(b.opts.QueuePrefix+"props.x", true)
	if err != nil || !ok {
		t.Fatalf("Get from the cast's queue: ok=%v err=%v", ok, err)
	}
	var msg rpc.Message
	if err := json.Unmarshal(d.Body, &msg); err != nil {
		t.Fatal(err)
	}
	if d.Headers[headerRequestID] != "req-props" || d.DeliveryMode != amqp.Persistent || d.MessageId != msg.ID || msg.ID == "" || msg.Method != "m" {
		t.Errorf("delivery headers %v mode %d id %q, message %+v", d.Headers, d.DeliveryMode, d.MessageId, msg)
	}
}

// rabbitmqctl runs the broker's control tool, failing t when it fails.
func rabbitmqctl(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Errorf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitBroker waits until the broker accepts connections again.
func waitBroker(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		conn, err := amqp.DialConfig(probe.url, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("broker not back %s after start_app: %v", within, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The broker restarts (rabbitmqctl stop_app, start_app) in the middle of a stream of 300
// casts and 100 calls from 4 goroutines, while one more call waits in its handler: every cast
// is handled at least once, every call gets its own reply (the waiting one is published
// again after the reconnection), and Serve goes on serving.
func TestBrokerRestart(t *testing.T) {
	// Restarting the broker disturbs every other package that uses it, and `go test ./...` runs
	// packages in parallel: `make test` runs this test alone, in a step of its own, with
	// SCORIA_TEST_BROKER_RESTART=1.
	if os.Getenv("SCORIA_TEST_BROKER_RESTART") != "1" {
		t.Skip("runs only with SCORIA_TEST_BROKER_RESTART=1 (make test runs it in its own step)")
	}
	b := newTestBus(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rabbitmqctl not found with CI=true: %v", err)
		}
		t.Skipf("rabbitmqctl not found: %v", err)
	}
	const (
		casts   = 300
		calls   = 100
		senders = 4
		pace    = 25 * time.Millisecond // per sender: the stream lasts about 2.5 s without the outage
		stopAt  = 80                    // messages sent when the restart begins
	)

	var mu sync.Mutex
	handled := map[string]int{}
	heldStarted, release := make(chan struct{}, 8), make(chan struct{})
	srv, cli := b.transport(), b.transport()
	server := rpctest.StartServer(t, srv, rpc.Target{Topic: "restart", Server: "s1"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
		var args struct{ ID string }
		if err := json.Unmarshal(msg.Args, &args); err != nil {
			return nil, err
		}
		if args.ID == "held" { // a call certainly waiting for its reply across the restart
			heldStarted <- struct{}{}
			<-release
		}
		time.Sleep(5 * time.Millisecond) // some messages are in a handler when the broker goes
		mu.Lock()
		handled[args.ID]++
		mu.Unlock()
		return "done-" + args.ID, nil
	})
	rpctest.WaitReady(t, cli, "restart", server)

	type op struct {
		id     string
		call   bool
		target rpc.Target
	}
	ops := make(chan op, casts+calls)
	var castIDs []string
	for i := range casts + calls {
		o := op{id: fmt.Sprintf("m%03d", i), call: i%4 == 3, target: rpc.Target{Topic: "restart"}}
		if !o.call {
			castIDs = append(castIDs, o.id)
			if i%2 == 0 {
				o.target.Server = "s1"
			}
		}
		ops <- o
	}
	close(ops)

	heldReply := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		var got string
		err := cli.Call(ctx, rpc.Target{Topic: "restart"}, "record", map[string]string{"id": "held"}, &got)
		if err == nil && got != "done-held" {
			err = fmt.Errorf("got reply %q", got)
		}
		heldReply <- err
	}()
	select {
	case <-heldStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the held call did not reach its handler")
	}

	var sent atomic.Int64
	reachedStop := make(chan struct{})
	var once sync.Once
	errs := make(chan error, casts+calls)
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for o := range ops {
				ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
				ctx = reqctx.With(ctx, reqctx.Context{RequestID: "req-" + o.id})
				var err error
				if o.call {
					var got string
					err = cli.Call(ctx, o.target, "record", map[string]string{"id": o.id}, &got)
					if err == nil && got != "done-"+o.id {
						err = fmt.Errorf("call %s got reply %q", o.id, got)
					}
				} else {
					err = cli.Cast(ctx, o.target, "record", map[string]string{"id": o.id})
				}
				cancel()
				if err != nil {
					errs <- fmt.Errorf("%s: %w", o.id, err)
				}
				if sent.Add(1) == stopAt {
					once.Do(func() { close(reachedStop) })
				}
				time.Sleep(pace)
			}
		})
	}

	select {
	case <-reachedStop:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not reach the restart point")
	}
	t.Cleanup(func() { // the broker runs again whatever happens
		rabbitmqctl(t, "start_app")
		waitBroker(t, 60*time.Second)
	})
	rabbitmqctl(t, "stop_app")
	atStop := sent.Load()
	time.Sleep(time.Second)
	rabbitmqctl(t, "start_app")
	close(release) // the first run of the held call cannot reply: its connection is gone
	atStart := sent.Load()
	t.Logf("broker stopped after %d of %d messages, started again after %d (%.1fs into the stream)",
		atStop, casts+calls, atStart, time.Since(start).Seconds())
	if atStop >= casts+calls {
		t.Errorf("the stream had ended when the broker stopped: the restart was not in its middle")
	}

	wg.Wait()
	if err := <-heldReply; err != nil {
		t.Errorf("call waiting across the restart: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	streamTook := time.Since(start)

	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		var missing []string
		for _, id := range castIDs {
			if handled[id] == 0 {
				missing = append(missing, id)
			}
		}
		distinct, total := len(handled), 0
		for _, n := range handled {
			total += n
		}
		mu.Unlock()
		if len(missing) == 0 {
			if distinct != casts+calls+1 {
				t.Errorf("handled %d distinct ids, want %d", distinct, casts+calls+1)
			}
			t.Logf("stream of %d messages took %s; %d distinct handled, %d duplicate deliveries (at least once)",
				casts+calls, streamTook.Round(time.Millisecond), distinct, total-distinct)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d casts never handled 30s after the stream, e.g. %v", len(missing), missing[:min(5, len(missing))])
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Serve is still serving on the new connection.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got string
	if err := cli.Call(ctx, rpc.Target{Topic: "restart", Server: "s1"}, "record", map[string]string{"id": "after"}, &got); err != nil || got != "done-after" {
		t.Errorf("Call after the restart: %q, %v", got, err)
	}
	// And its fanout queue is bound again (the fanout exchange did not survive the restart).
	for {
		if err := cli.Fanout(ctx, "restart", "record", map[string]string{"id": "fanout-after"}); err != nil {
			t.Fatalf("Fanout after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		n := handled["fanout-after"]
		mu.Unlock()
		if n > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no fanout reached the server after the restart")
		}
	}
}

// A Serve runs at most Options.Prefetch handlers at once.
func TestPrefetchBoundsHandlers(t *testing.T) {
	b := newTestBus(t)
	b.opts.Prefetch = 3
	const n = 12
	var mu sync.Mutex
	running, most, done := 0, 0, 0
	all := make(chan struct{})
	srv, cli := b.transport(), b.transport()
	s := rpctest.StartServer(t, srv, rpc.Target{Topic: "pf"}, func(ctx context.Context, msg *rpc.Message) (any, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		running--
		if done++; done == n {
			close(all)
		}
		mu.Unlock()
		return nil, nil
	})
	rpctest.WaitReady(t, cli, "pf", s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		if err := cli.Cast(ctx, rpc.Target{Topic: "pf"}, "work", i); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d casts handled after 10s", done, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if most > 3 || most < 2 {
		t.Errorf("at most %d handlers ran at once, want 3 (the prefetch)", most)
	}
}
