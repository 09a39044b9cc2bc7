package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/scoria/scoria/internal/reqctx"
)

// TestUndecidedRuleFailsClosed: an object endpoint whose handler answers success without
// having decided its rule (it never loaded its object through its getter) is a bug that
// must deny, not allow: the client gets the rule's 403 in Cinder's format, nothing of the
// handler's success (body, ETag, Location), and the bug is logged as an error with the
// request id. A handler that decides and then succeeds, or that fails, answers as it wrote.
func TestUndecidedRuleFailsClosed(t *testing.T) {
	const vol = "0b8e5a4e-6d0e-4b8a-9d3c-2a7f1b5e9c01"
	decide := func(r *http.Request) {
		if err := decideOn(r.Context(), "Volume", vol, testProject); err != nil {
			t.Errorf("decideOn the owner's volume: %v", err)
		}
	}
	for _, c := range []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantLogged bool
	}{
		{"202 without deciding", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://example.com/v3/p1/volumes/"+vol)
			wire.WriteAccepted(w)
		}, http.StatusForbidden, true},
		{"200 body without WriteHeader", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"abc"`)
			_, _ = w.Write([]byte(`{"volume": {"id": "` + vol + `"}}`))
		}, http.StatusForbidden, true},
		{"JSON success without deciding", func(w http.ResponseWriter, r *http.Request) {
			wire.WriteJSON(w, http.StatusOK, map[string]string{"secret": "data"})
		}, http.StatusForbidden, true},
		{"decided, then 202", func(w http.ResponseWriter, r *http.Request) {
			decide(r)
			wire.WriteAccepted(w)
		}, http.StatusAccepted, false},
		{"a failure without deciding is answered as written", func(w http.ResponseWriter, r *http.Request) {
			wire.WriteJSON(w, http.StatusNotFound, wire.New(http.StatusNotFound, "Volume %s could not be found.", vol).Body())
		}, http.StatusNotFound, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			log, hook := test.NewNullLogger()
			s := &server{log: log}
			router := mux.NewRouter()
			router.Handle("/volumes/{volume_id}", s.withRule(http.MethodDelete, "/volumes/{volume_id}", c.handler))
			req := httptest.NewRequest(http.MethodDelete, "/volumes/"+vol, nil)
			rid := reqctx.NewRequestID()
			req = req.WithContext(reqctx.With(req.Context(), reqctx.Context{
				RequestID: rid, UserID: testUser, ProjectID: testProject, Roles: []string{"member"}}))
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)

			if rec.Code != c.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, c.wantStatus, rec.Body)
			}
			if c.wantStatus == http.StatusForbidden {
				wantFault(t, rec, http.StatusForbidden, "forbidden", "Policy doesn't allow volume:delete to be performed.")
				for _, h := range []string{"Location", "ETag"} {
					if v := rec.Header().Get(h); v != "" {
						t.Errorf("the denial carries the handler's %s %q", h, v)
					}
				}
			}
			var logged *logrus.Entry
			for _, e := range hook.AllEntries() {
				if strings.Contains(e.Message, "policy rule never decided") {
					logged = e
				}
			}
			switch {
			case c.wantLogged && logged == nil:
				t.Error("the undecided rule was not logged")
			case c.wantLogged && (logged.Level != logrus.ErrorLevel || logged.Data["request_id"] != rid || logged.Data["rule"] != "volume:delete"):
				t.Errorf("log line %v %q %v, want an error with request_id %s and rule volume:delete", logged.Level, logged.Message, logged.Data, rid)
			case !c.wantLogged && logged != nil:
				t.Errorf("logged %q for a handler that did nothing wrong", logged.Message)
			}
		})
	}
}
