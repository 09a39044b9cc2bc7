package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

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
	"GET /volumes/{volume_id}/encryption":            "volume_extension:volume_encryption_metadata",
	"GET /volumes/{volume_id}/encryption/{key}":      "volume_extension:volume_encryption_metadata",
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
	"POST /os-volume-transfer":                       "volume:create_transfer",
	"GET /os-volume-transfer":                        "volume:get_all_transfers",
	"GET /os-volume-transfer/detail":                 "volume:get_all_transfers",
	"GET /os-volume-transfer/{transfer_id}":          "volume:get_transfer",
	"DELETE /os-volume-transfer/{transfer_id}":       "volume:delete_transfer",
	"POST /os-volume-transfer/{transfer_id}/accept":  "volume:accept_transfer",
	"POST /volume-transfers":                         "volume:create_transfer",
	"GET /volume-transfers":                          "volume:get_all_transfers",
	"GET /volume-transfers/detail":                   "volume:get_all_transfers",
	"GET /volume-transfers/{transfer_id}":            "volume:get_transfer",
	"DELETE /volume-transfers/{transfer_id}":         "volume:delete_transfer",
	"POST /volume-transfers/{transfer_id}/accept":    "volume:accept_transfer",
	"GET /types/{type_id}":                           "volume_extension:type_get",
	"GET /types/{type_id}/extra_specs":               "volume_extension:types_extra_specs:index",
	"GET /types/{type_id}/extra_specs/{key}":         "volume_extension:types_extra_specs:show",
	"GET /limits":                                    "limits_extension:used_limits",
	// Backups (backups.go, backups_actions.go).
	"GET /backups":                                         "backup:get_all",
	"GET /backups/detail":                                  "backup:get_all",
	"POST /backups":                                        "backup:create",
	"GET /backups/{backup_id}":                             "backup:get",
	"PUT /backups/{backup_id}":                             "backup:update",
	"DELETE /backups/{backup_id}":                          "backup:delete",
	"POST /backups/{backup_id}/restore":                    "backup:restore",
	"GET /groups":                                          policyGroupGetAll,
	"GET /groups/detail":                                   policyGroupGetAll,
	"POST /groups":                                         policyGroupCreate,
	"POST /groups/action":                                  policyGroupCreate,
	"GET /groups/{group_id}":                               policyGroupGet,
	"PUT /groups/{group_id}":                               policyGroupUpdate,
	"GET /group_snapshots":                                 "group:get_all_group_snapshots",
	"GET /group_snapshots/detail":                          "group:get_all_group_snapshots",
	"POST /group_snapshots":                                "group:create_group_snapshot",
	"GET /group_snapshots/{group_snapshot_id}":             "group:get_group_snapshot",
	"DELETE /group_snapshots/{group_snapshot_id}":          "group:delete_group_snapshot",
	"GET /cgsnapshots":                                     "group:get_all_group_snapshots",
	"GET /cgsnapshots/detail":                              "group:get_all_group_snapshots",
	"POST /cgsnapshots":                                    "group:create_group_snapshot",
	"GET /cgsnapshots/{cgsnapshot_id}":                     "group:get_group_snapshot",
	"DELETE /cgsnapshots/{cgsnapshot_id}":                  "group:delete_group_snapshot",
	"GET /consistencygroups":                               policyGroupGetAll,
	"GET /consistencygroups/detail":                        policyGroupGetAll,
	"POST /consistencygroups":                              policyGroupCreate,
	"POST /consistencygroups/create_from_src":              policyGroupCreate,
	"GET /consistencygroups/{consistencygroup_id}":         policyGroupGet,
	"PUT /consistencygroups/{consistencygroup_id}/update":  policyGroupUpdate,
	"POST /consistencygroups/{consistencygroup_id}/delete": policyGroupDelete,
	"PUT /consistencygroups/{consistencygroup_id}":         policyGroupUpdate,
	"DELETE /consistencygroups/{consistencygroup_id}":      policyGroupDelete,
}

// volumeActionRules names Cinder's rule of each volume action but os-extend, whose rule
// depends on the volume's status (extendVolume decides it).
var volumeActionRules = map[string]string{
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
	"os-reset_status":          policyResetStatus,
	"os-force_delete":          policyForceDelete,
	"os-force_detach":          policyForceDetach,
}

// snapshotActionRules names Cinder's rule of each snapshot action.
var snapshotActionRules = map[string]string{
	"os-reset_status":           policySnapshotResetStatus,
	"os-force_delete":           policySnapshotForceDelete,
	"os-update_snapshot_status": "snapshot_extension:snapshot_actions:update_snapshot_status",
}

// objectKinds names, for each route variable that identifies the object an endpoint acts
// on, the kind of that object.
var objectKinds = map[string]string{
	"volume_id": "Volume", "snapshot_id": "Snapshot", "attachment_id": "VolumeAttachment",
	"message_id": "Message", "transfer_id": "Transfer",
	"backup_id":         "Backup",
	"group_id":          "Group",
	"group_snapshot_id": "GroupSnapshot", "cgsnapshot_id": "GroupSnapshot",
	"consistencygroup_id": "Group",
}

// bodyObjectRoutes are the creates whose policy target is an object named in the body (the
// volume a snapshot, an attachment or a transfer is made of), by the kind of that object.
var bodyObjectRoutes = map[string]string{
	"POST /snapshots":          "Volume",
	"POST /attachments":        "Volume",
	"POST /os-volume-transfer": "Volume",
	"POST /volume-transfers":   "Volume",
	"POST /backups":            "Volume",
	"POST /group_snapshots":    "Group",
	"POST /cgsnapshots":        "Group",
}

