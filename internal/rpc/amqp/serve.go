package amqp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpc"
)

// Serve consumes target.Topic, target.String() and the topic's fanout, running h for each
// message, up to Options.Prefetch at once; a message is acknowledged after h returns. It
// declares its queues and subscribes again after every reconnection. It returns nil when
// ctx ends and rpc.ErrClosed when t is closed, in both cases after its handlers returned
// (their ctx ends too); messages it had not finished go back to their queue.
func (t *Transport) Serve(ctx context.Context, target rpc.Target, h rpc.Handler) error {
	if target.Topic == "" {
		return errors.New("rpc: serve: target has no topic")
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return rpc.ErrClosed
	}
	t.serves.Add(1)
	t.mu.Unlock()
	defer t.serves.Done()

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.closing:
			cancel()
		case <-sctx.Done():
		}
	}()

	s := &server{
		t:        t,
		target:   target,
		h:        h,
		slots:    make(chan struct{}, t.opts.Prefetch),
		log:      t.log.WithField("target", target.String()),
		handlers: &sync.WaitGroup{},
	}
	defer s.handlers.Wait()
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(t.opts.ReconnectInitial),
		backoff.WithMaxInterval(t.opts.ReconnectMax),
		backoff.WithMaxElapsedTime(0),
	)
	for {
		sess, err := t.waitSession(sctx)
		if err != nil {
			break
		}
		err = s.consume(sctx, sess)
		if sctx.Err() != nil {
			break
		}
		if sess.isLost() {
			s.log.WithError(err).Info("rpc: consumer lost with the connection; subscribing again after reconnecting")
			b.Reset()
			continue
		}
		wait := b.NextBackOff()
		s.log.WithError(err).WithField("retry_in", wait.Round(time.Millisecond)).Error("rpc: cannot consume; retrying")
		select {
		case <-time.After(wait):
		case <-sctx.Done():
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return rpc.ErrClosed
}

// server is one Serve.
type server struct {
	t        *Transport
	target   rpc.Target
	h        rpc.Handler
	slots    chan struct{} // one per running handler
	log      logrus.FieldLogger
	handlers *sync.WaitGroup
}

// consume declares the server's queues on sess, subscribes to them and dispatches their
// messages until ctx ends (it then cancels the subscriptions and waits for the handlers so
// that they can acknowledge) or the subscriptions end with the channel or connection.
func (s *server) consume(ctx context.Context, sess *session) error {
	t := s.t
	ch, err := sess.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if err := ch.Qos(t.opts.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	if err := ch.ExchangeDeclare(t.opts.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", t.opts.Exchange, err)
	}

	// The fanout queue comes last: a server that gets a fanout also gets its queues.
	type sub struct {
		queue     string
		exclusive bool
	}
	subs := []sub{{queue: t.opts.QueuePrefix + s.target.Topic}}
	if err := t.declareQueue(ch, subs[0].queue, s.target.Topic); err != nil {
		return err
	}
	if s.target.Server != "" {
		own := sub{queue: t.opts.QueuePrefix + s.target.String()}
		if err := t.declareQueue(ch, own.queue, s.target.String()); err != nil {
			return err
		}
		subs = append(subs, own)
	}
	fanout := t.fanoutExchange(s.target.Topic)
	if err := t.declareFanoutExchange(ch, fanout); err != nil {
		return err
	}
	fq := sub{queue: fanout + "_" + uuid.NewString(), exclusive: true}
	if _, err := ch.QueueDeclare(fq.queue, false, true, true, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", fq.queue, err)
	}
	if err := ch.QueueBind(fq.queue, "", fanout, false, nil); err != nil {
		return fmt.Errorf("bind queue %s to %s: %w", fq.queue, fanout, err)
	}
	subs = append(subs, fq)

	deliveries := make([]<-chan amqp.Delivery, 3) // nil channels block in the select below
	tags := make([]string, len(subs))
	for i, sb := range subs {
		tags[i] = "scoria-" + uuid.NewString()
		d, err := ch.Consume(sb.queue, tags[i], false, sb.exclusive, false, false, nil)
		if err != nil {
			return fmt.Errorf("consume %s: %w", sb.queue, err)
		}
		deliveries[i] = d
	}
	s.log.WithField("connection", sess.gen).Debug("rpc: consuming")

	for {
		var (
			d  amqp.Delivery
			ok bool
		)
		select {
		case d, ok = <-deliveries[0]:
		case d, ok = <-deliveries[1]:
		case d, ok = <-deliveries[2]:
		case <-ctx.Done():
			s.stop(ch, tags)
			return nil
		}
		if !ok {
			return errors.New("subscription ended")
		}
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			s.stop(ch, tags) // d is not acked: the broker gives it to another server
			return nil
		}
		s.handlers.Add(1)
		go func() {
			defer s.handlers.Done()
			defer func() { <-s.slots }()
			s.handle(ctx, sess, d)
		}()
	}
}

// stop cancels the subscriptions of ch and waits for the running handlers, so that they
// acknowledge their messages before ch closes and gives the prefetched rest back.
func (s *server) stop(ch *amqp.Channel, tags []string) {
	for _, tag := range tags {
		_ = ch.Cancel(tag, false)
	}
	s.handlers.Wait()
}

// handle runs the handler for one delivery, answers a call, and acknowledges.
func (s *server) handle(ctx context.Context, sess *session, d amqp.Delivery) {
	var msg rpc.Message
	if err := json.Unmarshal(d.Body, &msg); err != nil {
		s.log.WithError(err).WithField("message_id", d.MessageId).Error("rpc: dropping a message that is not JSON of rpc.Message")
		_ = d.Reject(false)
		return
	}
	if msg.Context.RequestID == "" { // from a producer other than Scoria: still traceable
		msg.Context.RequestID = reqctx.NewRequestID()
	}
	hctx := reqctx.With(ctx, msg.Context)
	result, stack, err := runHandler(hctx, s.h, &msg)
	undeliverable := errors.Is(err, rpc.ErrUndeliverable)
	if err != nil && !undeliverable && ctx.Err() != nil {
		// The server stops and the handler gave up: another server gets the message.
		_ = d.Nack(false, true)
		return
	}
	if err != nil {
		e := reqctx.Log(hctx, s.log).WithError(err).WithFields(logrus.Fields{"method": msg.Method, "message_id": msg.ID})
		if stack != nil {
			e = e.WithField("stack", string(stack))
		}
		switch {
		case undeliverable:
			// The handler logged why. Settled for good: rejected below, not requeued.
			e.Debug("rpc: undeliverable message rejected")
		case d.ReplyTo != "":
			e.Warn("rpc: call handler failed")
		case stack != nil:
			e.Error("rpc: cast handler panicked; message dropped")
		default:
			// Not done: deliver it again after a pause (holding its prefetch slot meanwhile).
			e.WithField("retry_in", rpc.CastRetryDelay).Warn("rpc: cast handler failed; the message will be delivered again")
			select {
			case <-ctx.Done():
			case <-time.After(rpc.CastRetryDelay):
			}
			_ = d.Nack(false, true)
			return
		}
	}
	if d.ReplyTo != "" {
		var r reply
		if err != nil {
			r.Error = &rpc.RemoteError{Method: msg.Method, Message: err.Error()}
		} else if r.Result, err = json.Marshal(result); err != nil {
			r.Error = &rpc.RemoteError{Method: msg.Method, Message: "marshal result: " + err.Error()}
		}
		body, _ := json.Marshal(r) // a RawMessage from json.Marshal and strings: cannot fail
		err = sess.pub.PublishWithContext(context.WithoutCancel(ctx), "", d.ReplyTo, false, false, amqp.Publishing{
			ContentType:   "application/json",
			CorrelationId: d.CorrelationId,
			Headers:       amqp.Table{headerRequestID: msg.Context.RequestID},
			Body:          body,
		})
		if err != nil {
			// Not acked either: the message comes again and the caller, still waiting,
			// publishes the call again after reconnecting anyway.
			reqctx.Log(hctx, s.log).WithError(err).WithField("method", msg.Method).Info("rpc: could not send a reply")
			return
		}
	}
	if undeliverable {
		// Not requeued: the broker dead-letters it when a policy gives the queue a
		// dead-letter exchange, and discards it otherwise.
		if err := d.Reject(false); err != nil {
			reqctx.Log(hctx, s.log).WithError(err).WithField("method", msg.Method).
				Debug("rpc: could not reject; the broker will deliver the message again")
		}
		return
	}
	if err := d.Ack(false); err != nil {
		reqctx.Log(hctx, s.log).WithError(err).WithField("method", msg.Method).
			Debug("rpc: could not acknowledge; the broker will deliver the message again")
	}
}

// runHandler runs h, turning a panic into an error and the panicking goroutine's stack.
func runHandler(ctx context.Context, h rpc.Handler, msg *rpc.Message) (result any, stack []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err, stack = fmt.Errorf("handler panicked: %v", p), debug.Stack()
		}
	}()
	result, err = h(ctx, msg)
	return result, nil, err
}
