package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
)

// LocalWorkers is how many handlers one Serve of a Local runs at once.
const LocalWorkers = 64

// Local is the in-process Transport of the all-in-one binary. It keeps the semantics of the
// AMQP transport: a topic queue shared round-robin between its servers, one queue per
// server, a fanout to the servers listening at the moment, casts held until a server of
// their queue appears (as a durable queue would), and the handlers of a Serve run
// concurrently, up to LocalWorkers at once. Arguments and results travel as JSON, so
// a handler sees exactly what it would see over AMQP. Nothing survives the process: a sender
// that must not lose a cast keeps a durable copy until it is settled (CastSettled).
type Local struct {
	log logrus.FieldLogger

	mu      sync.Mutex
	queues  map[string]*localQueue               // by queue name: topic or topic.server
	fanouts map[string]map[*localServer]struct{} // by topic
	closed  bool
	done    chan struct{} // closed by Close
	serves  sync.WaitGroup
}

// localDelivery is one message on its way to a handler.
type localDelivery struct {
	msg *Message
	// reply is where the result of a call goes (buffered, never blocks); nil for a cast.
	reply chan localReply
	// callerDone ends when the caller of a call gave up: the call is then dropped unhandled,
	// as an expired message is on AMQP.
	callerDone <-chan struct{}
	// queue is where the delivery goes back to when its server stops before handling it;
	// nil for a fanout, which is lost with its listener.
	queue *localQueue
	// settled, when set (CastSettled), runs once a handler finished with the cast for good.
	settled func()
}

type localReply struct {
	result json.RawMessage
	err    error
}

// localQueue is one named queue: its backlog while no server consumes it, and its servers.
type localQueue struct {
	backlog []*localDelivery
	servers []*localServer
	next    int // round-robin position
}

// localServer is one Serve: the deliveries handed to it and not yet started.
type localServer struct {
	inbox []*localDelivery
	wake  chan struct{} // capacity 1: "the inbox may have something"
}

// NewLocal returns an in-process transport. Close it to stop its servers.
func NewLocal(log logrus.FieldLogger) *Local {
	return &Local{
		log:     log,
		queues:  map[string]*localQueue{},
		fanouts: map[string]map[*localServer]struct{}{},
		done:    make(chan struct{}),
	}
}

var (
	_ Transport = (*Local)(nil)
	_ Settler   = (*Local)(nil)
)

