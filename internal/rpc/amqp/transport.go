// Package amqp is the RabbitMQ transport of package rpc, for split deployments, laid out as
// oslo.messaging lays out Cinder's queues so that an operator finds what they know.
//
// Topology (names shown without Options.QueuePrefix):
//
//   - one durable topic exchange, Options.Exchange ("scoria");
//   - per served target, a durable queue "<topic>" bound with key "<topic>", shared
//     round-robin by every server of the topic, and a durable queue "<topic>.<server>"
//     bound with "<topic>.<server>";
//   - per topic a fanout exchange "<topic>_fanout", with one exclusive auto-delete queue
//     "<topic>_fanout_<uuid>" per Serve;
//   - per Transport connection an exclusive reply queue "reply_<uuid>"; replies to calls go
//     there through the default exchange and are matched to callers by correlation id.
//
// Casts and calls are persistent and published with publisher confirms: Cast returns once
// the broker has acknowledged the message, and publishes again after a nack or a lost
// connection until its ctx ends. Cast declares its target's queue, so that a cast to a
// server that has not started yet waits for it, as the in-process bus does. Serve acknowledges
// a message after its handler returns (at least once delivery), runs up to
// Options.Prefetch handlers at once, and subscribes again after every reconnection. A call
// waiting when the connection drops is published again, with the same id, after the
// reconnection; a call's message expires in its queue at the call's deadline. A message
// whose handler fails with rpc.ErrUndeliverable (unknown method, undecodable arguments) is
// rejected without requeueing, as is a body that is not an rpc.Message. The queues are declared
// without arguments, as they always were (adding x-dead-letter-exchange would make RabbitMQ
// refuse the declaration of an existing queue with PRECONDITION_FAILED), so such a message is
// discarded, or dead-lettered where an operator's policy sets a dead-letter exchange on the
// queues (rabbitmqctl set_policy … '{"dead-letter-exchange":"…"}').
package amqp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/rpc"
)

// Options tune a Transport; the zero value is the production default.
type Options struct {
	// Exchange is the topic exchange of calls and casts. Default "scoria".
	Exchange string
	// QueuePrefix is put before the name of every queue and fanout exchange the transport
	// declares, so that tests (or two deployments on one vhost) keep apart. Default none.
	QueuePrefix string
	// Prefetch is how many unacknowledged messages one Serve takes from the broker, and so
	// how many of its handlers run at once. Default 64.
	Prefetch int
	// Heartbeat is the AMQP heartbeat interval; a heartbeat in the URL wins. Default 10 s.
	Heartbeat time.Duration
	// ConnectTimeout bounds the TCP and AMQP handshake with one host. Default 5 s.
	ConnectTimeout time.Duration
	// ReconnectInitial and ReconnectMax bound the exponential backoff between connection
	// attempts. Defaults 100 ms and 5 s.
	ReconnectInitial time.Duration
	ReconnectMax     time.Duration
	// ConnectionName is shown in RabbitMQ's list of connections. Default "scoria".
	ConnectionName string
}

