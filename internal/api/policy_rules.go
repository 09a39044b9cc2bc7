package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/reqctx"
)

// endpointRules names Cinder's policy rule of each per-project endpoint, by method and
// route path (as registered with api). The admin-only endpoints decide their rules in their
// handlers (authorizeAdmin); these are the admin_or_owner/persona rules of volumes,
// snapshots, attachments, messages and types.
var endpointRules = map[string]string{
	"GET /volumes":                                   "volume:get_all",
	"GET /volumes/detail":                            "volume:get_all",
	"GET /volumes/summary":                           "volume:get_all",
	"POST /volumes":                                  "volume:create",
	"GET /volumes/{volume_id}":                       "volume:get",
	"PUT /volumes/{volume_id}":                       "volume:update",
	"DELETE /volumes/{volume_id}":                    "volume:delete",
	"GET /volumes/{volume_id}/metadata":              "volume:get_volume_metadata",
	"GET /volumes/{volume_id}/metadata/{key}":        "volume:get_volume_metadata",
	"POST /volumes/{volume_id}/metadata":             "volume:create_volume_metadata",
	"PUT /volumes/{volume_id}/metadata":              "volume:update_volume_metadata",
	"PUT /volumes/{volume_id}/metadata/{key}":        "volume:update_volume_metadata",
	"DELETE /volumes/{volume_id}/metadata/{key}":     "volume:delete_volume_metadata",
	"GET /snapshots":                                 "volume:get_all_snapshots",
	"GET /snapshots/detail":                          "volume:get_all_snapshots",
	"POST /snapshots":                                "volume:create_snapshot",
	"GET /snapshots/{snapshot_id}":                   "volume:get_snapshot",
	"PUT /snapshots/{snapshot_id}":                   "volume:update_snapshot",
	"DELETE /snapshots/{snapshot_id}":                "volume:delete_snapshot",
	"GET /snapshots/{snapshot_id}/metadata":          "volume:get_snapshot_metadata",
	"GET /snapshots/{snapshot_id}/metadata/{key}":    "volume:get_snapshot_metadata",
	"POST /snapshots/{snapshot_id}/metadata":         "volume:update_snapshot_metadata",
	"PUT /snapshots/{snapshot_id}/metadata":          "volume:update_snapshot_metadata",
	"PUT /snapshots/{snapshot_id}/metadata/{key}":    "volume:update_snapshot_metadata",
	"DELETE /snapshots/{snapshot_id}/metadata/{key}": "volume:delete_snapshot_metadata",
	"POST /attachments":                              "volume:attachment_create",
	"PUT /attachments/{attachment_id}":               "volume:attachment_update",
	"DELETE /attachments/{attachment_id}":            "volume:attachment_delete",
	"POST /attachments/{attachment_id}/action":       "volume:attachment_complete",
	"GET /messages":                                  "message:get_all",
	"GET /messages/{message_id}":                     "message:get",
	"DELETE /messages/{message_id}":                  "message:delete",
	"GET /types":                                     "volume_extension:type_get_all",
	"GET /types/{type_id}":                           "volume_extension:type_get",
}

// volumeActionRules names Cinder's rule of each per-project volume action; the admin
// actions decide theirs in their handlers.
var volumeActionRules = map[string]string{
	"os-extend":                "volume:extend",
	"revert":                   "volume:revert_to_snapshot",
	"os-set_bootable":          "volume:update",
	"os-update_readonly_flag":  "volume:update_readonly_flag",
	"os-retype":                "volume:retype",
	"os-reserve":               "volume_extension:volume_actions:reserve",
	"os-unreserve":             "volume_extension:volume_actions:unreserve",
	"os-begin_detaching":       "volume_extension:volume_actions:begin_detaching",
	"os-roll_detaching":        "volume_extension:volume_actions:roll_detaching",
	"os-initialize_connection": "volume_extension:volume_actions:initialize_connection",
	"os-terminate_connection":  "volume_extension:volume_actions:terminate_connection",
	"os-attach":                "volume_extension:volume_actions:attach",
	"os-detach":                "volume_extension:volume_actions:detach",
	"os-set_image_metadata":    "volume_extension:volume_image_metadata:set",
	"os-unset_image_metadata":  "volume_extension:volume_image_metadata:remove",
	"os-show_image_metadata":   "volume_extension:volume_image_metadata:show",
}

// withRule decides the endpoint's policy rule before its handler runs. The target project
// is the caller's own: every per-project object a non-admin can reach belongs to it (other
// projects' objects stay 404 in the handlers), so the decision equals Cinder's on the
// object's project_id.
func (s *server) withRule(method, path string, h http.Handler) http.Handler {
	rule, ok := endpointRules[method+" "+path]
	if !ok {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := authorize(r, rule, reqctx.From(r.Context()).ProjectID); f != nil {
			s.writeError(w, r, f)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorizeVolumeAction decides a volume action's rule, if it has one here.
func authorizeVolumeAction(r *http.Request, action string) *fault {
	rule, ok := volumeActionRules[action]
	if !ok {
		return nil
	}
	return authorize(r, rule, reqctx.From(r.Context()).ProjectID)
}

// versionsV3Handler serves GET /v3 and /v3/. With Keystone it wants a token, as Cinder's
// /v3 pipeline has keystonemiddleware in front of its version document (only / is outside
// it); under noauth it answers anyone, as before.
func (s *server) versionsV3Handler() http.Handler {
	h := http.Handler(http.HandlerFunc(s.versionsV3))
	if s.tokens != nil {
		h = s.authenticate(h)
	}
	return h
}