// Call sends method to target and waits for the reply, decoded into reply (may be nil). A
// call whose queue has no server yet waits there until one serves or ctx ends.
func (l *Local) Call(ctx context.Context, target Target, method string, args, reply any) error {
	msg, err := newMessage(ctx, target, method, args)
	if err != nil {
		return err
	}
	d := &localDelivery{msg: msg, reply: make(chan localReply, 1), callerDone: ctx.Done()}
	if err := l.send(target.String(), d); err != nil {
		return err
	}
	select {
	case r := <-d.reply:
		if r.err != nil {
			return r.err
		}
		if reply == nil || len(r.result) == 0 {
			return nil
		}
		if err := json.Unmarshal(r.result, reply); err != nil {
			return fmt.Errorf("rpc: decode reply of %s: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		return callContextError(ctx, target, method)
	case <-l.done:
		return ErrClosed
	}
}

// Cast queues method for target and returns; a target without a server keeps it until one
// serves.
func (l *Local) Cast(ctx context.Context, target Target, method string, args any) error {
	msg, err := newMessage(ctx, target, method, args)
	if err != nil {
		return err
	}
	return l.send(target.String(), &localDelivery{msg: msg})
}

// CastSettled is Cast, and settled runs once a handler has finished with the message for
// good (see Settler): after it returned nil, or panicked; not while the message waits to be
// delivered again, and never if l is closed first.
func (l *Local) CastSettled(ctx context.Context, target Target, method string, args any, settled func()) error {
	msg, err := newMessage(ctx, target, method, args)
	if err != nil {
		return err
	}
	return l.send(target.String(), &localDelivery{msg: msg, settled: settled})
}

// Fanout hands method to every server listening on topic now.
func (l *Local) Fanout(ctx context.Context, topic, method string, args any) error {
	msg, err := newMessage(ctx, Target{Topic: topic}, method, args)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	for s := range l.fanouts[topic] {
		s.push(&localDelivery{msg: cloneMessage(msg)})
	}
	return nil
}

// Serve consumes target.Topic, target.String() and the topic's fanout, running h for each
// message, until ctx ends (it returns nil) or l is closed (it returns ErrClosed). Before
// returning it waits for the handlers it started; deliveries it had not started go back to
// their queue.
func (l *Local) Serve(ctx context.Context, target Target, h Handler) error {
	if target.Topic == "" {
		return errors.New("rpc: serve: target has no topic")
	}
	s := &localServer{wake: make(chan struct{}, 1)}
	names := []string{target.Topic}
	if target.Server != "" {
		names = append(names, target.String())
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.serves.Add(1)
	defer l.serves.Done()
	for _, name := range names {
		q := l.queue(name)
		q.servers = append(q.servers, s)
		held := q.backlog
		q.backlog = nil
		for _, d := range held {
			q.deliver(d)
		}
	}
	if l.fanouts[target.Topic] == nil {
		l.fanouts[target.Topic] = map[*localServer]struct{}{}
	}
	l.fanouts[target.Topic][s] = struct{}{}
	l.mu.Unlock()

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()

	sem := make(chan struct{}, LocalWorkers)
	var wg sync.WaitGroup
	var unstarted *localDelivery
	closed := false
loop:
	for {
		l.mu.Lock()
		d := s.pop()
		l.mu.Unlock()
		if d == nil {
			select {
			case <-s.wake:
				continue
			case <-sctx.Done():
				break loop
			case <-l.done:
				closed = true
				break loop
			}
		}
		select {
		case sem <- struct{}{}:
		case <-sctx.Done():
			unstarted = d
			break loop
		case <-l.done:
			closed = true
			unstarted = d
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l.handle(sctx, h, d)
		}()
	}
	cancel() // handlers of a stopping server see their ctx end

	l.mu.Lock()
	for _, name := range names {
		q := l.queues[name]
		q.servers = slices.DeleteFunc(q.servers, func(o *localServer) bool { return o == s })
	}
	delete(l.fanouts[target.Topic], s)
	left := s.inbox
	s.inbox = nil
	if unstarted != nil {
		left = append([]*localDelivery{unstarted}, left...)
	}
	for _, d := range left {
		if d.queue != nil {
			d.queue.deliver(d)
		}
	}
	l.mu.Unlock()

	wg.Wait()
	if closed {
		return ErrClosed
	}
	return nil
}

// Close stops every Serve (waiting for their handlers) and fails pending calls with
// ErrClosed. Closing twice is harmless.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	l.serves.Wait()
	return nil
}

// send puts d on the queue called name.
func (l *Local) send(name string, d *localDelivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	q := l.queue(name)
	d.queue = q
	q.deliver(d)
	return nil
}

// queue returns the queue called name, made on first use. l.mu is held.
func (l *Local) queue(name string) *localQueue {
	q := l.queues[name]
	if q == nil {
		q = &localQueue{}
		l.queues[name] = q
	}
	return q
}

// handle runs h for d and answers a call.
func (l *Local) handle(sctx context.Context, h Handler, d *localDelivery) {
	if d.callerDone != nil {
		select {
		case <-d.callerDone:
			return // the caller gave up: the message expired
		default:
		}
	}
	hctx := reqctx.With(sctx, d.msg.Context)
	result, stack, err := runHandler(hctx, h, d.msg)
	undeliverable := errors.Is(err, ErrUndeliverable)
	if err != nil && !undeliverable && sctx.Err() != nil && d.queue != nil {
		// The server is stopping and the handler gave up: like an unacked AMQP message,
		// the delivery goes back to its queue for another server.
		l.mu.Lock()
		if !l.closed {
			d.queue.deliver(d)
		}
		l.mu.Unlock()
		return
	}
	if err != nil {
		entry := reqctx.Log(hctx, l.log).WithError(err).WithField("method", d.msg.Method)
		if stack != nil {
			entry = entry.WithField("stack", string(stack))
		}
		switch {
		case undeliverable:
			// The handler logged why; no attempt can ever succeed: settled for good.
			entry.Debug("rpc: undeliverable message dropped")
		case d.reply != nil:
			entry.Warn("rpc call handler failed")
		case stack != nil || d.queue == nil:
			entry.Error("rpc cast handler failed; message dropped")
		default:
			entry.WithField("retry_in", CastRetryDelay).Warn("rpc cast handler failed; the message will be delivered again")
			time.AfterFunc(CastRetryDelay, func() {
				l.mu.Lock()
				defer l.mu.Unlock()
				if !l.closed {
					d.queue.deliver(d)
				}
			})
			return
		}
	}
	if d.settled != nil {
		d.settled()
	}
	if d.reply == nil {
		return
	}
	var r localReply
	if err != nil {
		r.err = &RemoteError{Method: d.msg.Method, Message: err.Error()}
	} else if r.result, err = json.Marshal(result); err != nil {
		r.err = &RemoteError{Method: d.msg.Method, Message: "marshal result: " + err.Error()}
	}
	select {
	case d.reply <- r:
	default: // a reply is already there
	}
}

// deliver hands d to the next server of q, or keeps it until one serves. l.mu is held.
func (q *localQueue) deliver(d *localDelivery) {
	if len(q.servers) == 0 {
		q.backlog = append(q.backlog, d)
		return
	}
	s := q.servers[q.next%len(q.servers)]
	q.next++
	s.push(d)
}

// push adds d to the inbox of s. l.mu is held.
func (s *localServer) push(d *localDelivery) {
	s.inbox = append(s.inbox, d)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest delivery of the inbox, or nil. l.mu is held.
func (s *localServer) pop() *localDelivery {
	if len(s.inbox) == 0 {
		return nil
	}
	d := s.inbox[0]
	s.inbox[0] = nil
	s.inbox = s.inbox[1:]
	return d
}

// newMessage builds the message of one send: a fresh id, args as JSON, the caller's
// request context.
func newMessage(ctx context.Context, target Target, method string, args any) (*Message, error) {
	if target.Topic == "" {
		return nil, fmt.Errorf("rpc: %s: target has no topic", method)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("rpc: marshal arguments of %s: %w", method, err)
	}
	rc := reqctx.From(ctx)
	rc.Roles = slices.Clone(rc.Roles)
	return &Message{ID: uuid.NewString(), Method: method, Args: raw, Context: rc}, nil
}

// cloneMessage copies msg for one more handler, so no two handlers share memory.
func cloneMessage(msg *Message) *Message {
	c := *msg
	c.Args = slices.Clone(msg.Args)
	c.Context.Roles = slices.Clone(msg.Context.Roles)
	return &c
}

// runHandler runs h, turning a panic into an error and the panicking goroutine's stack.
func runHandler(ctx context.Context, h Handler, msg *Message) (result any, stack []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err, stack = fmt.Errorf("handler panicked: %v", p), debug.Stack()
		}
	}()
	result, err = h(ctx, msg)
	return result, nil, err
}

// callContextError is the error of a call whose ctx ended first: ErrTimeout at the
// deadline (matching context.DeadlineExceeded too), else the ctx's error.
func callContextError(ctx context.Context, target Target, method string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s to %s: %w", ErrTimeout, method, target, ctx.Err())
	}
	return fmt.Errorf("rpc: call %s to %s: %w", method, target, ctx.Err())
}
