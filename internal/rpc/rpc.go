// Package rpc is Scoria's internal messaging: call (request/reply with a timeout), cast and
// fanout cast between services, addressed by topic and server. The AMQP transport
// (package rpc/amqp) serves split deployments; Local serves the all-in-one process. Router is
// a service's handler: one table from method to a typed handler, with one policy for a
// message no handler can take (ErrUndeliverable).
package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/scoria/scoria/internal/reqctx"
)

// Topics of Scoria's services.
const (
	TopicScheduler = "scoria-scheduler"
	TopicVolume    = "scoria-volume"
	TopicBackup    = "scoria-backup"
)

// Target addresses a message: every server of Topic shares one queue; Server, when set,
// picks one server's own queue (e.g. Topic "scoria-volume", Server "host1@lvm").
type Target struct {
	Topic  string
	Server string
}

// String is "topic" or "topic.server", the routing key and queue name.
func (t Target) String() string {
	if t.Server == "" {
		return t.Topic
	}
	return t.Topic + "." + t.Server
}

// Message is what travels: a method, its JSON arguments, and the caller's context.
type Message struct {
	ID      string          `json:"id"`
	Method  string          `json:"method"`
	Args    json.RawMessage `json:"args"`
	Context reqctx.Context  `json:"context"`
}

// Handler handles one message. The ctx it gets carries msg.Context (see reqctx.From).
// Its result is marshalled as the reply of a call and dropped for a cast. Delivery is at
// least once, so handlers must be idempotent.
//
// An error from a cast's handler means "not done, try again": the message is delivered
// again after CastRetryDelay, so a passing failure (the database refusing connections, a
// broker hiccup) loses nothing. A handler returns nil for a message that can never succeed
// (and logs why), or an error wrapping ErrUndeliverable for one that cannot even be handled
// (an unknown method, undecodable arguments: see Router), which the transport settles for good
// without delivering it again; a handler that panics has its message dropped, since it would
// panic again.
type Handler func(ctx context.Context, msg *Message) (any, error)

// CastRetryDelay is how long a cast whose handler failed waits before it is delivered again.
const CastRetryDelay = time.Second

// Transport sends and serves messages.
type Transport interface {
	// Call sends to target and waits for the reply, decoded into reply (may be nil).
	// It fails with ErrTimeout when ctx has no answer before its deadline.
	Call(ctx context.Context, target Target, method string, args, reply any) error
	// Cast sends to target without waiting for a handler; it returns once the message is
	// safely with the transport (a publisher confirm on AMQP).
	Cast(ctx context.Context, target Target, method string, args any) error
	// Fanout sends to every server listening on topic; nothing is kept for servers that are
	// not listening at the moment.
	Fanout(ctx context.Context, topic, method string, args any) error
	// Serve consumes target.Topic, target.String() and the topic's fanout until ctx ends or
	// Close, running h for each message.
	Serve(ctx context.Context, target Target, h Handler) error
	// Close releases connections; pending calls fail.
	Close() error
}

// Settler is implemented by a transport whose casts live only in this process's memory (Local,
// the all-in-one's bus): a cast it accepted is lost if the process dies before a handler
// finished with it. A sender that keeps its own durable copy of the message (the outbox) uses
// CastSettled and drops that copy only in settled, which runs once a handler has finished with
// the message for good: returned (its work committed), or panicked, when the message is
// dropped. It never runs for a message still to be delivered again (a failed handler, a
// stopping server) nor for one lost with the transport.
type Settler interface {
	CastSettled(ctx context.Context, target Target, method string, args any, settled func()) error
}

// Errors a transport returns.
var (
	ErrTimeout = errors.New("rpc: timed out waiting for a reply")
	ErrClosed  = errors.New("rpc: transport closed")
)

// RemoteError is an error a handler returned, carried back to the caller of Call.
type RemoteError struct {
	Method  string `json:"method"`
	Message string `json:"message"`
}

func (e *RemoteError) Error() string { return "rpc: " + e.Method + ": " + e.Message }
