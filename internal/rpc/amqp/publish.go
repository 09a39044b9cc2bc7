package amqp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpc"
)

// headerRequestID is the AMQP header that carries the request id, for tools that look at
// messages without decoding them.
const headerRequestID = "request_id"

// reply is the body of the answer to a call.
type reply struct {
	Result json.RawMessage  `json:"result,omitempty"`
	Error  *rpc.RemoteError `json:"error,omitempty"`
}

// kind is what a publish is for; it decides the declarations and properties.
type kind int

const (
	kindCast kind = iota
	kindCall
	kindFanout
)

// Call sends method to target and waits for the reply, decoded into reply (may be nil). When
// the connection drops while it waits, it publishes the same message again after the
// reconnection. It fails with an error matching rpc.ErrTimeout (and
// context.DeadlineExceeded) at ctx's deadline, a *rpc.RemoteError when the handler failed,
// and rpc.ErrClosed when t is closed.
func (t *Transport) Call(ctx context.Context, target rpc.Target, method string, args, result any) error {
	msg, err := newMessage(ctx, target, method, args)
	if err != nil {
		return err
	}
	replies := make(chan []byte, 1)
	t.callsMu.Lock()
	t.calls[msg.ID] = replies
	t.callsMu.Unlock()
	defer func() {
		t.callsMu.Lock()
		delete(t.calls, msg.ID)
		t.callsMu.Unlock()
	}()

	for {
		sess, err := t.publish(ctx, kindCall, t.opts.Exchange, target.String(), msg)
		if err != nil {
			return t.sendError(ctx, "call", target, method, err)
		}
		select {
		case body := <-replies:
			return decodeReply(method, body, result)
		case <-sess.lost:
			select {
			case body := <-replies:
				return decodeReply(method, body, result)
			default:
			}
			reqctx.Log(ctx, t.log).WithFields(logrus.Fields{"method": method, "target": target.String(), "message_id": msg.ID}).
				Info("rpc: connection lost while waiting for a reply; sending the call again")
		case <-ctx.Done():
			return t.sendError(ctx, "call", target, method, ctx.Err())
		case <-t.closing:
			return rpc.ErrClosed
		}
	}
}

// Cast sends method to target and returns once the broker confirmed it. It declares the
// target's queue first, so a cast to a server that has not started yet waits for it.
func (t *Transport) Cast(ctx context.Context, target rpc.Target, method string, args any) error {
	msg, err := newMessage(ctx, target, method, args)
	if err != nil {
		return err
	}
	if _, err := t.publish(ctx, kindCast, t.opts.Exchange, target.String(), msg); err != nil {
		return t.sendError(ctx, "cast", target, method, err)
	}
	return nil
}

// Fanout sends method to every server listening on topic now, and returns once the broker
// confirmed it.
func (t *Transport) Fanout(ctx context.Context, topic, method string, args any) error {
	target := rpc.Target{Topic: topic}
	msg, err := newMessage(ctx, target, method, args)
	if err != nil {
		return err
	}
	if _, err := t.publish(ctx, kindFanout, t.fanoutExchange(topic), "", msg); err != nil {
		return t.sendError(ctx, "fanout", target, method, err)
	}
	return nil
}

// sendError is the error of a send that could not finish.
func (t *Transport) sendError(ctx context.Context, what string, target rpc.Target, method string, err error) error {
	switch {
	case errors.Is(err, rpc.ErrClosed):
		return rpc.ErrClosed
	case errors.Is(err, context.DeadlineExceeded) && what == "call":
		return fmt.Errorf("%w: %s to %s: %w", rpc.ErrTimeout, method, target, err)
	default:
		return fmt.Errorf("rpc: %s %s to %s: %w", what, method, target, err)
	}
}

