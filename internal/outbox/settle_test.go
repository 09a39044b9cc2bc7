package outbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// waitFor polls cond every 10 ms until it holds or 5 s pass, then fails saying what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInProcessBusRowKeptUntilHandled is issue 12 item 3: on the all-in-one's in-process bus a
// publish is only a hand-over in memory, so the outbox row must stay until the handler has
// finished with the message (and the sweeper must not send it a second time meanwhile); a
// process that dies before that sends it again when it starts.
func TestInProcessBusRowKeptUntilHandled(t *testing.T) {
	s := newStore(t)
	log := logrus.New()
	rc := reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: "u", ProjectID: "p"}

	// The process that dies: its scheduler's handler has the message and never returns.
	bus1 := rpc.NewLocal(log)
	ctx1, kill := context.WithCancel(context.Background())
	var calls1 atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release); kill(); bus1.Close() })
	go bus1.Serve(ctx1, rpcapi.SchedulerTarget(), func(ctx context.Context, msg *rpc.Message) (any, error) {
		calls1.Add(1)
		<-release
		return nil, nil
	})
	relay1 := &Relay{Store: s, Transport: bus1, Log: log, Grace: 100 * time.Millisecond, Interval: 20 * time.Millisecond}
	go relay1.Run(ctx1, 2)
	relay1.Dispatch(ctx1, accept(t, s, rc))
	waitFor(t, "the handler did not get the message", func() bool { return calls1.Load() == 1 })
	time.Sleep(500 * time.Millisecond) // many sweeps, each past the grace
	if n := pending(t, s); n != 1 {
		t.Fatalf("outbox rows while the handler still runs: %d, want 1 (a crash now would lose the request)", n)
	}
	if n := calls1.Load(); n != 1 {
		t.Fatalf("the message reached the handler %d times while it ran, want 1", n)
	}

	// kill -9: nothing of the first process runs any more (its relay stops; its bus and
	// handler are gone as far as the database can tell). The restarted process's relay sends
	// the row again and deletes it once its handler returned.
	kill()
	bus2 := rpc.NewLocal(log)
	defer bus2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	rec := &recorder{}
	go bus2.Serve(ctx2, rpcapi.SchedulerTarget(), rec.handle)
	relay2 := &Relay{Store: s, Transport: bus2, Log: log, Grace: 100 * time.Millisecond, Interval: 20 * time.Millisecond}
	go relay2.Run(ctx2, 2)
	if got := rec.wait(t, 1); got[0] != rc.RequestID {
		t.Fatalf("after the restart request %q reached the handler, want %q", got[0], rc.RequestID)
	}
	waitFor(t, "the row was not deleted after the handler returned", func() bool { return pending(t, s) == 0 })
}
