package sheep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Client. Zero values take the defaults.
type Options struct {
	// Timeout bounds each request/reply round trip (default 30 s). A whole
	// operation of many round trips (WriteAt, CopyData, List) is bounded by
	// the caller's context.
	Timeout time.Duration
	// DialTimeout bounds connecting (default 5 s, never above Timeout).
	DialTimeout time.Duration
	// MaxIdle is how many idle connections are kept for reuse (default 4).
	MaxIdle int
}

// Default option values.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultDialTimeout = 5 * time.Second
	DefaultMaxIdle     = 4
)

// Client talks to one sheep at addr ("host:port"). It is safe for
// concurrent use: each round trip takes a connection of its own from a small
// pool. A connection that saw an I/O error, a timeout or a garbled reply is
// closed, never reused; one that got a result code other than success is
// healthy and goes back to the pool.
type Client struct {
	addr string
	opts Options

	nextID atomic.Uint32

	mu     sync.Mutex
	idle   []net.Conn
	closed bool
}

// New returns a Client of the sheep at addr. It does not dial: the first
// operation does.
func New(addr string, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.DialTimeout > opts.Timeout {
		opts.DialTimeout = opts.Timeout
	}
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = DefaultMaxIdle
	}
	return &Client{addr: addr, opts: opts}
}

// Addr is the sheep's address.
func (c *Client) Addr() string { return c.addr }

// Close closes the idle connections; operations after Close fail with
// ErrClosed, and connections in use are closed when their round trip ends.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.closed = true
	c.mu.Unlock()
	var errs []error
	for _, conn := range idle {
		if err := conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// getConn pops a live idle connection or dials a new one.
func (c *Client) getConn(ctx context.Context) (net.Conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		n := len(c.idle)
		if n == 0 {
			c.mu.Unlock()
			break
		}
		conn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		if alive(conn) {
			return conn, nil
		}
		_ = conn.Close()
	}
	d := net.Dialer{Timeout: c.opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%w: dial %s: %w", ErrUnreachable, c.addr, ctxErr)
		}
		return nil, fmt.Errorf("%w: dial %s: %v", ErrUnreachable, c.addr, err)
	}
	return conn, nil
}

func (c *Client) putConn(conn net.Conn) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < c.opts.MaxIdle {
		c.idle = append(c.idle, conn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = conn.Close()
}

// idleCount is the number of pooled connections (for tests).
func (c *Client) idleCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.idle)
}

// call is one request/reply round trip. With payload non-nil the request
// carries it (FlagCmdWrite is set and DataLength is its length); otherwise
// DataLength is len(rbuf) and the reply's data is read into rbuf. It returns
// the reply header and the number of data bytes read. A result code other
// than success is returned as a *ResultError together with the reply.
func (c *Client) call(ctx context.Context, op string, req *Request, payload, rbuf []byte) (Reply, int, error) {
	if err := ctx.Err(); err != nil {
		return Reply{}, 0, fmt.Errorf("%w: %s: %w", ErrUnreachable, op, err)
	}
	if payload != nil {
		req.Flags |= FlagCmdWrite
		req.DataLength = uint32(len(payload))
	} else {
		req.DataLength = uint32(len(rbuf))
	}
	req.ID = c.nextID.Add(1)
	var hdr [HeaderSize]byte
	if err := EncodeRequest(hdr[:], req); err != nil {
		return Reply{}, 0, fmt.Errorf("sheep %s: %w", op, err)
	}

	conn, err := c.getConn(ctx)
	if err != nil {
		return Reply{}, 0, fmt.Errorf("sheep %s: %w", op, err)
	}
	// A cancelled context interrupts blocked I/O by moving the deadline.
	// If that ran at all, the connection's deadline is no longer ours: the
	// reply stands, the connection is not reused.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	rsp, n, err := c.exchange(ctx, conn, req, hdr[:], payload, rbuf)
	if !stop() && err == nil {
		_ = conn.Close()
		return rsp, n, resultErr(op, rsp.Result)
	}
	if err != nil {
		_ = conn.Close()
		ctxErr := ctx.Err()
		if d, ok := ctx.Deadline(); ok && ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
			// The connection's deadline was the context's and fired first.
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return Reply{}, 0, fmt.Errorf("sheep %s at %s: %w", op, c.addr, err)
	}
	c.putConn(conn)
	return rsp, n, resultErr(op, rsp.Result)
}

func (c *Client) exchange(ctx context.Context, conn net.Conn, req *Request, hdr, payload, rbuf []byte) (Reply, int, error) {
	deadline := time.Now().Add(c.opts.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return Reply{}, 0, fmt.Errorf("%w: set deadline: %v", ErrUnreachable, err)
	}
	bufs := net.Buffers{hdr}
	if len(payload) > 0 {
		bufs = append(bufs, payload)
	}
	if _, err := bufs.WriteTo(conn); err != nil {
		return Reply{}, 0, ioErr("send request", err)
	}
	var rh [HeaderSize]byte
	if n, err := io.ReadFull(conn, rh[:]); err != nil {
		if n > 0 && (errors.Is(err, io.ErrUnexpectedEOF)) {
			return Reply{}, 0, fmt.Errorf("%w: short reply header (%d of %d bytes)", ErrProtocol, n, HeaderSize)
		}
		return Reply{}, 0, ioErr("read reply", err)
	}
	rsp, err := DecodeReply(rh[:])
	if err != nil {
		return Reply{}, 0, err
	}
	if rsp.ID != req.ID {
		return Reply{}, 0, fmt.Errorf("%w: reply id %d to request id %d", ErrProtocol, rsp.ID, req.ID)
	}
	limit := uint32(len(rbuf))
	if payload != nil {
		// Sheep answers a write with no data; tolerate an echo of at most
		// what was sent, and discard it.
		limit = req.DataLength
	}
	if rsp.DataLength > limit {
		return Reply{}, 0, fmt.Errorf("%w: reply carries %d data bytes, at most %d expected", ErrProtocol, rsp.DataLength, limit)
	}
	if rsp.DataLength == 0 {
		return rsp, 0, nil
	}
	dst := rbuf
	if payload != nil {
		dst = make([]byte, rsp.DataLength)
	}
	n, err := io.ReadFull(conn, dst[:rsp.DataLength])
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Reply{}, 0, fmt.Errorf("%w: short reply data (%d of %d bytes)", ErrProtocol, n, rsp.DataLength)
		}
		return Reply{}, 0, ioErr("read reply data", err)
	}
	if payload != nil {
		return rsp, 0, nil
	}
	return rsp, n, nil
}

func ioErr(what string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %s: timed out: %w", ErrUnreachable, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, what, err)
}