func (o Options) withDefaults() Options {
	if o.Exchange == "" {
		o.Exchange = "scoria"
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 64
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.ReconnectInitial <= 0 {
		o.ReconnectInitial = 100 * time.Millisecond
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = 5 * time.Second
	}
	if o.ReconnectMax < o.ReconnectInitial {
		o.ReconnectMax = o.ReconnectInitial
	}
	if o.ConnectionName == "" {
		o.ConnectionName = "scoria"
	}
	return o
}

// Transport is rpc.Transport over RabbitMQ. It holds one connection at a time, and
// reconnects with exponential backoff when it is lost, for as long as it is open.
type Transport struct {
	urls []string
	opts Options
	log  logrus.FieldLogger

	mu       sync.Mutex
	sess     *session      // the current connection; nil while disconnected
	ready    chan struct{} // closed when sess is set, replaced when it is lost
	closed   bool
	declared map[string]string // queues ("queue") and exchanges ("exchange") declared by this transport

	callsMu sync.Mutex
	calls   map[string]chan []byte // pending calls by message id

	serves   sync.WaitGroup
	closing  chan struct{} // closed by Close: calls fail, Serves stop
	stopConn chan struct{} // closed by Close once Serves stopped: the connection goes
	stopped  chan struct{} // closed when the connection loop has ended
}

var _ rpc.Transport = (*Transport)(nil)

// New returns a transport for url (rabbit://user:pass@host:port[,user:pass@host2:port]/vhost
// or amqp://), connecting to the first reachable host. It fails only on a malformed url: a
// broker that cannot be reached yet is retried in the background, and sends and Serves
// wait for it.
func New(url string, opts Options, log logrus.FieldLogger) (*Transport, error) {
	urls, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		urls:     urls,
		opts:     opts.withDefaults(),
		log:      log,
		ready:    make(chan struct{}),
		declared: map[string]string{},
		calls:    map[string]chan []byte{},
		closing:  make(chan struct{}),
		stopConn: make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	first, err := t.connect(1)
	if err != nil {
		log.WithError(err).Warn("rpc: broker not reachable yet; connecting in the background")
	}
	go t.run(first)
	return t, nil
}

// Close stops every Serve (waiting for the handlers they run, whose ctx ends), fails pending
// calls with rpc.ErrClosed and closes the connection. Closing twice is harmless.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.stopped
		return nil
	}
	t.closed = true
	close(t.closing)
	t.mu.Unlock()

	t.serves.Wait()
	close(t.stopConn)
	<-t.stopped
	return nil
}

// session is one connection and what lives on it.
type session struct {
	gen        int // 1 for the first connection, then one more per reconnection
	url        string
	conn       *amqp.Connection
	pub        *amqp.Channel // publisher confirms on
	replyQueue string

	lost     chan struct{} // closed when the connection, its publishing channel or its reply consumer is gone
	lostOnce sync.Once
	lostErr  error

	mu       sync.Mutex
	declared map[string]bool // queues and exchanges Cast and Fanout declared on this connection
}

func (s *session) markLost(err error) {
	s.lostOnce.Do(func() {
		s.lostErr = err
		close(s.lost)
	})
}

func (s *session) isLost() bool {
	select {
	case <-s.lost:
		return true
	default:
		return false
	}
}

// run keeps a connection up until Close.
func (t *Transport) run(sess *session) {
	defer close(t.stopped)
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(t.opts.ReconnectInitial),
		backoff.WithMaxInterval(t.opts.ReconnectMax),
		backoff.WithMaxElapsedTime(0),
	)
	gen := 1
	if sess != nil {
		t.logConnected(sess)
	}
	for {
		if sess == nil {
			var err error
			if sess, err = t.connect(gen); err != nil {
				wait := b.NextBackOff()
				t.log.WithError(err).WithField("retry_in", wait.Round(time.Millisecond)).Warn("rpc: cannot connect to the broker")
				select {
				case <-time.After(wait):
					continue
				case <-t.stopConn:
					return
				}
			}
			t.logConnected(sess)
		}
		b.Reset()
		t.setSession(sess)
		select {
		case <-sess.lost:
			t.clearSession(sess)
			_ = sess.conn.Close()
			t.log.WithError(sess.lostErr).WithFields(logrus.Fields{"broker": displayURL(sess.url), "connection": sess.gen}).
				Warn("rpc: disconnected from the broker; reconnecting")
			gen = sess.gen + 1
			sess = nil
		case <-t.stopConn:
			t.clearSession(sess)
			sess.markLost(rpc.ErrClosed)
			_ = sess.conn.Close()
			t.log.WithFields(logrus.Fields{"broker": displayURL(sess.url), "connection": sess.gen}).Debug("rpc: connection closed")
			return
		}
	}
}

