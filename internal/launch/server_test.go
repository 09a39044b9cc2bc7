package launch

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/config"
)

// TestAPILimits: the production server has every limit set, and Cinder's options set the
// idle ones.
func TestAPILimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		d         config.Default
		idle      time.Duration
		keepAlive bool
	}{
		{"defaults", config.Default{ClientSocketTimeout: 900 * time.Second, WSGIKeepAlive: true}, 900 * time.Second, true},
		{"client_socket_timeout = 0 waits for ever", config.Default{WSGIKeepAlive: true}, apiIdleForever, true},
		{"wsgi_keep_alive = false", config.Default{ClientSocketTimeout: time.Minute}, time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := defaultAPILimits(tc.d)
			srv := newAPIServer(http.NotFoundHandler(), lim)
			if srv.ReadHeaderTimeout != apiReadHeaderTimeout || srv.ReadTimeout != apiReadTimeout || srv.WriteTimeout != apiWriteTimeout {
				t.Errorf("read header %v, read %v, write %v; want %v, %v, %v", srv.ReadHeaderTimeout, srv.ReadTimeout,
					srv.WriteTimeout, apiReadHeaderTimeout, apiReadTimeout, apiWriteTimeout)
			}
			for name, d := range map[string]time.Duration{"read header": srv.ReadHeaderTimeout, "read": srv.ReadTimeout, "write": srv.WriteTimeout} {
				if d <= 0 {
					t.Errorf("%s limit %v: unbounded", name, d)
				}
			}
			if srv.IdleTimeout != tc.idle || lim.keepAlive != tc.keepAlive {
				t.Errorf("idle %v, keep-alive %v; want %v, %v", srv.IdleTimeout, lim.keepAlive, tc.idle, tc.keepAlive)
			}
		})
	}
}

// TestSlowClientsCutOff runs the API's server on a loopback port with short limits and
// clients that trickle one byte at a time (slowloris) or say nothing: the server must close
// each connection long before the client would have finished. Before the read limit, a
// trickled body held its connection until the client stopped.
func TestSlowClientsCutOff(t *testing.T) {
	lim := apiLimits{readHeader: time.Second, read: 2 * time.Second, write: 3 * time.Second, idle: time.Second, keepAlive: true}
	// bodyReader stands in for the API's handlers, which all start by reading the body.
	bodyReader := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := newAPIServer(bodyReader, lim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at cleanup
	t.Cleanup(func() { srv.Close() })

	const bodyLen = 200 // at one byte per tick, far longer than any limit
	for _, tc := range []struct {
		name  string
		first string // sent at once
		trick string // then one byte per tick
	}{
		{"headers one byte at a time", "", "POST /v3/p/volumes HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", bodyLen) + "\r\n\r\n"},
		{"body one byte at a time", fmt.Sprintf("POST /v3/p/volumes HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", bodyLen), strings.Repeat("x", bodyLen)},
		{"silent after connecting", "", ""},
		{"idle after a request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			closed := make(chan error, 1)
			go func() { // the server's side ends when a read here sees EOF or a reset
				_, err := io.Copy(io.Discard, conn)
				closed <- err
			}()
			if _, err := io.WriteString(conn, tc.first); err != nil {
				t.Fatal(err)
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			sent := 0
			// The client would need len(trick)/10 s (20 s) to finish; give up after 15 s.
			giveUp := time.After(15 * time.Second)
			for {
				select {
				case err := <-closed:
					if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
						t.Fatalf("reading the answer: %v", err)
					}
					if tc.trick != "" && sent >= len(tc.trick) {
						t.Fatalf("the server waited for all %d bytes", sent)
					}
					return
				case <-giveUp:
					t.Fatalf("connection still open after 15 s (%d of %d trickled bytes sent)", sent, len(tc.trick))
				case <-tick.C:
					if sent < len(tc.trick) {
						if _, err := conn.Write([]byte{tc.trick[sent]}); err != nil {
							return // the server closed it: what we want
						}
						sent++
					}
				}
			}
		})
	}
}
