package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
)

func TestHandle(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		cancel   bool
		status   int
		body     string
		logLevel string // "" when nothing is logged at Debug or above
	}{
		{name: "success", status: http.StatusOK, body: `{"ok":true}`},
		{name: "bad request", err: BadRequest("Invalid %s.", "thing"), status: 400,
			body: `{"badRequest":{"code":400,"message":"Invalid thing."}}`, logLevel: "debug"},
		{name: "wrapped fault", err: fmt.Errorf("checking: %w", NotFound("Volume %s could not be found.", "v1")), status: 404,
			body: `{"itemNotFound":{"code":404,"message":"Volume v1 could not be found."}}`, logLevel: "debug"},
		{name: "domain not found", err: &resource.NotFoundError{Kind: "VolumeType", ID: "t1"}, status: 404,
			body: `{"itemNotFound":{"code":404,"message":"Volume type t1 could not be found."}}`, logLevel: "debug"},
		{name: "conflict", err: fmt.Errorf("%w: busy", resource.ErrConflict), status: 409,
			body: `{"conflictingRequest":{"code":409,"message":"conflict: busy"}}`, logLevel: "debug"},
		{name: "unavailable", err: &UnavailableError{Reason: "No scheduler answered."}, status: 503,
			body: `{"serviceUnavailable":{"code":503,"message":"No scheduler answered."}}`, logLevel: "error"},
		{name: "server error", err: errors.New("disk on fire"), status: 500,
			body: `{"computeFault":{"code":500,"message":"` + MsgServerError + `"}}`, logLevel: "error"},
		{name: "client went away", err: errors.New("read: context canceled"), cancel: true, status: 500,
			body: `{"computeFault":{"code":500,"message":"` + MsgServerError + `"}}`, logLevel: "info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := logrus.New()
			log.SetOutput(&logs)
			log.SetLevel(logrus.DebugLevel)
			log.SetFormatter(&logrus.JSONFormatter{})
			h := Handle(log, func(w http.ResponseWriter, r *http.Request) error {
				if tc.err != nil {
					return tc.err
				}
				WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
				return nil
			})
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			} else {
				defer cancel()
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
			if rec.Code != tc.status || strings.ReplaceAll(rec.Body.String(), " ", "") != strings.ReplaceAll(tc.body, " ", "") {
				t.Errorf("answer %d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			switch {
			case tc.logLevel == "" && logs.Len() > 0:
				t.Errorf("logged %s", logs.String())
			case tc.logLevel != "" && !strings.Contains(logs.String(), `"level":"`+tc.logLevel+`"`):
				t.Errorf("log %s, want level %s", logs.String(), tc.logLevel)
			}
		})
	}
}

func TestFaultName(t *testing.T) {
	for status, want := range map[int]string{400: "badRequest", 404: "itemNotFound", 406: "computeFault", 413: "overLimit", 500: "computeFault"} {
		if got := FaultName(status); got != want {
			t.Errorf("FaultName(%d) = %q, want %q", status, got, want)
		}
	}
}
