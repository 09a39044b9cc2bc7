package sheep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

func okCreate(vid uint32) step {
	return func(t *testing.T, r rawReq) resp { return resp{vid: vid} }
}

func u32p(v uint32) *uint32 { return &v }

// TestGarbledReplies: whatever is wrong with a reply is an error, the
// connection is closed, and the next call comes on a new connection.
func TestGarbledReplies(t *testing.T) {
	full := replyBytes(rawReq{}, resp{vid: 0x10})
	tests := []struct {
		name string
		out  resp
		want error
		// reused: the reply was well-formed, only its value was wrong, so
		// the connection is healthy and serves the next call.
		reused bool
	}{
		{name: "connection closed before any reply", out: resp{raw: []byte{}, close: true}, want: ErrUnreachable},
		{name: "short header", out: resp{raw: full[:20], close: true}, want: ErrProtocol},
		{name: "header one byte short", out: resp{raw: full[:47], close: true}, want: ErrProtocol},
		{name: "reply to another request id", out: resp{vid: 0x10, id: u32p(0xabcdef)}, want: ErrProtocol},
		{name: "data on a write larger than the request", out: resp{vid: 0x10, data: make([]byte, 300)}, want: ErrProtocol},
		{name: "data length announced, data missing", out: resp{vid: 0x10, dataLen: u32p(16), close: true}, want: ErrProtocol},
		{name: "success without a VID", out: resp{}, want: ErrProtocol, reused: true},
		{name: "VID above 24 bits", out: resp{vid: 1 << 24}, want: ErrProtocol, reused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(t *testing.T, r rawReq) resp { return tt.out }, okCreate(0x11))
			c := testClient(t, f, Options{})
			if vid, err := c.Create(ctx, "v", 1); !errors.Is(err, tt.want) || vid != 0 {
				t.Fatalf("Create = %#x, %v; want %v", vid, err, tt.want)
			}
			vid, err := c.Create(ctx, "w", 1)
			if err != nil || vid != 0x11 {
				t.Fatalf("second Create = %#x, %v", vid, err)
			}
			wantConns := 2
			if tt.reused {
				wantConns = 1
			}
			if got := f.connCount(); got != wantConns {
				t.Errorf("connections = %d, want %d", got, wantConns)
			}
		})
	}
}

// TestReadReplyLonger: a read reply announcing more data than asked for is
// garbled (the client never reads past its buffer).
func TestReadReplyLonger(t *testing.T) {
	f := newFake(t,
		expectGetVDIInfo("v", "", 0, resp{vid: 0x10}),
		func(t *testing.T, r rawReq) resp { return resp{data: make([]byte, InodeHeaderSize+1)} },
	)
	if _, err := testClient(t, f, Options{}).Lookup(ctx, "v", ""); !errors.Is(err, ErrProtocol) {
		t.Fatalf("err = %v, want ErrProtocol", err)
	}
}

func TestConnectionReused(t *testing.T) {
	f := newFake(t, okCreate(1), okCreate(2), okCreate(3))
	c := testClient(t, f, Options{})
	for i := uint32(1); i <= 3; i++ {
		if vid, err := c.Create(ctx, fmt.Sprint("v", i), 1); err != nil || vid != i {
			t.Fatalf("Create %d = %#x, %v", i, vid, err)
		}
	}
	if f.connCount() != 1 {
		t.Errorf("connections = %d, want 1 reused", f.connCount())
	}
}

// TestIdleConnectionDropped: sheep restarted (it closed the idle
// connection); the next call notices before sending and dials again.
func TestIdleConnectionDropped(t *testing.T) {
	f := newFake(t, okCreate(1), okCreate(2))
	c := testClient(t, f, Options{})
	if _, err := c.Create(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	f.closeConns()
	// Poll until the fake's side of the connection is gone (its FIN sent).
	for deadline := time.Now().Add(2 * time.Second); f.endedCount() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the fake never closed its connection")
		}
	}
	if vid, err := c.Create(ctx, "b", 1); err != nil || vid != 2 {
		t.Fatalf("Create after restart = %#x, %v", vid, err)
	}
	if f.connCount() != 2 {
		t.Errorf("connections = %d, want 2", f.connCount())
	}
}

func TestTimeout(t *testing.T) {
	f := newFake(t, func(t *testing.T, r rawReq) resp { return resp{hang: true} }, okCreate(7))
	c := testClient(t, f, Options{Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := c.Create(ctx, "v", 1)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("timed out after %v, want about 150ms", d)
	}
	// The timed-out connection is not reused: the answer would be stale.
	if vid, err := c.Create(ctx, "w", 1); err != nil || vid != 7 {
		t.Fatalf("Create after timeout = %#x, %v", vid, err)
	}
	if f.connCount() != 2 {
		t.Errorf("connections = %d, want 2", f.connCount())
	}
}

func TestContextBounds(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(t *testing.T, r rawReq) resp { return resp{hang: true} })
			c := testClient(t, f, Options{Timeout: time.Minute})
			cctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := c.Create(cctx, "v", 1)
			if !errors.Is(err, ErrUnreachable) || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want ErrUnreachable and %v", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("returned after %v", d)
			}
			if c.idleCount() != 0 {
				t.Errorf("the interrupted connection went back to the pool")
			}
		})
	}
}

func TestCancelledBeforeCall(t *testing.T) {
	f := newFake(t)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testClient(t, f, Options{}).Create(cctx, "v", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: connection refused
	c := New(addr, Options{DialTimeout: time.Second})
	defer c.Close()
	_, err = c.ClusterInfo(ctx)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
}

func TestClosed(t *testing.T) {
	f := newFake(t, okCreate(1))
	c := testClient(t, f, Options{})
	if _, err := c.Create(ctx, "v", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Create(ctx, "w", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// TestConcurrent: many goroutines share one Client (run with -race); each
// gets its own answer, connections stay within the pool's bound when idle.
func TestConcurrent(t *testing.T) {
	f := newFake(t)
	f.setServe(func(t *testing.T, r rawReq) resp {
		// NEW_VDI answers with a VID derived from the name it was given.
		var vid uint32
		_, _ = fmt.Sscanf(cString(r.payload), "v%d", &vid)
		time.Sleep(time.Millisecond)
		return resp{vid: vid}
	})
	c := testClient(t, f, Options{MaxIdle: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 1; g <= 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				want := uint32(g*1000 + i)
				vid, err := c.Create(ctx, fmt.Sprint("v", want), 1)
				if err != nil || vid != want {
					errs <- fmt.Errorf("Create v%d = %d, %v", want, vid, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := c.idleCount(); n < 1 || n > 3 {
		t.Errorf("idle connections = %d, want 1..3", n)
	}
}

func BenchmarkCreateRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, HeaderSize+256)
				for {
					if _, err := readFull(conn, buf); err != nil {
						return
					}
					rsp := replyBytes(rawReq{hdr: [HeaderSize]byte(buf[:HeaderSize])}, resp{vid: 1})
					if _, err := conn.Write(rsp); err != nil {
						return
					}
				}
			}()
		}
	}()
	c := New(ln.Addr().String(), Options{})
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Create(context.Background(), "volume-0b7ac3a2", 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

func readFull(conn net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
