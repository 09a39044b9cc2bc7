package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Connections is what the API needs of the volume services to attach: initialize and
// terminate a volume's connection on the service of its backend (host, host@backend#pool).
type Connections interface {
	InitializeConnection(ctx context.Context, host string, args rpcapi.ConnectionArgs) (*rpcapi.ConnectionReply, error)
	TerminateConnection(ctx context.Context, host string, args rpcapi.ConnectionArgs) error
}

// DefaultConnectionTimeout bounds how long RPCConnections waits for a volume service.
const DefaultConnectionTimeout = 30 * time.Second

// RPCConnections calls initialize_connection and terminate_connection on the volume service
// of a volume's backend over the bus.
type RPCConnections struct {
	Transport rpc.Transport
	// Timeout bounds the wait for an answer (default DefaultConnectionTimeout).
	Timeout time.Duration
}

// InitializeConnection calls initialize_connection. A volume service that does not answer in
// time is an *unavailableError (503).
func (c *RPCConnections) InitializeConnection(ctx context.Context, host string, args rpcapi.ConnectionArgs) (*rpcapi.ConnectionReply, error) {
	var reply rpcapi.ConnectionReply
	if err := c.call(ctx, host, rpcapi.InitializeConnection, args, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// TerminateConnection calls terminate_connection; errors as for InitializeConnection.
func (c *RPCConnections) TerminateConnection(ctx context.Context, host string, args rpcapi.ConnectionArgs) error {
	return c.call(ctx, host, rpcapi.TerminateConnection, args, nil)
}

func (c *RPCConnections) call(ctx context.Context, host, method string, args, reply any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultConnectionTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := c.Transport.Call(ctx, rpcapi.VolumeTarget(host), method, args, reply)
	if errors.Is(err, rpc.ErrTimeout) || errors.Is(err, rpc.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return &wire.UnavailableError{
			Reason: fmt.Sprintf("The volume service of %s did not answer %s within %s; check that scoria-volume is running.", rpcapi.BackendHost(host), method, timeout),
			Err:    err,
		}
	}
	if err != nil {
		return fmt.Errorf("%s on %s: %w", method, rpcapi.BackendHost(host), err)
	}
	return nil
}

// errNoConnections answers attach requests of an API built without Options.Connections.
var errNoConnections = &wire.UnavailableError{Reason: "This API is not connected to the volume services."}
