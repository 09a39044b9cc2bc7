package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/api/quotas"
)

// quotaRoutes registers the quota area's routes: os-quota-sets, os-quota-class-sets and
// /limits, served by the package quotas.
func (s *server) quotaRoutes(api route) {
	q := quotas.New(s.store, s.log)
	api("/os-quota-sets/{target}", http.MethodGet, q.ShowQuotas)
	api("/os-quota-sets/{target}", http.MethodPut, q.UpdateQuotas)
	api("/os-quota-sets/{target}", http.MethodDelete, q.DeleteQuotas)
	api("/os-quota-sets/{target}/defaults", http.MethodGet, q.ShowDefaults)
	api("/os-quota-class-sets/{class}", http.MethodGet, q.ShowClass)
	api("/os-quota-class-sets/{class}", http.MethodPut, q.UpdateClass)
	api("/limits", http.MethodGet, q.ShowLimits)
}