// callerTargetRoutes name an object but decide their rule on the caller's project, as
// Cinder does: the volume of a transfer being accepted is not the caller's yet, and a
// transfer is shown on the caller's project (the database lookup limits what is visible).
var callerTargetRoutes = map[string]bool{
	"POST /os-volume-transfer/{transfer_id}/accept": true,
	"POST /volume-transfers/{transfer_id}/accept":   true,
	"GET /os-volume-transfer/{transfer_id}":         true,
	"GET /volume-transfers/{transfer_id}":           true,
}

// volumeGetRoutes load their volume as Cinder's volume_api.get does, which decides
// volume:get on it first and answers a denial as the volume not found: every endpoint on
// /volumes/{volume_id} and the snapshot create (the attachment and transfer creates read
// the volume without it).
var volumeGetRoutes = map[string]bool{"POST /snapshots": true, "POST /backups": true}

// pendingRule is a policy decision left to the handler, as Cinder makes it: on the object
// the endpoint acts on (its target_obj), once loaded. A caller who may not see the object
// gets 404 first; the rule is then decided on the object's project_id, so that a reader or
// a policy file testing project_id alone gets the answer Cinder gives.
type pendingRule = authz.Pending

// withRule decides the endpoint's policy rule. Lists, creates of unowned objects and types
// are decided before the handler runs, on the caller's project (Cinder's default target);
// an endpoint on one object leaves it pending until the handler loads the object (decideOn).
// An object endpoint that answers success without having decided it is a bug, and fails
// closed: the client gets the rule's 403 instead of the success, and the bug is logged as an
// error (the deny-all test walks every route for it).
func (s *server) withRule(method, path string, h http.Handler) http.Handler {
	rule := endpointRules[method+" "+path]
	kind, id := bodyObjectRoutes[method+" "+path], ""
	if kind == "" && !callerTargetRoutes[method+" "+path] {
		for v, k := range objectKinds {
			if strings.Contains(path, "{"+v+"}") {
				kind, id = k, v
			}
		}
	}
	if kind == "" && rule == "" {
		return h
	}
	if kind == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f := authorize(r, rule, reqctx.From(r.Context()).ProjectID); f != nil {
				wire.WriteError(w, r, s.log, f)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &pendingRule{Rule: rule, Kind: kind}
		if id != "" {
			p.ID = mux.Vars(r)[id]
		}
		if volumeGetRoutes[method+" "+path] || id == "volume_id" {
			p.Gate = policyVolumeGet
		}
		g := &undecidedGuard{ResponseWriter: w, s: s, r: r, p: p, route: method + " " + path}
		h.ServeHTTP(g, r.WithContext(authz.WithPending(r.Context(), p)))
	})
}

// undecidedGuard stands between an object endpoint's handler and the client. When the
// handler starts a success (a status below 400) while the endpoint's rule is still pending,
// the handler never loaded its object through its getter: the guard answers the rule's 403
// in the success's place, drops what the handler writes after, and logs the bug. A handler
// that failed (4xx/5xx) is answered as it wrote.
type undecidedGuard struct {
	http.ResponseWriter
	s      *server
	r      *http.Request
	p      *pendingRule
	route  string
	wrote  bool // the first WriteHeader was seen
	denied bool // the guard answered 403 instead of the handler
}

func (g *undecidedGuard) WriteHeader(code int) {
	if g.denied {
		return
	}
	if !g.wrote {
		g.wrote = true
		if code < http.StatusBadRequest && g.p.Rule != "" && !g.p.Decided {
			g.denied = true
			reqctx.Log(g.r.Context(), g.s.log).WithFields(logrus.Fields{"rule": g.p.Rule, "route": g.route, "status": code}).
				Error("policy rule never decided: the handler did not load its object through its getter; answered 403")
			h := g.ResponseWriter.Header()
			for _, k := range []string{"Etag", "Location", "Last-Modified"} {
				h.Del(k)
			}
			wire.WriteJSON(g.ResponseWriter, http.StatusForbidden,
				wire.New(http.StatusForbidden, "Policy doesn't allow %s to be performed.", g.p.Rule).Body())
			return
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *undecidedGuard) Write(b []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.denied {
		return len(b), nil // the handler's success body is not the answer
	}
	return g.ResponseWriter.Write(b)
}

func (g *undecidedGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// policyVolumeGet is the rule of showing a volume, also decided by every other endpoint on
// one volume before its own.
const policyVolumeGet = "volume:get"

// decideOn decides the request's pending rule when the object just loaded (kind, id, of
// project) is the one the endpoint acts on; anything else passes (authz.DecideOn).
func decideOn(ctx context.Context, kind, id, project string) error {
	return authz.DecideOn(ctx, kind, id, project)
}

// deferRule sets the rule a volume action leaves pending on its volume.
func deferRule(r *http.Request, rule string) {
	if p := authz.PendingOf(r.Context()); p != nil && !p.Decided {
		p.Rule = rule
	}
}

// deferVolumeAction leaves a volume action's rule pending on its volume, decided when the
// action loads it.
func deferVolumeAction(r *http.Request, action string) {
	if rule, ok := volumeActionRules[action]; ok {
		deferRule(r, rule)
	}
}

// versionsV3Handler serves GET /v3 and /v3/. With Keystone it wants a token, as Cinder's
// /v3 pipeline has keystonemiddleware in front of its version document (only / is outside
// it); under noauth it answers anyone, as before.
func (s *server) versionsV3Handler() http.Handler {
	h := http.Handler(wire.Handle(s.log, s.versionsV3))
	if s.tokens != nil {
		h = s.authenticate(h)
	}
	return h
}