// publish sends msg and waits for the broker's confirm, publishing again (on the same or the
// next connection) after a nack or a failure, until it is confirmed, ctx ends, or t is
// closed. It returns the connection the message was confirmed on.
func (t *Transport) publish(ctx context.Context, k kind, exchange, key string, msg *rpc.Message) (*session, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := t.pause(ctx, attempt); err != nil {
				return nil, err
			}
		}
		sess, err := t.waitSession(ctx)
		if err != nil {
			return nil, err
		}
		if err := t.declareFor(sess, k, exchange, key); err != nil {
			if permanent(err) {
				return nil, err
			}
			e := reqctx.Log(ctx, t.log).WithError(err).WithField("message_id", msg.ID)
			if sess.isLost() {
				e.Debug("rpc: declaration failed with the connection; retrying")
			} else {
				e.Warn("rpc: declaration failed; retrying")
			}
			continue
		}
		p := amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			MessageId:    msg.ID,
			Type:         msg.Method,
			AppId:        "scoria",
			Timestamp:    time.Now(),
			Headers:      amqp.Table{headerRequestID: msg.Context.RequestID},
			Body:         body,
		}
		switch k {
		case kindFanout:
			p.DeliveryMode = amqp.Transient // its queues die with their listeners anyway
		case kindCall:
			p.CorrelationId = msg.ID
			p.ReplyTo = sess.replyQueue
			if deadline, ok := ctx.Deadline(); ok {
				// The request expires in its queue when its caller stops waiting.
				p.Expiration = strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10)
			}
		}
		dc, err := sess.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			reqctx.Log(ctx, t.log).WithError(err).WithFields(logrus.Fields{"message_id": msg.ID, "method": msg.Method}).
				Debug("rpc: publish failed; publishing again")
			continue
		}
		select {
		case <-dc.Done():
			if dc.Acked() {
				return sess, nil
			}
			e := reqctx.Log(ctx, t.log).WithFields(logrus.Fields{"message_id": msg.ID, "method": msg.Method})
			if sess.isLost() {
				e.Info("rpc: connection lost before the broker confirmed a message; publishing again")
			} else {
				e.Warn("rpc: broker refused a message (nack); publishing again")
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.closing:
			return nil, rpc.ErrClosed
		}
	}
}

// pause waits before the attempt-th retry of a publish: 50 ms, doubling up to 1 s.
func (t *Transport) pause(ctx context.Context, attempt int) error {
	d := min(50*time.Millisecond<<min(attempt-1, 5), time.Second)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.closing:
		return rpc.ErrClosed
	}
}

// declareFor declares, once per connection, what a publish of kind k needs: a cast's queue
// and binding, a fanout's exchange. Calls declare nothing: a call with no server would
// only wait in a queue for nobody.
func (t *Transport) declareFor(sess *session, k kind, exchange, key string) error {
	var name string
	switch k {
	case kindCast:
		name = t.opts.QueuePrefix + key
	case kindFanout:
		name = exchange
	default:
		return nil
	}
	sess.mu.Lock()
	done := sess.declared[name]
	sess.mu.Unlock()
	if done {
		return nil
	}
	ch, err := sess.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if k == kindCast {
		err = t.declareQueue(ch, name, key)
	} else {
		err = t.declareFanoutExchange(ch, name)
	}
	if err != nil {
		return err
	}
	sess.mu.Lock()
	sess.declared[name] = true
	sess.mu.Unlock()
	return nil
}

// declareQueue declares the durable queue name bound to the topic exchange with key.
func (t *Transport) declareQueue(ch *amqp.Channel, name, key string) error {
	if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", name, err)
	}
	t.record("queue", name)
	if err := ch.QueueBind(name, key, t.opts.Exchange, false, nil); err != nil {
		return fmt.Errorf("bind queue %s to %s with %s: %w", name, t.opts.Exchange, key, err)
	}
	return nil
}

// declareFanoutExchange declares a topic's fanout exchange. It is not durable: its queues
// are not either, and every Serve and Fanout declares it again on a new connection.
func (t *Transport) declareFanoutExchange(ch *amqp.Channel, name string) error {
	if err := ch.ExchangeDeclare(name, amqp.ExchangeFanout, false, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", name, err)
	}
	t.record("exchange", name)
	return nil
}

func (t *Transport) fanoutExchange(topic string) string {
	return t.opts.QueuePrefix + topic + "_fanout"
}

// permanent reports whether a declaration failed for a reason retrying cannot fix: the
// broker refused access, or the queue exists with other arguments.
func permanent(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.PreconditionFailed)
}

// newMessage builds the message of one send: a fresh id, args as JSON and the caller's
// request context.
func newMessage(ctx context.Context, target rpc.Target, method string, args any) (*rpc.Message, error) {
	if target.Topic == "" {
		return nil, fmt.Errorf("rpc: %s: target has no topic", method)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("rpc: marshal arguments of %s: %w", method, err)
	}
	rc := reqctx.From(ctx)
	rc.Roles = slices.Clone(rc.Roles)
	return &rpc.Message{ID: uuid.NewString(), Method: method, Args: raw, Context: rc}, nil
}

// decodeReply turns a reply body into the call's result or error.
func decodeReply(method string, body []byte, result any) error {
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("rpc: decode reply of %s: %w", method, err)
	}
	if r.Error != nil {
		return r.Error
	}
	if result == nil || len(r.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("rpc: decode reply of %s: %w", method, err)
	}
	return nil
}
