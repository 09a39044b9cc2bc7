package nfsjudge

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// ONC RPC (RFC 5531) over TCP with record marking, AUTH_SYS credentials (uid 0, gid 0), and
// the few MOUNT3 and NFS3 (RFC 1813) procedures the judge needs.
const (
	rpcVersion = 2
	msgCall    = 0
	msgReply   = 1
	authNone   = 0
	authSys    = 1

	mountProgram = 100005
	mountVersion = 3
	mountProcMnt = 1
	mountProcUmn = 3

	nfsProgram    = 100003
	nfsVersion    = 3
	nfsProcGetatt = 1
	nfsProcLookup = 3
	nfsProcRead   = 6
	nfsProcFSStat = 18

	// fattr3Size is the XDR size of an NFSv3 fattr3: five 32-bit fields and eight 64-bit ones.
	fattr3Size = 5*4 + 8*8
	// maxRecord bounds one reply: the judge reads in chunks far below it.
	maxRecord = 8 << 20
)

// conn is one TCP connection to one RPC program; calls on it are sequential.
type conn struct {
	c    net.Conn
	stop func() bool
}

// dial connects to host:port, closing the connection when ctx ends so that no call outlives it.
func dial(ctx context.Context, host string, port int) (*conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s port %d: %w", host, port, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return &conn{c: c, stop: stop}, nil
}

func (c *conn) Close() error {
	c.stop()
	return c.c.Close()
}

// xdrWriter appends XDR items to a buffer.
type xdrWriter struct{ bytes.Buffer }

func (w *xdrWriter) u32(v uint32) { _ = binary.Write(&w.Buffer, binary.BigEndian, v) }
func (w *xdrWriter) u64(v uint64) { _ = binary.Write(&w.Buffer, binary.BigEndian, v) }

// opaque writes variable-length opaque data (or a string): length, bytes, zero padding to 4.
func (w *xdrWriter) opaque(b []byte) {
	w.u32(uint32(len(b)))
	w.Write(b)
	w.Write(make([]byte, (4-len(b)%4)%4))
}

// xdrReader reads XDR items from a reply; the first error sticks and later reads return zero.
type xdrReader struct {
	b   []byte
	err error
}

func (r *xdrReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("reply too short: need %d bytes, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *xdrReader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *xdrReader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *xdrReader) opaque(max int) []byte {
	n := int(r.u32())
	if r.err == nil && n > max {
		r.err = fmt.Errorf("opaque of %d bytes, at most %d allowed", n, max)
		return nil
	}
	b := r.take(n)
	r.take((4 - n%4) % 4)
	return b
}

// callMessage is an RPC CALL with AUTH_SYS uid 0 gid 0 and args already XDR-encoded.
func callMessage(xid, prog, vers, proc uint32, args []byte) []byte {
	var cred xdrWriter
	cred.u32(uint32(time.Now().Unix()))
	cred.opaque([]byte("scoria-nfsjudge"))
	cred.u32(0) // uid
	cred.u32(0) // gid
	cred.u32(0) // no supplementary gids
	var w xdrWriter
	w.u32(xid)
	w.u32(msgCall)
	w.u32(rpcVersion)
	w.u32(prog)
	w.u32(vers)
	w.u32(proc)
	w.u32(authSys)
	w.opaque(cred.Bytes())
	w.u32(authNone)
	w.opaque(nil)
	w.Write(args)
	return w.Bytes()
}

// call sends one call and returns the reader positioned at the procedure's results.
func (c *conn) call(prog, vers, proc uint32, args []byte) (*xdrReader, error) {
	xid := rand.Uint32()
	msg := callMessage(xid, prog, vers, proc, args)
	frame := make([]byte, 4, 4+len(msg))
	binary.BigEndian.PutUint32(frame, 1<<31|uint32(len(msg))) // one, last, fragment
	if _, err := c.c.Write(append(frame, msg...)); err != nil {
		return nil, fmt.Errorf("send call: %w", err)
	}
	for {
		rec, err := readRecord(c.c)
		if err != nil {
			return nil, err
		}
		r := &xdrReader{b: rec}
		if r.u32() != xid { // a stale reply: not ours
			continue
		}
		return r, parseReplyHeader(r)
	}
}

// readRecord reads fragments up to the last one of a record.
func readRecord(rd io.Reader) ([]byte, error) {
	var rec []byte
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			return nil, fmt.Errorf("read reply: %w", err)
		}
		h := binary.BigEndian.Uint32(hdr[:])
		n := int(h &^ (1 << 31))
		if len(rec)+n > maxRecord {
			return nil, fmt.Errorf("reply larger than %d bytes", maxRecord)
		}
		frag := make([]byte, n)
		if _, err := io.ReadFull(rd, frag); err != nil {
			return nil, fmt.Errorf("read reply: %w", err)
		}
		rec = append(rec, frag...)
		if h&(1<<31) != 0 {
			return rec, nil
		}
	}
}

var acceptStat = map[uint32]string{1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS", 5: "SYSTEM_ERR"}

// parseReplyHeader reads a REPLY's header (after the xid) and fails unless the call was
// accepted and succeeded.
func parseReplyHeader(r *xdrReader) error {
	if t := r.u32(); r.err == nil && t != msgReply {
		return fmt.Errorf("message type %d, want a reply", t)
	}
	switch stat := r.u32(); {
	case r.err != nil:
		return r.err
	case stat == 1: // MSG_DENIED
		if r.u32() == 0 {
			return fmt.Errorf("call denied: RPC_MISMATCH (server speaks %d to %d)", r.u32(), r.u32())
		}
		return fmt.Errorf("call denied: AUTH_ERROR %d", r.u32())
	case stat != 0:
		return fmt.Errorf("reply status %d", stat)
	}
	r.u32()       // verifier flavor
	r.opaque(400) // verifier body
	if a := r.u32(); r.err == nil && a != 0 {
		name := acceptStat[a]
		if name == "" {
			name = "accept_stat " + strconv.Itoa(int(a))
		}
		return errors.New("call not accepted: " + name)
	}
	return r.err
}
