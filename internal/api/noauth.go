package api

import (
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
)

// authenticate is Cinder's NoAuthMiddleware. A token "user:project" (or "name", which is
// both) makes an admin context for that user and project; no token at all is answered, as by
// Cinder, with 204 and a fake token in X-Auth-Token plus the management URL (legacy Auth 1.1).
func (s *server) authenticate(next http.Handler) http.Handler {
	next = s.withPolicy(next)
	if s.tokens != nil {
		return s.keystoneAuth(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens := r.Header.Values("X-Auth-Token")
		if len(tokens) == 0 {
			user := headerOr(r, "X-Auth-User", "admin")
			project := headerOr(r, "X-Auth-Project-Id", "admin")
			w.Header().Set("X-Auth-Token", user+":"+project)
			w.Header().Set("X-Server-Management-Url", strings.TrimSuffix(baseURL(r)+r.URL.Path, "/")+"/"+project)
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		user, project, _ := strings.Cut(tokens[0], ":")
		if project == "" {
			project = user
		}
		rc := reqctx.From(r.Context())
		rc.UserID, rc.ProjectID = user, project
		rc.Roles, rc.IsAdmin = []string{"admin"}, true
		if roles := r.Header.Values("X-Roles"); len(roles) > 0 {
			rc.Roles, rc.IsAdmin = nil, false
			for _, role := range strings.Split(strings.Join(roles, ","), ",") {
				if role = strings.TrimSpace(role); role != "" {
					rc.Roles = append(rc.Roles, role)
					rc.IsAdmin = rc.IsAdmin || strings.EqualFold(role, "admin")
				}
			}
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.user, info.project = user, project
		}
		next.ServeHTTP(w, r.WithContext(reqctx.With(r.Context(), rc)))
	})
}

func headerOr(r *http.Request, name, def string) string {
	if v := r.Header.Get(name); v != "" {
		return v
	}
	return def
}

// checkProject refuses a URL whose project is not the caller's, as Cinder does.
func (s *server) checkProject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := mux.Vars(r)["project_id"]; p != "" && p != reqctx.From(r.Context()).ProjectID {
			wire.WriteError(w, r, s.log, wire.BadRequest(wire.MsgMalformedURL))
			return
		}
		next.ServeHTTP(w, r)
	})
}