func (t *Transport) logConnected(s *session) {
	e := t.log.WithFields(logrus.Fields{"broker": displayURL(s.url), "connection": s.gen, "reply_queue": s.replyQueue})
	if s.gen == 1 {
		e.Info("rpc: connected to the broker")
	} else {
		e.Info("rpc: reconnected to the broker")
	}
}

func (t *Transport) setSession(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sess = s
	close(t.ready)
}

func (t *Transport) clearSession(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sess == s {
		t.sess = nil
		t.ready = make(chan struct{})
	}
}

// waitSession returns the current connection, waiting for one while there is none. It
// fails with ctx's error, or rpc.ErrClosed.
func (t *Transport) waitSession(ctx context.Context) (*session, error) {
	for {
		t.mu.Lock()
		s, ready := t.sess, t.ready
		t.mu.Unlock()
		if s != nil && !s.isLost() {
			return s, nil
		}
		if s != nil {
			ready = nil // lost but not yet replaced: poll until run notices
		}
		select {
		case <-ready:
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.closing:
			return nil, rpc.ErrClosed
		}
	}
}

// connect dials the hosts in order and sets up the first that answers.
func (t *Transport) connect(gen int) (*session, error) {
	var errs []error
	for _, u := range t.urls {
		s, err := t.dial(u, gen)
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", displayURL(u), err))
	}
	return nil, errors.Join(errs...)
}

// dial opens one connection and sets up its publishing channel and reply queue.
func (t *Transport) dial(u string, gen int) (*session, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(t.opts.ConnectionName)
	conn, err := amqp.DialConfig(u, amqp.Config{
		Heartbeat:  t.opts.Heartbeat,
		Dial:       amqp.DefaultDial(t.opts.ConnectTimeout),
		Properties: props,
	})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	s, err := t.setup(conn, u, gen)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func (t *Transport) setup(conn *amqp.Connection, u string, gen int) (*session, error) {
	s := &session{gen: gen, url: u, conn: conn, lost: make(chan struct{}), declared: map[string]bool{}}
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))

	pub, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open publishing channel: %w", err)
	}
	if err := pub.Confirm(false); err != nil {
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	if err := pub.ExchangeDeclare(t.opts.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("declare exchange %s: %w", t.opts.Exchange, err)
	}
	pubClosed := pub.NotifyClose(make(chan *amqp.Error, 1))
	s.pub = pub

	rch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open reply channel: %w", err)
	}
	s.replyQueue = t.opts.QueuePrefix + "reply_" + uuid.NewString()
	if _, err := rch.QueueDeclare(s.replyQueue, false, true, true, false, nil); err != nil {
		return nil, fmt.Errorf("declare reply queue: %w", err)
	}
	replies, err := rch.Consume(s.replyQueue, "", true, true, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume reply queue: %w", err)
	}

	go func() {
		for d := range replies {
			t.deliverReply(d)
		}
		s.markLost(errors.New("reply consumer ended"))
	}()
	go func() {
		var e *amqp.Error
		select {
		case e = <-connClosed:
		case e = <-pubClosed:
		}
		if e == nil {
			s.markLost(amqp.ErrClosed)
		} else {
			s.markLost(e)
		}
	}()
	go func() {
		for b := range blocked {
			e := t.log.WithFields(logrus.Fields{"broker": displayURL(u), "connection": gen})
			if b.Active {
				e.WithField("reason", b.Reason).Warn("rpc: broker blocked publishing")
			} else {
				e.Info("rpc: broker unblocked publishing")
			}
		}
	}()
	return s, nil
}

// deliverReply hands a reply to the call waiting for it; a reply nobody waits for (a
// duplicate, or one for a call that gave up) is dropped.
func (t *Transport) deliverReply(d amqp.Delivery) {
	t.callsMu.Lock()
	ch := t.calls[d.CorrelationId]
	t.callsMu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- d.Body:
	default:
	}
}

// record notes a queue or exchange this transport declared.
func (t *Transport) record(kind, name string) {
	t.mu.Lock()
	t.declared[name] = kind
	t.mu.Unlock()
}
