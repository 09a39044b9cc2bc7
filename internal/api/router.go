package api

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/messages"
	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
)

// route registers a handler for a path under /v3/{project_id} and /v3, for one method.
type route func(path, method string, h wire.HandlerFunc)

// handler routes the API. Every resource is served at /v3/{project_id}/… and, as Cinder does
// since 3.67, at /v3/… (the caller's project then comes from the token alone).
func (s *server) handler() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(s.unknownPath)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.methodNotAllowed(r, w, req)
	})

	r.HandleFunc("/", s.versionsRoot).Methods(http.MethodGet)
	r.Handle("/v3", s.versionsV3Handler()).Methods(http.MethodGet)
	r.Handle("/v3/", s.versionsV3Handler()).Methods(http.MethodGet)

	// Routes are registered flat, not as subrouters: gorilla/mux forgets a method mismatch
	// when a later subrouter's prefix matches, and would answer 404 instead of 405.
	api := route(func(path, method string, hf wire.HandlerFunc) {
		h := s.withRule(method, path, wire.Handle(s.log, hf))
		r.Handle("/v3/{project_id}"+path, s.authenticate(s.checkProject(h))).Methods(method)
		r.Handle("/v3"+path, s.authenticate(h)).Methods(method)
	})
	api("/volumes", http.MethodGet, s.listVolumes)
	api("/volumes", http.MethodPost, s.createVolume)
	api("/volumes/detail", http.MethodGet, s.listVolumesDetail)
	api("/volumes/summary", http.MethodGet, s.summarizeVolumes)
	api("/volumes/{volume_id}", http.MethodGet, s.showVolume)
	api("/volumes/{volume_id}", http.MethodPut, s.updateVolume)
	api("/volumes/{volume_id}", http.MethodDelete, s.deleteVolume)
	msgs := messages.New(s.store, s.log, s.maxLimit)
	api("/messages", http.MethodGet, msgs.List)
	api("/messages/{message_id}", http.MethodGet, msgs.Show)
	api("/messages/{message_id}", http.MethodDelete, msgs.Delete)
	api("/os-services", http.MethodGet, s.listServices)
	api("/os-availability-zone", http.MethodGet, s.listAvailabilityZones)
	api("/scheduler-stats/get_pools", http.MethodGet, s.getPools)
	api("/capabilities/{hostname}", http.MethodGet, s.showCapabilities)
	api("/volumes/{volume_id}/action", http.MethodPost, s.volumeAction)
	// Each area registers its own routes.
	s.typeRoutes(api)
	s.snapshotRoutes(api)
	s.quotaRoutes(api)
	s.transferRoutes(api)
	s.volumeExtraRoutes(api)
	s.attachmentRoutes(api)
	s.gapRoutes(api)
	s.backupRoutes(api)
	s.groupTypeRoutes(api)
	s.groupRoutes(api)
	s.groupSnapshotRoutes(api)
	s.cgsnapshotRoutes(api)
	s.consistencygroupRoutes(api)
	return s.base(r)
}

// base does for every request what does not depend on its route: request id and microversion
// (and their response headers), the body size limit, recovery from panics, the access log.
func (s *server) base(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := reqctx.NewRequestID()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h := w.Header()
		h.Set("X-Openstack-Request-Id", rid)
		h.Set("X-Compute-Request-Id", rid)
		mv, vf := wire.NegotiateVersion(r.Header, s.maxVersion)
		if isVersionDiscovery(r) {
			// Clients discover the range here while already sending their own maximum
			// (python-cinderclient sends 3.70): answer the document at the base version
			// whatever they ask, so a client newer than this server can negotiate down.
			mv, vf = wire.MinVersion, nil
		}
		h.Set(wire.VersionHeader, wire.ServiceType+" "+mv.String())
		h.Set("Vary", wire.VersionHeader)

		info := &requestInfo{}
		ctx := reqctx.With(r.Context(), reqctx.Context{RequestID: rid})
		ctx = context.WithValue(wire.WithVersion(ctx, mv), requestInfoKey{}, info)
		r = r.WithContext(ctx)

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				reqctx.Log(r.Context(), s.log).WithFields(logrus.Fields{
					"panic": fmt.Sprint(p), "stack": string(debug.Stack()),
				}).Error("handler panicked")
				if !rec.wroteHeader {
					wire.WriteJSON(rec, http.StatusInternalServerError, wire.New(http.StatusInternalServerError, wire.MsgServerError).Body())
				}
			}
			s.accessLog(r, rec, info, mv, time.Since(start))
		}()

		if vf != nil {
			wire.WriteError(rec, r, s.log, vf)
			return
		}
		if r.ContentLength > wire.MaxBodyBytes {
			wire.WriteError(rec, r, s.log, wire.New(http.StatusRequestEntityTooLarge, wire.MsgTooLarge))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes)
		next.ServeHTTP(rec, r)
	})
}

// isVersionDiscovery reports whether r asks for the versions document (GET / or /v3/).
func isVersionDiscovery(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch r.URL.Path {
	case "", "/", "/v3", "/v3/":
		return true
	}
	return false
}

// requestInfo carries what inner handlers learn about a request (who made it) out to the
// access log, which runs outside them.
type requestInfo struct{ user, project string }

type requestInfoKey struct{}

func (s *server) accessLog(r *http.Request, rec *recorder, info *requestInfo, mv wire.Version, d time.Duration) {
	e := s.log.WithFields(logrus.Fields{
		"method":       r.Method,
		"path":         r.URL.RequestURI(),
		"status":       rec.status,
		"bytes":        rec.bytes,
		"duration_ms":  float64(d.Microseconds()) / 1000,
		"request_id":   reqctx.From(r.Context()).RequestID,
		"microversion": mv.String(),
	})
	if info.project != "" {
		e = e.WithFields(logrus.Fields{"user_id": info.user, "project_id": info.project})
	}
	e.Info("request")
}

// recorder remembers what a handler answered, for the access log and panic recovery.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// unknownPath answers a path no route serves, in the shape Cinder's router answers it.
func (s *server) unknownPath(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusNotFound, struct {
		Message string `json:"message"`
		Code    string `json:"code"`
		Title   string `json:"title"`
	}{"The resource could not be found.<br /><br />\n\n\n", "404 Not Found", "Not Found"})
}

// methodNotAllowed answers a known path called with a method it does not serve.
func (s *server) methodNotAllowed(router *mux.Router, w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	wire.WriteError(w, r, s.log, wire.New(http.StatusMethodNotAllowed, wire.MsgMethodNotAllowed))
}
