package api

import (
	"context"
	"net/http"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/wire"
)

// Policy rules of the admin-only endpoints, named as in Cinder's policy file so that the
// 403 reads the same.
const (
	policyServicesIndex = "volume_extension:services:index"
	policyGetPools      = "scheduler_extension:scheduler_stats:get_pools"
	policyCapabilities  = "volume_extension:capabilities"
)

// The policy decisions live in the subpackage authz, shared with the areas in packages of
// their own; these are its short names for the handlers here.

// authorize decides rule for the caller on a resource of project (Cinder's target
// project_id): the server's policy (Cinder's defaults and the operator's policy file).
func authorize(r *http.Request, rule, project string) *wire.Fault {
	return authz.Authorize(r.Context(), rule, project)
}

// authorizeIn is authorize for a request's context.
func authorizeIn(ctx context.Context, rule, project string) *wire.Fault {
	return authz.Authorize(ctx, rule, project)
}

// allowedIn decides rule as authorizeIn does, without the fault: Cinder's
// context.authorize(rule, fatal=False), which decides what a view shows.
func allowedIn(ctx context.Context, rule, project string) bool {
	return authz.Allowed(ctx, rule, project)
}

// authorizeAdmin decides a rule whose target is the caller's own project, as Cinder's
// admin APIs do (admin_api by default).
func authorizeAdmin(r *http.Request, rule string) *wire.Fault {
	return authz.AuthorizeAdmin(r, rule)
}
