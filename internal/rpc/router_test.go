package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpc"
)

type resizeArgs struct {
	VolumeID string `json:"volume_id"`
	Size     int    `json:"size"`
}

// TestRouter: a routed method's handler gets its arguments decoded into its own type; an
// unknown method or undecodable arguments are refused with rpc.ErrUndeliverable and one log
// line carrying the request id and the method, and no handler runs.
func TestRouter(t *testing.T) {
	cases := []struct {
		name      string
		method    string
		args      string // raw JSON; "" for none
		wantErr   bool
		wantReply any
		wantGot   *resizeArgs
		wantLog   string // in the log line of a refusal
	}{
		{name: "typed handler gets its args", method: "resize", args: `{"volume_id":"v1","size":3}`,
			wantReply: "resized", wantGot: &resizeArgs{VolumeID: "v1", Size: 3}},
		{name: "absent args are the zero value", method: "resize", wantReply: "resized", wantGot: &resizeArgs{}},
		{name: "null args are the zero value", method: "resize", args: `null`, wantReply: "resized", wantGot: &resizeArgs{}},
		{name: "cast handler answers nothing", method: "forget", args: `"v2"`},
		{name: "undecodable args", method: "resize", args: `{"size":"big"}`, wantErr: true, wantLog: "decode arguments"},
		{name: "args not JSON", method: "resize", args: `{`, wantErr: true, wantLog: "decode arguments"},
		{name: "unknown method", method: "shrink", args: `{}`, wantErr: true, wantLog: "unknown method"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := logrus.New()
			log.SetOutput(&buf)
			log.SetFormatter(&logrus.JSONFormatter{})
			r := rpc.NewRouter("test", log)
			var got *resizeArgs
			var forgot string
			rpc.On(r, "resize", func(ctx context.Context, a resizeArgs) (any, error) {
				got = &a
				return "resized", nil
			})
			rpc.OnCast(r, "forget", func(ctx context.Context, id string) error {
				forgot = id
				return nil
			})
			ctx := reqctx.With(context.Background(), reqctx.Context{RequestID: "req-router-1"})
			msg := &rpc.Message{ID: "m1", Method: tc.method, Args: json.RawMessage(tc.args)}
			reply, err := r.Handle(ctx, msg)
			if tc.wantErr {
				if !errors.Is(err, rpc.ErrUndeliverable) {
					t.Fatalf("error %v, want rpc.ErrUndeliverable", err)
				}
				if got != nil || forgot != "" {
					t.Error("a handler ran for a refused message")
				}
				lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
				if len(lines) != 1 {
					t.Fatalf("%d log lines, want 1: %s", len(lines), buf.String())
				}
				var entry map[string]any
				if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
					t.Fatal(err)
				}
				if entry["request_id"] != "req-router-1" || entry["method"] != tc.method || entry["message_id"] != "m1" ||
					!strings.Contains(entry["error"].(string), tc.wantLog) {
					t.Errorf("log line %s, want request id, method, message id and %q", lines[0], tc.wantLog)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if reply != tc.wantReply {
				t.Errorf("reply %v, want %v", reply, tc.wantReply)
			}
			if tc.wantGot != nil && (got == nil || *got != *tc.wantGot) {
				t.Errorf("handler got %+v, want %+v", got, tc.wantGot)
			}
			if tc.method == "forget" && forgot != "v2" {
				t.Errorf("cast handler got %q, want v2", forgot)
			}
			if buf.Len() != 0 {
				t.Errorf("logged for a good message: %s", buf.String())
			}
		})
	}
}

// TestRouterHandlerErrors: a handler's own error comes back as it is (not undeliverable: the
// transport delivers the cast again).
func TestRouterHandlerErrors(t *testing.T) {
	r := rpc.NewRouter("test", logrus.New())
	boom := errors.New("database unavailable")
	rpc.OnCast(r, "m", func(ctx context.Context, _ struct{}) error { return boom })
	_, err := r.Handle(context.Background(), &rpc.Message{Method: "m", Args: json.RawMessage(`{}`)})
	if !errors.Is(err, boom) || errors.Is(err, rpc.ErrUndeliverable) {
		t.Errorf("error %v, want the handler's own", err)
	}
}

// TestRouterDuplicateRoute: routing a method twice is a programming error.
func TestRouterDuplicateRoute(t *testing.T) {
	r := rpc.NewRouter("test", logrus.New())
	rpc.OnCast(r, "m", func(context.Context, struct{}) error { return nil })
	defer func() {
		if recover() == nil {
			t.Error("a second route for m did not panic")
		}
	}()
	rpc.OnCast(r, "m", func(context.Context, struct{}) error { return nil })
}

// TestRouterMethods lists the routes, sorted.
func TestRouterMethods(t *testing.T) {
	r := rpc.NewRouter("test", logrus.New())
	for _, m := range []string{"b", "a", "c"} {
		rpc.OnCast(r, m, func(context.Context, struct{}) error { return nil })
	}
	if got := strings.Join(r.Methods(), ","); got != "a,b,c" {
		t.Errorf("Methods() = %s", got)
	}
}
