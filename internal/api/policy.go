package api

import (
	"context"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/reqctx"
)

// Policy rules of the admin-only endpoints, named as in Cinder's policy file so that the
// 403 reads the same.
const (
	policyServicesIndex = "volume_extension:services:index"
	policyGetPools      = "scheduler_extension:scheduler_stats:get_pools"
	policyCapabilities  = "volume_extension:capabilities"
)

// enforcerKey carries the server's policy enforcer in a request's context, so that the
// authorize functions need only the request.
type enforcerKey struct{}

// credentialsOf is what policy check strings may test of the caller.
func credentialsOf(rc reqctx.Context) policy.Credentials {
	isAdmin := "False"
	if rc.IsAdmin {
		isAdmin = "True"
	}
	return policy.Credentials{Roles: rc.Roles, Values: map[string]string{
		"user_id": rc.UserID, "project_id": rc.ProjectID, "domain_id": rc.ProjectDomainID,
		"user_domain_id": rc.UserDomainID, "project_domain_id": rc.ProjectDomainID,
		"is_admin": isAdmin, "is_admin_project": "True",
	}}
}

// authorize decides rule for the caller on a resource of project (Cinder's target
// project_id): the server's policy (Cinder's defaults and the operator's policy file).
func authorize(r *http.Request, rule, project string) *wire.Fault {
	return authorizeIn(r.Context(), rule, project)
}

// authorizeIn is authorize for a request's context.
func authorizeIn(ctx context.Context, rule, project string) *wire.Fault {
	if allowedIn(ctx, rule, project) {
		return nil
	}
	return wire.New(http.StatusForbidden, "Policy doesn't allow %s to be performed.", rule)
}

// allowedIn decides rule as authorizeIn does, without the fault: Cinder's
// context.authorize(rule, fatal=False), which decides what a view shows.
func allowedIn(ctx context.Context, rule, project string) bool {
	rc := reqctx.From(ctx)
	e, _ := ctx.Value(enforcerKey{}).(*policy.Enforcer)
	if e == nil {
		e = defaultEnforcer
	}
	return e.Allowed(rule, policy.Target{"project_id": project, "user_id": rc.UserID, "domain_id": rc.ProjectDomainID}, credentialsOf(rc))
}

// defaultEnforcer holds Cinder's defaults, for requests that did not pass the server's
// middleware (tests calling handlers directly).
var defaultEnforcer = mustDefaults()

func mustDefaults() *policy.Enforcer {
	e, err := policy.New(policy.Options{})
	if err != nil {
		panic(err) // the defaults are constants: a parse error is a programming error
	}
	return e
}

// authorizeAdmin decides a rule whose target is the caller's own project, as Cinder's
// admin APIs do (admin_api by default).
func authorizeAdmin(r *http.Request, rule string) *wire.Fault {
	return authorize(r, rule, reqctx.From(r.Context()).ProjectID)
}
