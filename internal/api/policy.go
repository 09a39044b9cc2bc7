package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/reqctx"
)

// Policy rules of the admin-only endpoints, named as in Cinder's policy file so that the
// 403 reads the same.
const (
	policyServicesIndex = "volume_extension:services:index"
	policyGetPools      = "scheduler_extension:scheduler_stats:get_pools"
	policyCapabilities  = "volume_extension:capabilities"
)

// authorizeAdmin is the one place that decides whether the caller may use an admin-only
// endpoint: Cinder's default policy (rule:admin_api). With noauth every caller is an admin;
// Keystone authentication will make this check bite.
func authorizeAdmin(r *http.Request, rule string) *fault {
	if reqctx.From(r.Context()).IsAdmin {
		return nil
	}
	return newFault(http.StatusForbidden, "Policy doesn't allow %s to be performed.", rule)
}
