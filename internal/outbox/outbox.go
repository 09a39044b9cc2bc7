// Package outbox hands RPC casts that were written to the database, in the same transaction
// as the change that caused them, over to the message bus. A request the API accepted is
// therefore never lost: if the broker is down, the sweeper sends it when the broker returns;
// on the all-in-one's in-process bus, a row stays until the handler finished with its
// message, so a crash before that sends it again after the restart.
package outbox

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
)

// Store is what the relay needs of the database.
type Store interface {
	DeleteOutbox(ctx context.Context, ids ...int64) error
	ClaimOutbox(ctx context.Context, olderThan time.Time, limit int) ([]resource.OutboxMessage, error)
}

// Relay publishes outbox rows: at once after the API commits (Dispatch), and again from a
// periodic sweep for rows that are still there after Grace (a failed or interrupted publish).
// A row is deleted only after the transport confirmed the message, so delivery is at least once.
// On a transport whose casts live only in this process (rpc.Settler: the in-process bus), a
// confirm would mean nothing after a crash: there the row is deleted only once a handler
// finished with the message, and until then the sweeper leaves it to that handler.
type Relay struct {
	Store     Store
	Transport rpc.Transport
	Log       logrus.FieldLogger
	Grace     time.Duration // how old an undeleted row must be before the sweeper re-sends it (default 10s)
	Interval  time.Duration // how often the sweeper looks (default 2s)
	Timeout   time.Duration // how long one publish may take (default 10s)

	once  sync.Once
	queue chan resource.OutboxMessage

	mu       sync.Mutex
	inflight map[int64]struct{} // rows cast on an rpc.Settler and not settled yet
}

func (r *Relay) init() {
	r.once.Do(func() {
		if r.Grace == 0 {
			r.Grace = 10 * time.Second
		}
		if r.Interval == 0 {
			r.Interval = 2 * time.Second
		}
		if r.Timeout == 0 {
			r.Timeout = 10 * time.Second
		}
		r.queue = make(chan resource.OutboxMessage, 4096)
		r.inflight = map[int64]struct{}{}
	})
}

// Dispatch queues freshly committed rows for publishing by the relay's workers. It never
// blocks the request: when the queue is full, the sweeper takes the rows later.
func (r *Relay) Dispatch(ctx context.Context, msgs []resource.OutboxMessage) {
	r.init()
	for _, m := range msgs {
		select {
		case r.queue <- m:
		default:
			reqctx.Log(ctx, r.Log).WithField("outbox_id", m.ID).Warn("outbox queue full; the sweeper will send this message")
		}
	}
}

// Run publishes dispatched rows with workers and sweeps for leftovers until ctx ends.
func (r *Relay) Run(ctx context.Context, workers int) {
	r.init()
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-r.queue:
					r.send(ctx, m)
				}
			}
		}()
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			r.Sweep(ctx)
		}
	}
}

// Sweep re-sends rows older than Grace that are still in the outbox.
func (r *Relay) Sweep(ctx context.Context) {
	r.init()
	for {
		msgs, err := r.Store.ClaimOutbox(ctx, time.Now().UTC().Add(-r.Grace), 100)
		if err != nil {
			if ctx.Err() == nil {
				r.Log.WithError(err).Warn("outbox sweep: claim failed")
			}
			return
		}
		for _, m := range msgs {
			if !r.send(ctx, m) {
				return // the bus is down: try again at the next sweep
			}
		}
		if len(msgs) < 100 {
			return
		}
	}
}

// send publishes one row and deletes it; it reports whether the publish succeeded.
func (r *Relay) send(ctx context.Context, m resource.OutboxMessage) bool {
	var rc reqctx.Context
	if err := json.Unmarshal(m.Context, &rc); err != nil {
		r.Log.WithError(err).WithField("outbox_id", m.ID).Error("outbox row has an unreadable context; sending without it")
	}
	mctx, cancel := context.WithTimeout(reqctx.With(ctx, rc), r.Timeout)
	defer cancel()
	log := reqctx.Log(mctx, r.Log).WithFields(logrus.Fields{"outbox_id": m.ID, "method": m.Method})
	target := rpc.Target{Topic: m.Topic, Server: m.Server}
	if st, ok := r.Transport.(rpc.Settler); ok {
		return r.sendSettled(ctx, mctx, log, st, target, m)
	}
	if err := r.Transport.Cast(mctx, target, m.Method, json.RawMessage(m.Args)); err != nil {
		log.WithError(err).Warn("outbox publish failed; will retry")
		return false
	}
	if err := r.Store.DeleteOutbox(ctx, m.ID); err != nil {
		// The message went out; the sweeper may send it again, which handlers tolerate.
		log.WithError(err).Warn("outbox delete failed after publish")
	}
	log.WithField("target", target.String()).Debug("outbox message published")
	return true
}

// sendSettled casts m on a transport whose casts live only in this process, and deletes its
// row once a handler has finished with it. A row already in flight here is left to its
// handler (the sweeper finds rows that wait long in a busy queue).
func (r *Relay) sendSettled(ctx, mctx context.Context, log logrus.FieldLogger, st rpc.Settler, target rpc.Target, m resource.OutboxMessage) bool {
	r.mu.Lock()
	_, busy := r.inflight[m.ID]
	r.inflight[m.ID] = struct{}{}
	r.mu.Unlock()
	if busy {
		return true
	}
	settled := func() {
		// The handler's work is committed: the row may go, even while the relay stops.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.Timeout)
		defer cancel()
		if err := r.Store.DeleteOutbox(dctx, m.ID); err != nil {
			// The row stays and is sent again later, which handlers tolerate.
			log.WithError(err).Warn("outbox delete failed after the handler finished")
		}
		r.mu.Lock()
		delete(r.inflight, m.ID)
		r.mu.Unlock()
	}
	if err := st.CastSettled(mctx, target, m.Method, json.RawMessage(m.Args), settled); err != nil {
		r.mu.Lock()
		delete(r.inflight, m.ID)
		r.mu.Unlock()
		log.WithError(err).Warn("outbox publish failed; will retry")
		return false
	}
	log.WithField("target", target.String()).Debug("outbox message handed to the in-process bus; its row goes once a handler finished with it")
	return true
}
