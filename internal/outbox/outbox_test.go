package outbox

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpc/amqp"
	"github.com/scoria/scoria/internal/rpcapi"
)

func newStore(t *testing.T) *db.Store {
	t.Helper()
	ctx := context.Background()
	s, err := db.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// accept writes a volume with its outbox cast, as the API does, and returns the rows.
func accept(t *testing.T, s *db.Store, rc reqctx.Context) []resource.OutboxMessage {
	t.Helper()
	v := &resource.Volume{ProjectID: "p", UserID: "u", Size: 1, AvailabilityZone: "nova"}
	msg, err := rpcapi.Outbox(rc, rpcapi.SchedulerTarget(), rpcapi.CreateVolume, rpcapi.CreateVolumeArgs{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CreateVolume(context.Background(), v, msg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recorder serves the scheduler topic and records the request ids it receives.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) handle(ctx context.Context, msg *rpc.Message) (any, error) {
	var a rpcapi.CreateVolumeArgs
	if err := json.Unmarshal(msg.Args, &a); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.ids = append(r.ids, reqctx.From(ctx).RequestID)
	r.mu.Unlock()
	return nil, nil
}

func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := append([]string(nil), r.ids...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("received %d messages, want %d", len(r.ids), n)
	return nil
}

func pending(t *testing.T, s *db.Store) int {
	t.Helper()
	rows, err := s.ClaimOutbox(context.Background(), time.Now().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

func TestDispatchPublishesAndDeletes(t *testing.T) {
	s := newStore(t)
	log := logrus.New()
	bus := rpc.NewLocal(log)
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	go bus.Serve(ctx, rpcapi.SchedulerTarget(), rec.handle)
	relay := &Relay{Store: s, Transport: bus, Log: log, Interval: time.Hour}
	go relay.Run(ctx, 2)
	rc := reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: "u", ProjectID: "p"}
	relay.Dispatch(ctx, accept(t, s, rc))
	got := rec.wait(t, 1)
	if got[0] != rc.RequestID {
		t.Fatalf("request id %q reached the handler, want %q", got[0], rc.RequestID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pending(t, s) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("outbox row not deleted after publishing")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBrokerDownThenBack: the API accepted a request while the broker was unreachable (a
// real AMQP transport pointed at a port nothing listens on); the row stays in the outbox, and
// the sweep delivers it once a working transport is there.
func TestBrokerDownThenBack(t *testing.T) {
	s := newStore(t)
	log := logrus.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	down, err := amqp.New("rabbit://guest:guest@"+deadAddr+"/", amqp.Options{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	ctx := context.Background()
	relay := &Relay{Store: s, Transport: down, Log: log, Grace: time.Millisecond, Timeout: 300 * time.Millisecond}
	rc := reqctx.Context{RequestID: reqctx.NewRequestID()}
	rows := accept(t, s, rc)
	relay.Sweep(ctx) // publish fails: the row must stay
	time.Sleep(5 * time.Millisecond)
	if n := pending(t, s); n != 1 {
		t.Fatalf("%d outbox rows after a failed publish, want 1", n)
	}

	bus := rpc.NewLocal(log)
	defer bus.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := &recorder{}
	go bus.Serve(sctx, rpcapi.SchedulerTarget(), rec.handle)
	// The pending() probe above claimed the row; once Grace has passed the sweep takes it again.
	time.Sleep(5 * time.Millisecond)
	relay.Transport = bus
	relay.Sweep(ctx)
	if got := rec.wait(t, 1); got[0] != rc.RequestID || len(rows) != 1 {
		t.Fatalf("delivered %v, want the one accepted request %s", got, rc.RequestID)
	}
	if n := pending(t, s); n != 0 {
		t.Fatalf("%d outbox rows left after delivery, want 0", n)
	}
}
