package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/auth"
	"github.com/scoria/scoria/internal/reqctx"
)

// TokenValidator validates Keystone tokens (auth.Keystone).
type TokenValidator interface {
	Validate(ctx context.Context, token string) (*auth.Identity, error)
	AuthenticateURI() string
}

// keystoneAuth is keystonemiddleware's auth_token for the API: X-Auth-Token must be a valid
// Keystone token (401 with WWW-Authenticate otherwise, 503 when Keystone cannot say), and a
// valid X-Service-Token adds its roles as the context's service roles.
func (s *server) keystoneAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id, err := s.tokens.Validate(ctx, r.Header.Get("X-Auth-Token"))
		if err != nil {
			s.authFailed(w, r, err)
			return
		}
		rc := reqctx.From(ctx)
		rc.UserID, rc.ProjectID, rc.Roles = id.UserID, id.ProjectID, id.Roles
		rc.UserDomainID, rc.ProjectDomainID = id.UserDomainID, id.ProjectDomainID
		rc.IsAdmin = s.policy.IsAdmin(authz.Credentials(rc))
		rc.AuthToken = r.Header.Get("X-Auth-Token")
		if st := r.Header.Get("X-Service-Token"); st != "" {
			sid, err := s.tokens.Validate(ctx, st)
			if err != nil {
				s.authFailed(w, r, err)
				return
			}
			rc.ServiceRoles = sid.Roles
		}
		if s.serviceRolesRequired && len(s.serviceRoles) > 0 && rc.ServiceRoles != nil && !hasAnyRole(rc.ServiceRoles, s.serviceRoles) {
			s.authFailed(w, r, auth.ErrInvalid)
			return
		}
		if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
			info.user, info.project = rc.UserID, rc.ProjectID
		}
		next.ServeHTTP(w, r.WithContext(reqctx.With(ctx, rc)))
	})
}

func hasAnyRole(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// authFailed answers as keystonemiddleware does: 401 with Keystone's error body and where to
// get a token, or 503 when Keystone could not be asked (never a 500, never a pass).
func (s *server) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	log := reqctx.Log(r.Context(), s.log)
	if errors.Is(err, auth.ErrUnavailable) {
		log.WithError(err).Error("token validation failed: identity service unavailable")
		wire.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]any{
			"code": http.StatusServiceUnavailable, "title": "Service Unavailable",
			"message": "The server is currently unavailable. Please try again at a later time."}})
		return
	}
	log.WithError(err).Info("request refused: invalid or missing token")
	w.Header().Set("WWW-Authenticate", `Keystone uri="`+s.tokens.AuthenticateURI()+`"`)
	wire.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
		"code": http.StatusUnauthorized, "title": "Unauthorized",
		"message": "The request you have made requires authentication."}})
}

// withPolicy puts the server's policy enforcer in the request's context for authorize.
func (s *server) withPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(authz.WithEnforcer(r.Context(), s.policy)))
	})
}

// mayDeleteInstanceAttachment is the CVE-2023-2088 rule: with Keystone, only a service (a
// valid X-Service-Token holding one of service_token_roles, "service" by default) may delete
// an attachment that has an instance and a connector; with noauth, an admin may.
func (s *server) mayDeleteInstanceAttachment(ctx context.Context) bool {
	rc := reqctx.From(ctx)
	if s.tokens == nil {
		return rc.IsAdmin
	}
	roles := s.serviceRoles
	if len(roles) == 0 {
		roles = []string{"service"}
	}
	return hasAnyRole(rc.ServiceRoles, roles)
}
