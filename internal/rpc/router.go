package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
)

// ErrUndeliverable marks a message that no attempt can ever handle: its method is unknown to
// the service, or its arguments do not decode. A handler returns an error wrapping it after
// logging why (Router does); both transports then settle the message for good instead of
// delivering it again: Local drops it, AMQP rejects it without requeueing (the broker
// dead-letters it when an operator's policy gives the queue a dead-letter exchange, and
// discards it otherwise). A call's caller gets the error as a *RemoteError.
var ErrUndeliverable = errors.New("rpc: undeliverable message")

// Router is the RPC handler of one service: a table from method name to a handler that gets
// its arguments decoded into its own type (see On and OnCast), as net/http's ServeMux is one
// table of paths. A message whose method has no route, or whose arguments do not decode into
// the route's type, is logged once (with its request id, method and message id) and refused
// with ErrUndeliverable. Routes are added before the router serves; Handle is safe for
// concurrent use.
type Router struct {
	name   string
	log    logrus.FieldLogger
	routes map[string]route
}

// route decodes a message's arguments and runs its handler.
type route func(ctx context.Context, msg *Message) (any, error)

// NewRouter returns an empty router; name (e.g. "scheduler") goes into its log lines.
func NewRouter(name string, log logrus.FieldLogger) *Router {
	return &Router{name: name, log: log, routes: map[string]route{}}
}

// On routes method to h, which gets the message's arguments decoded from JSON into a T
// (absent arguments are T's zero value). h's result is the reply of a call. On panics if
// method already has a route: two handlers for one method is a programming error.
func On[T any](r *Router, method string, h func(ctx context.Context, args T) (any, error)) {
	if _, dup := r.routes[method]; dup {
		panic(fmt.Sprintf("rpc: %s: method %s routed twice", r.name, method))
	}
	r.routes[method] = func(ctx context.Context, msg *Message) (any, error) {
		var args T
		if len(msg.Args) > 0 {
			if err := json.Unmarshal(msg.Args, &args); err != nil {
				return nil, r.refuse(ctx, msg, fmt.Errorf("decode arguments: %w", err))
			}
		}
		return h(ctx, args)
	}
}

// OnCast is On for a method that answers nothing (a cast, or a call with an empty reply).
func OnCast[T any](r *Router, method string, h func(ctx context.Context, args T) error) {
	On(r, method, func(ctx context.Context, args T) (any, error) { return nil, h(ctx, args) })
}

// Methods returns the routed methods, sorted.
func (r *Router) Methods() []string {
	out := make([]string, 0, len(r.routes))
	for m := range r.routes {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Handle is the Handler of the service: it runs the route of msg.Method.
func (r *Router) Handle(ctx context.Context, msg *Message) (any, error) {
	h, ok := r.routes[msg.Method]
	if !ok {
		return nil, r.refuse(ctx, msg, errors.New("unknown method"))
	}
	return h(ctx, msg)
}

// refuse logs why msg cannot be handled and returns the ErrUndeliverable that says so.
func (r *Router) refuse(ctx context.Context, msg *Message, why error) error {
	reqctx.Log(ctx, r.log).WithError(why).WithFields(logrus.Fields{"service": r.name, "method": msg.Method, "message_id": msg.ID}).
		Error("rpc: undeliverable message refused; it is not delivered again")
	return fmt.Errorf("%w: %s: %s: %w", ErrUndeliverable, r.name, msg.Method, why)
}
