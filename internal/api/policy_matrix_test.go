package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler"
	"github.com/scoria/scoria/pkg/driver"
)

// need is what Cinder Zed's default policy asks of the caller of an operation, written from
// Cinder's policy files (cinder/policies/*.py of 21.x): the new (persona) check string and
// the legacy one that still passes until enforce_new_defaults.
type need int

const (
	needNone      need = iota // no rule: any authenticated caller
	needReaderAny             // reader persona; legacy "" (any token)
	needReader                // reader persona; legacy admin_or_owner
	needMemberAny             // member persona; legacy ""
	needMember                // member persona; legacy admin_or_owner
	needAdmin                 // admin_api
	needMemberNew             // member persona, no legacy rule (volume:reimage)
)

// reach is how an operation meets alice's project, which owns every object the cases use.
type reach int

const (
	ownProject reach = iota // the caller's own collection or project (lists, creates)
	hiddenObj               // an object of alice's project: other projects get 404 before any rule
	namedProj               // alice's project named in the URL (quotas): other projects get 403
	anyProject              // an object others may act on by design (accepting alice's transfer)
)

// opCase is one operation of the API as the matrix sends it: placeholders in braces are
// objects of alice's project made fresh for each request ({vol}, {snap}, {att}, {msg},
// {transfer} with {auth_key}, {type}, {ptype} (private), {qos}, {gtype} (a group type)) or her
// project id ({alice}).
type opCase struct {
	op       string // "METHOD /route" as routed, and for actions "… (action)"
	path     string // sent under /v3/{caller's project}
	version  string
	body     string
	setup    string // a state the object needs first (see matrixFixture.prepare)
	rule     string // Cinder's rule, named in the 403; "" for none
	before   string // a rule Cinder decides before rule, which may be the one that refuses
	need     need
	reach    reach
	ok       int // the status when the policy lets the caller through
	okForBob int // for anyProject: bob's status, when it differs from ok
}

const (
	mvGroups   = "volume 3.13"
	mvAttach   = "volume 3.27"
	mvComplete = "volume 3.44"
	mvTransfer = "volume 3.55"
	mvDefaults = "volume 3.62"
)

// matrixConnector is a connector as os-brick sends it.
const matrixConnector = `{"initiator": "iqn.1993-08.org.debian:01:matrix", "ip": "127.0.0.1", "host": "compute-1", "multipath": false, "platform": "x86_64", "os_type": "linux"}`

// policyOps is every operation Scoria serves, with the rule and persona Cinder Zed's
// defaults give it. TestPolicyMatrixCoversRouter checks it against the router.
func policyOps() []opCase {
	act := func(name, body, setup, rule string, n need, ok int) opCase {
		return opCase{op: "POST /volumes/{volume_id}/action (" + name + ")", path: "/volumes/{vol}/action",
			body: fmt.Sprintf(`{%q: %s}`, name, body), setup: setup, rule: rule, need: n, reach: hiddenObj, ok: ok}
	}
	snapAct := func(name, body, setup, rule string, n need, ok int) opCase {
		return opCase{op: "POST /snapshots/{snapshot_id}/action (" + name + ")", path: "/snapshots/{snap}/action",
			body: fmt.Sprintf(`{%q: %s}`, name, body), setup: setup, rule: rule, need: n, reach: hiddenObj, ok: ok}
	}
	grpAct := func(name, body, version, rule string, n need, ok int) opCase {
		return opCase{op: "POST /groups/{group_id}/action (" + name + ")", path: "/groups/{group}/action", version: version,
			body: fmt.Sprintf(`{%q: %s}`, name, body), rule: rule, need: n, reach: hiddenObj, ok: ok}
	}
	ops := []opCase{
		// Volumes (cinder/policies/volumes.py, volume_metadata.py).
		{op: "GET /volumes", path: "/volumes", rule: "volume:get_all", need: needReader, ok: 200},
		{op: "GET /volumes/detail", path: "/volumes/detail", rule: "volume:get_all", need: needReader, ok: 200},
		{op: "GET /volumes/summary", path: "/volumes/summary", version: "volume 3.12", rule: "volume:get_all", need: needReader, ok: 200},
		{op: "POST /volumes", path: "/volumes", body: `{"volume": {"size": 1}}`, rule: "volume:create", need: needMemberAny, ok: 202},
		{op: "GET /volumes/{volume_id}", path: "/volumes/{vol}", rule: "volume:get", need: needReader, reach: hiddenObj, ok: 200},
		{op: "PUT /volumes/{volume_id}", path: "/volumes/{vol}", body: `{"volume": {"name": "renamed"}}`, rule: "volume:update", need: needMember, reach: hiddenObj, ok: 200},
		{op: "DELETE /volumes/{volume_id}", path: "/volumes/{vol}", rule: "volume:delete", need: needMember, reach: hiddenObj, ok: 202},
		{op: "DELETE /volumes/{volume_id} (force)", path: "/volumes/{vol}?force=true", version: "volume 3.23", rule: "volume:force_delete", before: "volume:delete", need: needAdmin, reach: hiddenObj, ok: 202},
		{op: "GET /volumes/{volume_id}/metadata", path: "/volumes/{vol}/metadata", rule: "volume:get_volume_metadata", need: needReader, reach: hiddenObj, ok: 200},
		{op: "GET /volumes/{volume_id}/metadata/{key}", path: "/volumes/{vol}/metadata/k", rule: "volume:get_volume_metadata", need: needReader, reach: hiddenObj, ok: 200},
		{op: "GET /volumes/{volume_id}/encryption", path: "/volumes/{vol}/encryption", rule: "volume_extension:volume_encryption_metadata", need: needReader, reach: hiddenObj, ok: 200},
		{op: "GET /volumes/{volume_id}/encryption/{key}", path: "/volumes/{vol}/encryption/encryption_key_id", rule: "volume_extension:volume_encryption_metadata", need: needReader, reach: hiddenObj, ok: 200},
		{op: "POST /volumes/{volume_id}/metadata", path: "/volumes/{vol}/metadata", body: `{"metadata": {"a": "b"}}`, rule: "volume:create_volume_metadata", need: needMember, reach: hiddenObj, ok: 200},
		{op: "PUT /volumes/{volume_id}/metadata", path: "/volumes/{vol}/metadata", body: `{"metadata": {"a": "b"}}`, rule: "volume:update_volume_metadata", need: needMember, reach: hiddenObj, ok: 200},
		{op: "PUT /volumes/{volume_id}/metadata/{key}", path: "/volumes/{vol}/metadata/k", body: `{"meta": {"k": "v2"}}`, rule: "volume:update_volume_metadata", need: needMember, reach: hiddenObj, ok: 200},
		{op: "DELETE /volumes/{volume_id}/metadata/{key}", path: "/volumes/{vol}/metadata/k", rule: "volume:delete_volume_metadata", need: needMember, reach: hiddenObj, ok: 200},
		// Volume actions (volume_actions.py, volume_metadata.py, volumes.py).
		act("os-extend", `{"new_size": 2}`, "", "volume:extend", needMember, 202),
		atVersion(opCase{op: "POST /volumes/{volume_id}/action (os-extend in-use)", path: "/volumes/{vol}/action", body: `{"os-extend": {"new_size": 2}}`,
			setup: "in-use", rule: "volume:extend_attached_volume", need: needMember, reach: hiddenObj, ok: 202}, "volume 3.42"),
		act("os-set_bootable", `{"bootable": true}`, "", "volume:update", needMember, 200),
		act("os-update_readonly_flag", `{"readonly": true}`, "", "volume:update_readonly_flag", needMember, 202),
		act("os-retype", `{"new_type": "{type}"}`, "", "volume:retype", needMember, 202),
		atVersion(act("revert", `{"snapshot_id": "{snap}"}`, "", "volume:revert_to_snapshot", needMember, 202), "volume 3.40"),
		act("os-reserve", `null`, "", "volume_extension:volume_actions:reserve", needMember, 202),
		act("os-unreserve", `null`, "reserved", "volume_extension:volume_actions:unreserve", needMember, 202),
		act("os-begin_detaching", `null`, "in-use", "volume_extension:volume_actions:begin_detaching", needMember, 202),
		act("os-roll_detaching", `null`, "detaching", "volume_extension:volume_actions:roll_detaching", needMember, 202),
		act("os-initialize_connection", `{"connector": `+matrixConnector+`}`, "", "volume_extension:volume_actions:initialize_connection", needMember, 200),
		act("os-terminate_connection", `{"connector": `+matrixConnector+`}`, "", "volume_extension:volume_actions:terminate_connection", needMember, 202),
		act("os-attach", `{"instance_uuid": "{instance}", "mountpoint": "/dev/vdb"}`, "reserved", "volume_extension:volume_actions:attach", needMember, 202),
		act("os-detach", `{}`, "in-use", "volume_extension:volume_actions:detach", needMember, 202),
		act("os-set_image_metadata", `{"metadata": {"a": "b"}}`, "", "volume_extension:volume_image_metadata:set", needMember, 200),
		act("os-unset_image_metadata", `{"key": "k"}`, "image-metadata", "volume_extension:volume_image_metadata:remove", needMember, 200),
		act("os-show_image_metadata", `null`, "", "volume_extension:volume_image_metadata:show", needReader, 200),
		act("os-reset_status", `{"status": "error"}`, "", "volume_extension:volume_admin_actions:reset_status", needAdmin, 202),
		act("os-force_delete", `{}`, "", "volume_extension:volume_admin_actions:force_delete", needAdmin, 202),
		act("os-force_detach", `{}`, "", "volume_extension:volume_admin_actions:force_detach", needAdmin, 202),
		// Snapshots (snapshots.py, snapshot_metadata.py, snapshot_actions.py).
		{op: "GET /snapshots", path: "/snapshots", rule: "volume:get_all_snapshots", need: needReader, ok: 200},
		{op: "GET /snapshots/detail", path: "/snapshots/detail", rule: "volume:get_all_snapshots", need: needReader, ok: 200},
		{op: "POST /snapshots", path: "/snapshots", body: `{"snapshot": {"volume_id": "{vol}"}}`, rule: "volume:create_snapshot", need: needMember, reach: hiddenObj, ok: 202},
		{op: "GET /snapshots/{snapshot_id}", path: "/snapshots/{snap}", rule: "volume:get_snapshot", need: needReader, reach: hiddenObj, ok: 200},
		{op: "PUT /snapshots/{snapshot_id}", path: "/snapshots/{snap}", body: `{"snapshot": {"name": "renamed"}}`, rule: "volume:update_snapshot", need: needMember, reach: hiddenObj, ok: 200},
		{op: "DELETE /snapshots/{snapshot_id}", path: "/snapshots/{snap}", rule: "volume:delete_snapshot", need: needMember, reach: hiddenObj, ok: 202},
		{op: "GET /snapshots/{snapshot_id}/metadata", path: "/snapshots/{snap}/metadata", rule: "volume:get_snapshot_metadata", need: needReader, reach: hiddenObj, ok: 200},
		{op: "GET /snapshots/{snapshot_id}/metadata/{key}", path: "/snapshots/{snap}/metadata/k", rule: "volume:get_snapshot_metadata", need: needReader, reach: hiddenObj, ok: 200},
		{op: "POST /snapshots/{snapshot_id}/metadata", path: "/snapshots/{snap}/metadata", body: `{"metadata": {"a": "b"}}`, rule: "volume:update_snapshot_metadata", need: needMember, reach: hiddenObj, ok: 200},
		{op: "PUT /snapshots/{snapshot_id}/metadata", path: "/snapshots/{snap}/metadata", body: `{"metadata": {"a": "b"}}`, rule: "volume:update_snapshot_metadata", need: needMember, reach: hiddenObj, ok: 200},
		{op: "PUT /snapshots/{snapshot_id}/metadata/{key}", path: "/snapshots/{snap}/metadata/k", body: `{"meta": {"k": "v2"}}`, rule: "volume:update_snapshot_metadata", need: needMember, reach: hiddenObj, ok: 200},
		{op: "DELETE /snapshots/{snapshot_id}/metadata/{key}", path: "/snapshots/{snap}/metadata/k", rule: "volume:delete_snapshot_metadata", need: needMember, reach: hiddenObj, ok: 200},
		// Group snapshots (group_snapshots.py, group_snapshot_actions.py).
		{op: "GET /group_snapshots", path: "/group_snapshots", version: "volume 3.14", rule: "group:get_all_group_snapshots", need: needReader, ok: 200},
		{op: "GET /group_snapshots/detail", path: "/group_snapshots/detail", version: "volume 3.14", rule: "group:get_all_group_snapshots", need: needReader, ok: 200},
		{op: "POST /group_snapshots", path: "/group_snapshots", version: "volume 3.14", body: `{"group_snapshot": {"group_id": "{sgroup}"}}`, rule: "group:create_group_snapshot", need: needMemberAny, reach: hiddenObj, ok: 202},
		{op: "GET /group_snapshots/{group_snapshot_id}", path: "/group_snapshots/{gsnap}", version: "volume 3.14", rule: "group:get_group_snapshot", need: needReader, reach: hiddenObj, ok: 200},
		{op: "DELETE /group_snapshots/{group_snapshot_id}", path: "/group_snapshots/{gsnap}", version: "volume 3.14", rule: "group:delete_group_snapshot", need: needMember, reach: hiddenObj, ok: 202},
		{op: "POST /group_snapshots/{group_snapshot_id}/action (reset_status)", path: "/group_snapshots/{gsnap}/action", version: "volume 3.19", body: `{"reset_status": {"status": "error"}}`, rule: "group:reset_group_snapshot_status", need: needAdmin, reach: hiddenObj, ok: 202},
		{op: "GET /cgsnapshots", path: "/cgsnapshots", rule: "group:get_all_group_snapshots", need: needReader, ok: 200},
		{op: "GET /cgsnapshots/detail", path: "/cgsnapshots/detail", rule: "group:get_all_group_snapshots", need: needReader, ok: 200},
		{op: "POST /cgsnapshots", path: "/cgsnapshots", body: `{"cgsnapshot": {"consistencygroup_id": "{sgroup}"}}`, rule: "group:create_group_snapshot", need: needMemberAny, reach: hiddenObj, ok: 202},
		{op: "GET /cgsnapshots/{cgsnapshot_id}", path: "/cgsnapshots/{gsnap}", rule: "group:get_group_snapshot", need: needReader, reach: hiddenObj, ok: 200},
		{op: "DELETE /cgsnapshots/{cgsnapshot_id}", path: "/cgsnapshots/{gsnap}", rule: "group:delete_group_snapshot", need: needMember, reach: hiddenObj, ok: 202},
		// Consistency groups (consistencygroups.py): the group rules.
		{op: "GET /consistencygroups", path: "/consistencygroups", rule: "group:get_all", need: needReader, ok: 200},
		{op: "GET /consistencygroups/detail", path: "/consistencygroups/detail", rule: "group:get_all", need: needReader, ok: 200},
		{op: "POST /consistencygroups", path: "/consistencygroups", body: `{"consistencygroup": {"volume_types": "__DEFAULT__"}}`, rule: "group:create", need: needMemberAny, ok: 202},
		{op: "POST /consistencygroups/create_from_src", path: "/consistencygroups/create_from_src", body: `{"consistencygroup-from-src": {"source_cgid": "{cg}"}}`, rule: "group:create", need: needMemberAny, reach: hiddenObj, ok: 400},
		{op: "GET /consistencygroups/{consistencygroup_id}", path: "/consistencygroups/{cg}", rule: "group:get", need: needReader, reach: hiddenObj, ok: 200},
		{op: "PUT /consistencygroups/{consistencygroup_id}/update", path: "/consistencygroups/{cg}/update", body: `{"consistencygroup": {"name": "renamed"}}`, rule: "group:update", need: needMember, reach: hiddenObj, ok: 202},
		{op: "POST /consistencygroups/{consistencygroup_id}/delete", path: "/consistencygroups/{cg}/delete", body: `{"consistencygroup": {"force": true}}`, rule: "group:delete", need: needMember, reach: hiddenObj, ok: 202},
		{op: "PUT /consistencygroups/{consistencygroup_id}", path: "/consistencygroups/{cg}", body: `{"consistencygroup": {"name": "renamed"}}`, rule: "group:update", need: needMember, reach: hiddenObj, ok: 202},
		{op: "DELETE /consistencygroups/{consistencygroup_id}", path: "/consistencygroups/{cg}", rule: "group:delete", need: needMember, reach: hiddenObj, ok: 202},
		snapAct("os-reset_status", `{"status": "error"}`, "", "volume_extension:snapshot_admin_actions:reset_status", needAdmin, 202),
		snapAct("os-force_delete", `{}`, "", "volume_extension:snapshot_admin_actions:force_delete", needAdmin, 202),
		snapAct("os-update_snapshot_status", `{"status": "available"}`, "snapshot-creating", "snapshot_extension:snapshot_actions:update_snapshot_status", needMemberAny, 202),
		// Attachments (attachments.py: no rule to list or show them).
		{op: "GET /attachments", path: "/attachments", version: mvAttach, need: needNone, ok: 200},
		{op: "GET /attachments/detail", path: "/attachments/detail", version: mvAttach, need: needNone, ok: 200},
		{op: "GET /attachments/{attachment_id}", path: "/attachments/{att}", version: mvAttach, need: needNone, reach: hiddenObj, ok: 200},
		{op: "POST /attachments", path: "/attachments", version: mvAttach, body: `{"attachment": {"volume_uuid": "{vol}", "instance_uuid": "{instance}"}}`, rule: "volume:attachment_create", need: needMemberAny, reach: hiddenObj, ok: 200},
		{op: "PUT /attachments/{attachment_id}", path: "/attachments/{att}", version: mvAttach, body: `{"attachment": {"connector": ` + matrixConnector + `}}`, rule: "volume:attachment_update", need: needMember, reach: hiddenObj, ok: 200},
		{op: "DELETE /attachments/{attachment_id}", path: "/attachments/{att}", version: mvAttach, rule: "volume:attachment_delete", need: needMember, reach: hiddenObj, ok: 200},
		{op: "POST /attachments/{attachment_id}/action (os-complete)", path: "/attachments/{att}/action", version: mvComplete, body: `{"os-complete": null}`, setup: "connected", rule: "volume:attachment_complete", need: needMember, reach: hiddenObj, ok: 204},
		// Messages (messages.py).
		{op: "GET /messages", path: "/messages", version: "volume 3.3", rule: "message:get_all", need: needReader, ok: 200},
		{op: "GET /messages/{message_id}", path: "/messages/{msg}", version: "volume 3.3", rule: "message:get", need: needReader, reach: hiddenObj, ok: 200},
		{op: "DELETE /messages/{message_id}", path: "/messages/{msg}", version: "volume 3.3", rule: "message:delete", need: needMember, reach: hiddenObj, ok: 204},
		// Types (volume_type.py, type_extra_specs.py, volume_access.py): types are not a
		// project's, so others are not hidden from them.
		{op: "GET /types", path: "/types", rule: "volume_extension:type_get_all", need: needReaderAny, ok: 200},
		{op: "GET /types/{type_id}", path: "/types/{type}", rule: "volume_extension:type_get", need: needReaderAny, ok: 200},
		// A private type alice's project was given: another project does not find it.
		{op: "GET /types/{type_id} (private)", path: "/types/{ptype}", setup: "type-access", rule: "volume_extension:type_get", need: needReaderAny, reach: hiddenObj, ok: 200},
		{op: "POST /types", path: "/types", body: `{"volume_type": {"name": "{name}"}}`, rule: "volume_extension:type_create", need: needAdmin, ok: 200},
		{op: "PUT /types/{type_id}", path: "/types/{type}", body: `{"volume_type": {"description": "d"}}`, rule: "volume_extension:type_update", need: needAdmin, ok: 200},
		{op: "DELETE /types/{type_id}", path: "/types/{type}", rule: "volume_extension:type_delete", need: needAdmin, ok: 202},
		{op: "GET /types/{type_id}/extra_specs", path: "/types/{type}/extra_specs", rule: "volume_extension:types_extra_specs:index", need: needReaderAny, ok: 200},
		{op: "GET /types/{type_id}/extra_specs/{key}", path: "/types/{type}/extra_specs/RESKEY:availability_zones", rule: "volume_extension:types_extra_specs:show", need: needReaderAny, ok: 200},
		{op: "POST /types/{type_id}/extra_specs", path: "/types/{type}/extra_specs", body: `{"extra_specs": {"a": "b"}}`, rule: "volume_extension:types_extra_specs:create", need: needAdmin, ok: 200},
		{op: "PUT /types/{type_id}/extra_specs/{key}", path: "/types/{type}/extra_specs/RESKEY:availability_zones", body: `{"RESKEY:availability_zones": "nova"}`, rule: "volume_extension:types_extra_specs:update", need: needAdmin, ok: 200},
		{op: "DELETE /types/{type_id}/extra_specs/{key}", path: "/types/{type}/extra_specs/RESKEY:availability_zones", rule: "volume_extension:types_extra_specs:delete", need: needAdmin, ok: 202},
		{op: "GET /types/{type_id}/os-volume-type-access", path: "/types/{ptype}/os-volume-type-access", rule: "volume_extension:volume_type_access:get_all_for_type", need: needAdmin, ok: 200},
		{op: "POST /types/{type_id}/action (addProjectAccess)", path: "/types/{ptype}/action", body: `{"addProjectAccess": {"project": "{alice}"}}`, rule: "volume_extension:volume_type_access:addProjectAccess", need: needAdmin, ok: 202},
		{op: "POST /types/{type_id}/action (removeProjectAccess)", path: "/types/{ptype}/action", body: `{"removeProjectAccess": {"project": "{alice}"}}`, setup: "type-access", rule: "volume_extension:volume_type_access:removeProjectAccess", need: needAdmin, ok: 202},
		// Group types (group_types.py, 3.11): listing and showing have no rule.
		{op: "GET /group_types", path: "/group_types", version: mvGroupTypes, need: needNone, ok: 200},
		{op: "POST /group_types", path: "/group_types", version: mvGroupTypes, body: `{"group_type": {"name": "{name}"}}`, rule: "group:group_types:create", need: needAdmin, ok: 202},
		{op: "GET /group_types/{group_type_id}", path: "/group_types/{gtype}", version: mvGroupTypes, need: needNone, ok: 200},
		{op: "PUT /group_types/{group_type_id}", path: "/group_types/{gtype}", version: mvGroupTypes, body: `{"group_type": {"description": "d"}}`, rule: "group:group_types:update", need: needAdmin, ok: 200},
		{op: "DELETE /group_types/{group_type_id}", path: "/group_types/{gtype}", version: mvGroupTypes, rule: "group:group_types:delete", need: needAdmin, ok: 202},
		{op: "GET /group_types/{group_type_id}/group_specs", path: "/group_types/{gtype}/group_specs", version: mvGroupTypes, rule: "group:group_types_specs:get_all", need: needAdmin, ok: 200},
		{op: "POST /group_types/{group_type_id}/group_specs", path: "/group_types/{gtype}/group_specs", version: mvGroupTypes, body: `{"group_specs": {"a": "b"}}`, rule: "group:group_types_specs:create", need: needAdmin, ok: 202},
		{op: "GET /group_types/{group_type_id}/group_specs/{spec_key}", path: "/group_types/{gtype}/group_specs/k", version: mvGroupTypes, rule: "group:group_types_specs:get", need: needAdmin, ok: 200},
		{op: "PUT /group_types/{group_type_id}/group_specs/{spec_key}", path: "/group_types/{gtype}/group_specs/k", version: mvGroupTypes, body: `{"k": "v2"}`, rule: "group:group_types_specs:update", need: needAdmin, ok: 200},
		{op: "DELETE /group_types/{group_type_id}/group_specs/{spec_key}", path: "/group_types/{gtype}/group_specs/k", version: mvGroupTypes, rule: "group:group_types_specs:delete", need: needAdmin, ok: 202},
		// Volume type encryption (volume_type_encryption.py): admin_api.
		{op: "GET /types/{type_id}/encryption", path: "/types/{type}/encryption", rule: "volume_extension:volume_type_encryption:get", need: needAdmin, ok: 200},
		{op: "POST /types/{type_id}/encryption", path: "/types/{type}/encryption", body: `{"encryption": {"provider": "luks", "control_location": "front-end"}}`, rule: "volume_extension:volume_type_encryption:create", need: needAdmin, ok: 200},
		{op: "GET /types/{type_id}/encryption/{key}", path: "/types/{type}/encryption/provider", setup: "encryption", rule: "volume_extension:volume_type_encryption:get", need: needAdmin, ok: 200},
		{op: "PUT /types/{type_id}/encryption/{key}", path: "/types/{type}/encryption/e", setup: "encryption", body: `{"encryption": {"key_size": 512}}`, rule: "volume_extension:volume_type_encryption:update", need: needAdmin, ok: 200},
		{op: "DELETE /types/{type_id}/encryption/{key}", path: "/types/{type}/encryption/e", setup: "encryption", rule: "volume_extension:volume_type_encryption:delete", need: needAdmin, ok: 202},
		// Default types (default_types.py, 3.62): the project of the URL is the target.
		{op: "PUT /default-types/{project}", path: "/default-types/{alice}", version: mvDefaults, body: `{"default_type": {"volume_type": "{type}"}}`, rule: "volume_extension:default_set_or_update", need: needAdmin, reach: namedProj, ok: 200},
		{op: "GET /default-types/{project}", path: "/default-types/{alice}", version: mvDefaults, setup: "default-type", rule: "volume_extension:default_get", need: needAdmin, reach: namedProj, ok: 200},
		{op: "GET /default-types", path: "/default-types", version: mvDefaults, rule: "volume_extension:default_get_all", need: needAdmin, ok: 200},
		{op: "DELETE /default-types/{project}", path: "/default-types/{alice}", version: mvDefaults, rule: "volume_extension:default_unset", need: needAdmin, reach: namedProj, ok: 204},
		// QoS specs (qos_specs.py): admin only.
		{op: "GET /qos-specs", path: "/qos-specs", rule: "volume_extension:qos_specs_manage:get_all", need: needAdmin, ok: 200},
		{op: "POST /qos-specs", path: "/qos-specs", body: `{"qos_specs": {"name": "{name}", "consumer": "front-end", "read_iops_sec": "100"}}`, rule: "volume_extension:qos_specs_manage:create", need: needAdmin, ok: 200},
		{op: "GET /qos-specs/{qos_id}", path: "/qos-specs/{qos}", rule: "volume_extension:qos_specs_manage:get", need: needAdmin, ok: 200},
		{op: "PUT /qos-specs/{qos_id}", path: "/qos-specs/{qos}", body: `{"qos_specs": {"write_iops_sec": "200"}}`, rule: "volume_extension:qos_specs_manage:update", need: needAdmin, ok: 200},
		{op: "DELETE /qos-specs/{qos_id}", path: "/qos-specs/{qos}", rule: "volume_extension:qos_specs_manage:delete", need: needAdmin, ok: 202},
		{op: "PUT /qos-specs/{qos_id}/delete_keys", path: "/qos-specs/{qos}/delete_keys", body: `{"keys": ["read_iops_sec"]}`, rule: "volume_extension:qos_specs_manage:update", need: needAdmin, ok: 202},
		{op: "GET /qos-specs/{qos_id}/associations", path: "/qos-specs/{qos}/associations", rule: "volume_extension:qos_specs_manage:get_all", need: needAdmin, ok: 200},
		{op: "GET /qos-specs/{qos_id}/associate", path: "/qos-specs/{qos}/associate?vol_type_id={type}", rule: "volume_extension:qos_specs_manage:update", need: needAdmin, ok: 202},
		{op: "GET /qos-specs/{qos_id}/disassociate", path: "/qos-specs/{qos}/disassociate?vol_type_id={type}", rule: "volume_extension:qos_specs_manage:update", need: needAdmin, ok: 202},
		{op: "GET /qos-specs/{qos_id}/disassociate_all", path: "/qos-specs/{qos}/disassociate_all", rule: "volume_extension:qos_specs_manage:update", need: needAdmin, ok: 202},
		// Quotas and limits (quotas.py, quota_class.py, limits.py): a quota set's target is
		// the project of the URL.
		{op: "GET /os-quota-sets/{target}", path: "/os-quota-sets/{alice}", rule: "volume_extension:quotas:show", need: needReader, reach: namedProj, ok: 200},
		{op: "GET /os-quota-sets/{target}/defaults", path: "/os-quota-sets/{alice}/defaults", rule: "volume_extension:quotas:show", need: needReader, reach: namedProj, ok: 200},
		{op: "PUT /os-quota-sets/{target}", path: "/os-quota-sets/{alice}", body: `{"quota_set": {"volumes": 100000}}`, rule: "volume_extension:quotas:update", need: needAdmin, reach: namedProj, ok: 200},
		{op: "DELETE /os-quota-sets/{target}", path: "/os-quota-sets/{alice}", rule: "volume_extension:quotas:delete", need: needAdmin, reach: namedProj, ok: 200},
		{op: "GET /os-quota-class-sets/{class}", path: "/os-quota-class-sets/default", rule: "volume_extension:quota_classes:get", need: needAdmin, ok: 200},
		{op: "PUT /os-quota-class-sets/{class}", path: "/os-quota-class-sets/matrix", body: `{"quota_class_set": {"volumes": 20}}`, rule: "volume_extension:quota_classes:update", need: needAdmin, ok: 200},
		{op: "GET /limits", path: "/limits", rule: "limits_extension:used_limits", need: needReader, ok: 200},
		// Services, pools, capabilities (services.py, scheduler_stats.py, capabilities.py).
		{op: "GET /os-services", path: "/os-services", rule: "volume_extension:services:index", need: needAdmin, ok: 200},
		{op: "GET /scheduler-stats/get_pools", path: "/scheduler-stats/get_pools", rule: "scheduler_extension:scheduler_stats:get_pools", need: needAdmin, ok: 200},
		{op: "GET /capabilities/{hostname}", path: "/capabilities/" + attachHost, rule: "volume_extension:capabilities", need: needAdmin, ok: 200},
		// No rule in Cinder.
		{op: "GET /os-availability-zone", path: "/os-availability-zone", need: needNone, ok: 200},
		{op: "GET /extensions", path: "/extensions", need: needNone, ok: 200},
		{op: "GET /resource_filters", path: "/resource_filters", version: "volume 3.33", need: needNone, ok: 200},
		// Groups (groups.py, group_actions.py).
		{op: "GET /groups", path: "/groups", version: mvGroups, rule: "group:get_all", need: needReader, ok: 200},
		{op: "GET /groups/detail", path: "/groups/detail", version: mvGroups, rule: "group:get_all", need: needReader, ok: 200},
		{op: "POST /groups", path: "/groups", version: mvGroups, body: `{"group": {"group_type": "{gtype}", "volume_types": ["__DEFAULT__"]}}`, rule: "group:create", need: needMemberAny, ok: 202},
		{op: "POST /groups/action", path: "/groups/action", version: "volume 3.14", body: `{"create-from-src": {"source_group_id": "{group}"}}`, rule: "group:create", need: needMemberAny, reach: hiddenObj, ok: 400},
		{op: "GET /groups/{group_id}", path: "/groups/{group}", version: mvGroups, rule: "group:get", need: needReader, reach: hiddenObj, ok: 200},
		{op: "PUT /groups/{group_id}", path: "/groups/{group}", version: mvGroups, body: `{"group": {"name": "renamed"}}`, rule: "group:update", need: needMember, reach: hiddenObj, ok: 202},
		grpAct("delete", `{}`, mvGroups, "group:delete", needMember, 202),
		grpAct("reset_status", `{"status": "error"}`, "volume 3.20", "group:reset_status", needAdmin, 202),
		grpAct("enable_replication", `{}`, "volume 3.38", "group:enable_replication", needMember, 400),
		grpAct("disable_replication", `{}`, "volume 3.38", "group:disable_replication", needMember, 400),
		grpAct("failover_replication", `{}`, "volume 3.38", "group:failover_replication", needMember, 400),
		grpAct("list_replication_targets", `{}`, "volume 3.38", "group:list_replication_targets", needMember, 400),
	}
	ops = append(ops, gapPolicyOps()...)
	// Transfers (volume_transfer.py), under both collections. Accepting is what another
	// project does with alice's transfer: its target is the accepting caller's project.
	for _, c := range []struct{ col, version string }{{"os-volume-transfer", ""}, {"volume-transfers", mvTransfer}} {
		p := "/" + c.col
		ops = append(ops,
			opCase{op: "POST " + p, path: p, version: c.version, body: `{"transfer": {"volume_id": "{vol}"}}`, rule: "volume:create_transfer", need: needMember, reach: hiddenObj, ok: 202},
			opCase{op: "GET " + p, path: p, version: c.version, rule: "volume:get_all_transfers", need: needReader, ok: 200},
			opCase{op: "GET " + p + "/detail", path: p + "/detail", version: c.version, rule: "volume:get_all_transfers", need: needReader, ok: 200},
			opCase{op: "GET " + p + "/{transfer_id}", path: p + "/{transfer}", version: c.version, rule: "volume:get_transfer", need: needReader, reach: hiddenObj, ok: 200},
			opCase{op: "DELETE " + p + "/{transfer_id}", path: p + "/{transfer}", version: c.version, rule: "volume:delete_transfer", need: needMember, reach: hiddenObj, ok: 202},
			opCase{op: "POST " + p + "/{transfer_id}/accept", path: p + "/{transfer}/accept", version: c.version, body: `{"accept": {"auth_key": "{auth_key}"}}`, rule: "volume:accept_transfer", need: needMemberAny, reach: anyProject, ok: 202},
		)
	}
	return ops
}

func atVersion(c opCase, v string) opCase {
	c.version = v
	return c
}

// expected is the status Cinder's defaults give persona who for c: legacy (Zed's default,
// the persona and the legacy strings both pass) or strict (enforce_new_defaults).
func (c opCase) expected(who string, strict bool) int {
	switch who {
	case "none", "expired", "garbage":
		return http.StatusUnauthorized
	case "admin":
		return c.ok
	}
	allowed := false
	switch c.need {
	case needNone, needReaderAny, needReader:
		allowed = true // alice (member and, by Keystone's implied roles, reader), carol (reader), bob
	case needMemberAny, needMember:
		allowed = who != "carol" || !strict
	case needAdmin:
		allowed = false
	case needMemberNew:
		allowed = who != "carol"
	}
	if who == "bob" {
		switch c.reach {
		case hiddenObj:
			return http.StatusNotFound
		case namedProj:
			return http.StatusForbidden
		case anyProject:
			if allowed && c.okForBob != 0 {
				return c.okForBob
			}
		}
	}
	if !allowed {
		return http.StatusForbidden
	}
	return c.ok
}

// matrixPersona is how one persona calls: its token, the headers that make it a persona
// under noauth, and its project.
type matrixPersona struct {
	token, project string
	header         map[string]string
}

// policyMatrix runs cases against one server: alice's project owns the objects, admin makes
// the administrator's fixtures.
type policyMatrix struct {
	t        *testing.T
	e        *env // the server under test
	fix      *env // the server that makes the fixtures: e, or one on the same database
	personas map[string]matrixPersona
}

// fixture makes, for one request, the objects its placeholders name, in alice's project.
type fixture struct {
	m    *policyMatrix
	vals map[string]string
}

func (m *policyMatrix) callOn(e *env, who, method, path, version, body string) *httptest.ResponseRecorder {
	m.t.Helper()
	p := m.personas[who]
	project := p.project
	if project == "" {
		project = m.personas["alice"].project
	}
	return e.do(call{method: method, path: "/v3/" + project + path, version: version, body: body, token: p.token, header: p.header})
}

// must sends a fixture request and fails the test unless it answers want.
func (m *policyMatrix) must(who, method, path, version, body string, want int) any {
	m.t.Helper()
	rec := m.callOn(m.fix, who, method, path, version, body)
	if rec.Code != want {
		m.t.Fatalf("fixture %s %s as %s: %d, want %d: %s", method, path, who, rec.Code, want, rec.Body)
	}
	if rec.Body.Len() == 0 {
		return nil
	}
	return obj(m.t, rec)
}

func (f *fixture) get(name string) string {
	if v, ok := f.vals[name]; ok {
		return v
	}
	m, t := f.m, f.m.t
	t.Helper()
	ctx := context.Background()
	alice := m.personas["alice"].project
	var v string
	switch name {
	case "alice":
		v = alice
	case "name":
		v = "matrix-" + uuid.NewString()[:8]
	case "instance":
		v = uuid.NewString()
	case "vol":
		vol := &resource.Volume{ProjectID: alice, UserID: "alice", Size: 1, Status: resource.StatusAvailable,
			AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID,
			Host: attachHost + "#file", Metadata: map[string]string{"k": "v"}}
		if _, err := m.fix.store.CreateVolume(ctx, vol); err != nil {
			t.Fatal(err)
		}
		v = vol.ID
	case "snap":
		sn := &resource.Snapshot{ProjectID: alice, UserID: "alice", VolumeID: f.get("vol"), Status: resource.SnapshotAvailable,
			Size: 1, Metadata: map[string]string{"k": "v"}}
		if _, err := m.fix.store.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable, resource.StatusInUse}); err != nil {
			t.Fatal(err)
		}
		v = sn.ID
	case "sgroup":
		v = m.fix.groupOf(alice, attachHost+"#file", "matrix", resource.StatusAvailable)
	case "gsnap":
		gs := &resource.GroupSnapshot{GroupID: f.get("sgroup"), ProjectID: alice, UserID: "alice"}
		if _, _, err := m.fix.store.CreateGroupSnapshot(ctx, gs); err != nil {
			t.Fatal(err)
		}
		if err := m.fix.store.FinishGroupSnapshot(ctx, gs.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		v = gs.ID
	case "att":
		out := m.must("alice", "POST", "/attachments", mvAttach,
			fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "instance_uuid": %q}}`, f.get("vol"), f.get("instance")), 200)
		v = str(t, out, "attachment", "id")
	case "msg":
		v = m.fix.addMessage(alice, f.get("vol"), "matrix").ID
	case "transfer", "auth_key":
		out := m.must("alice", "POST", "/volume-transfers", mvTransfer, fmt.Sprintf(`{"transfer": {"volume_id": %q}}`, f.get("vol")), 202)
		f.vals["transfer"], f.vals["auth_key"] = str(t, out, "transfer", "id"), str(t, out, "transfer", "auth_key")
		return f.vals[name]
	case "type", "ptype":
		public := name == "type"
		out := m.must("admin", "POST", "/types", "", fmt.Sprintf(`{"volume_type": {"name": %q, "os-volume-type-access:is_public": %v}}`, f.get("name")+name, public), 200)
		v = str(t, out, "volume_type", "id")
		// A key Cinder shows to everyone (USER_VISIBLE_EXTRA_SPECS) that any pool here fits.
		m.must("admin", "POST", "/types/"+v+"/extra_specs", "", `{"extra_specs": {"RESKEY:availability_zones": "nova"}}`, 200)
	case "gtype":
		out := m.must("admin", "POST", "/group_types", mvGroupTypes, fmt.Sprintf(`{"group_type": {"name": %q, "group_specs": {"k": "v"}}}`, f.get("name")+name), 202)
		v = str(t, out, "group_type", "id")
		if _, err := m.fix.store.UpdateProjectQuotas(ctx, alice, map[string]int64{resource.QuotaGroups: -1}); err != nil {
			t.Fatal(err)
		}
	case "group":
		g := &resource.Group{ProjectID: alice, UserID: "alice", AvailabilityZone: "nova", Host: attachHost + "#file",
			GroupTypeID: f.get("gtype"), VolumeTypeIDs: []string{db.DefaultVolumeTypeID}, Status: resource.GroupStatusAvailable}
		if _, err := m.fix.store.CreateGroup(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
		v = g.ID
	case "cg":
		if _, err := m.fix.store.UpdateProjectQuotas(ctx, alice, map[string]int64{resource.QuotaGroups: -1}); err != nil {
			t.Fatal(err)
		}
		g := &resource.Group{ProjectID: alice, UserID: "alice", AvailabilityZone: "nova", Host: attachHost + "#file",
			GroupTypeID: db.DefaultCGSnapshotTypeID, VolumeTypeIDs: []string{db.DefaultVolumeTypeID}, Status: resource.GroupStatusAvailable}
		if _, err := m.fix.store.CreateGroup(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
		v = g.ID
	case "qos":
		out := m.must("admin", "POST", "/qos-specs", "", fmt.Sprintf(`{"qos_specs": {"name": %q, "consumer": "front-end", "read_iops_sec": "100"}}`, f.get("name")), 200)
		v = str(t, out, "qos_specs", "id")
	default:
		t.Fatalf("unknown placeholder {%s}", name)
	}
	f.vals[name] = v
	return v
}

// fill replaces the placeholders of s.
func (f *fixture) fill(s string) string {
	for {
		i := strings.Index(s, "{")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}")
		name := s[i+1 : i+j]
		if name == "" || strings.ContainsAny(name, `" :{`) { // JSON, not a placeholder
			rest := f.fill(s[i+1:])
			return s[:i+1] + rest
		}
		s = s[:i] + f.get(name) + s[i+j+1:]
	}
}

// prepare puts the case's objects in the state the operation needs.
func (f *fixture) prepare(c opCase) {
	m, t := f.m, f.m.t
	t.Helper()
	ctx := context.Background()
	switch c.setup {
	case "":
	case "reserved", "in-use", "detaching":
		id := f.get("vol")
		m.must("alice", "POST", "/volumes/"+id+"/action", "", `{"os-reserve": null}`, 202)
		if c.setup == "reserved" {
			return
		}
		m.must("alice", "POST", "/volumes/"+id+"/action", "", fmt.Sprintf(`{"os-attach": {"instance_uuid": %q, "mountpoint": "/dev/vdb"}}`, f.get("instance")), 202)
		if c.setup == "detaching" {
			m.must("alice", "POST", "/volumes/"+id+"/action", "", `{"os-begin_detaching": null}`, 202)
		}
	case "image-metadata":
		m.must("alice", "POST", "/volumes/"+f.get("vol")+"/action", "", `{"os-set_image_metadata": {"metadata": {"k": "v"}}}`, 200)
	case "snapshot-creating":
		if _, err := m.fix.raw.ExecContext(ctx, `UPDATE snapshots SET status = 'creating' WHERE id = ?`, f.get("snap")); err != nil {
			t.Fatal(err)
		}
	case "connected":
		m.must("alice", "PUT", "/attachments/"+f.get("att"), mvAttach, `{"attachment": {"connector": `+matrixConnector+`}}`, 200)
	case "type-access":
		m.must("admin", "POST", "/types/"+f.get("ptype")+"/action", "", fmt.Sprintf(`{"addProjectAccess": {"project": %q}}`, f.get("alice")), 202)
	case "encryption":
		m.must("admin", "POST", "/types/"+f.get("type")+"/encryption", "", `{"encryption": {"provider": "luks", "control_location": "front-end"}}`, 200)
	case "default-type":
		m.must("admin", "PUT", "/default-types/"+f.get("alice"), mvDefaults, fmt.Sprintf(`{"default_type": {"volume_type": %q}}`, f.get("type")), 200)
	default:
		t.Fatalf("unknown setup %q", c.setup)
	}
}

// run sends c as who with fresh objects and returns the status and body.
func (m *policyMatrix) run(c opCase, who string) (int, string) {
	m.t.Helper()
	f := &fixture{m: m, vals: map[string]string{}}
	path, body := f.fill(c.path), f.fill(c.body)
	f.prepare(c)
	method, _, _ := strings.Cut(c.op, " ")
	rec := m.callOn(m.e, who, method, path, c.version, body)
	return rec.Code, rec.Body.String()
}

// check runs c as who and compares with want: the status, and that a 403 names the rule,
// a 404 is Cinder's itemNotFound and a 401 Keystone's.
func (m *policyMatrix) check(c opCase, who string, want int) {
	m.t.Helper()
	got, body := m.run(c, who)
	if got != want {
		m.t.Errorf("%s as %s: %d, want %d: %.300s", c.op, who, got, want, body)
		return
	}
	switch want {
	case http.StatusForbidden:
		msg := "Policy doesn't allow " + c.rule + " to be performed."
		if c.before != "" && strings.Contains(body, "Policy doesn't allow "+c.before+" to be performed.") {
			break
		}
		if c.rule == "volume_extension:default_get_all" { // Cinder's own words there
			msg = "You are not authorized to perform this operation."
		}
		if !strings.Contains(body, msg) {
			m.t.Errorf("%s as %s: 403 %s, want %q", c.op, who, body, msg)
		}
	case http.StatusNotFound:
		if !strings.Contains(body, `"itemNotFound"`) {
			m.t.Errorf("%s as %s: 404 %s", c.op, who, body)
		}
	}
}

// matrixEnv is attachEnv with the local-file pool's capacity reported, so that extends fit.
func matrixEnv(t *testing.T, configure ...func(*Options)) *env {
	t.Helper()
	var sched *scheduler.Scheduler
	e := attachEnv(t, append([]func(*Options){func(o *Options) {
		sched = &scheduler.Scheduler{Store: o.Store.(scheduler.Store), Log: logrus.New(), ServiceDownTime: time.Minute}
		o.Pools = sched
	}}, configure...)...)
	ctx := context.Background()
	if _, err := e.store.RegisterService(ctx, &resource.Service{Binary: resource.BinaryVolume, Host: attachHost, Topic: "scoria-volume", AvailabilityZone: "nova"}); err != nil {
		t.Fatal(err)
	}
	total := 1000.0
	report := rpcapi.CapabilitiesArgs{Host: attachHost, AvailabilityZone: "nova", ReportedAt: time.Now().UTC(),
		Stats: driver.Stats{VolumeBackendName: "file", Pools: []driver.Pool{{Name: "file", TotalCapacityGB: driver.Capacity(total),
			FreeCapacityGB: driver.Capacity(total), ThickProvisioningSupport: true, Multiattach: true, MaxOverSubscriptionRatio: "1"}}}}
	sched.UpdateCapabilities(report)
	if err := e.store.UpsertPool(ctx, resource.PoolCapacity{Name: attachHost + "#file", Backend: attachHost,
		TotalGB: &total, Ratio: 1, ReportedAt: report.ReportedAt}); err != nil {
		t.Fatal(err)
	}
	return e
}

// withPolicy is another server on e's database and services, deciding with p.
func (e *env) withPolicy(p *policy.Enforcer) *env {
	e.t.Helper()
	o := e.opts
	o.Policy = p
	h, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	other := *e
	other.h = h
	return &other
}

// undecided fails the test if a handler answered success without deciding its rule.
func (m *policyMatrix) undecided() {
	m.t.Helper()
	for _, entry := range m.e.logs.AllEntries() {
		if strings.Contains(entry.Message, "policy rule never decided") {
			m.t.Errorf("a handler never decided its rule: %v", entry.Data)
		}
	}
}

// noauthPersonas are the matrix's personas under noauth: X-Roles as Keystone would give
// them (its implied roles make a member a reader too); no header is an admin.
func noauthPersonas() map[string]matrixPersona {
	member := map[string]string{"X-Roles": "member,reader"}
	return map[string]matrixPersona{
		"admin": {token: "admin:admin", project: "admin"},
		"alice": {token: "alice:demo-a", project: "demo-a", header: member},
		"carol": {token: "carol:demo-a", project: "demo-a", header: map[string]string{"X-Roles": "reader"}},
		"bob":   {token: "bob:demo-b", project: "demo-b", header: member},
	}
}

// TestPolicyMatrixNoauth: every operation, for the admin, a member, a reader and another
// project's member under noauth's X-Roles, under Zed's defaults and enforce_new_defaults.
func TestPolicyMatrixNoauth(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("enforce_new_defaults=%v", strict), func(t *testing.T) {
			e := matrixEnv(t, withEnforcer(enforcer(t, policy.Options{EnforceNewDefaults: strict})))
			m := &policyMatrix{t: t, e: e, fix: e, personas: noauthPersonas()}
			for _, c := range policyOps() {
				for _, who := range []string{"admin", "alice", "carol", "bob"} {
					m.check(c, who, c.expected(who, strict))
				}
			}
			m.undecided()
		})
	}
}

// TestPolicyMatrixKeystone: every operation for every persona with real Keystone tokens:
// the admin, a member, a reader, another project's member, no token, an expired token (from
// the test Keystone's short-token instance) and a garbage one.
func TestPolicyMatrixKeystone(t *testing.T) {
	requireTestKeystone(t)
	v := keystoneValidator(t, testKeystone)
	personas := map[string]matrixPersona{"none": {token: "-"}, "garbage": {token: "gAAAAAB-garbage"}}
	for who, u := range map[string][3]string{
		"admin": {"admin", "admin-secret", "admin"}, "alice": {"alice", "alice-secret", "demo-a"},
		"carol": {"carol", "carol-secret", "demo-a"}, "bob": {"bob", "bob-secret", "demo-b"},
	} {
		p := login(t, v, u[0], u[1], u[2])
		personas[who] = matrixPersona{token: p.token, project: p.project}
	}
	personas["expired"] = matrixPersona{token: expiredToken(t)}
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("enforce_new_defaults=%v", strict), func(t *testing.T) {
			e := matrixEnv(t, withKeystone(v), withEnforcer(enforcer(t, policy.Options{EnforceNewDefaults: strict})))
			m := &policyMatrix{t: t, e: e, fix: e, personas: personas}
			for _, c := range policyOps() {
				for _, who := range []string{"admin", "alice", "carol", "bob", "none", "expired", "garbage"} {
					m.check(c, who, c.expected(who, strict))
				}
			}
			m.undecided()
		})
	}
}

// testShortKeystone is the test Keystone's second instance, whose tokens expire after 2 s.
const testShortKeystone = "http://127.0.0.1:5001/v3"

// expiredToken is a real Keystone token of alice's, issued by the short-token instance and
// past its expires_at.
func expiredToken(t *testing.T) string {
	t.Helper()
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alice-secret"}}},"scope":{"project":{"name":"demo-a","domain":{"id":"default"}}}}}`
	resp, err := http.Post(testShortKeystone+"/auth/tokens?nocatalog", "application/json", strings.NewReader(body))
	if err != nil {
		msg := fmt.Sprintf("no short-token Keystone on %s (run deploy/keystone/keystone-up.sh): %v", testShortKeystone, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer resp.Body.Close()
	var out struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("short-token login: %s %v", resp.Status, err)
	}
	if left := time.Until(out.Token.ExpiresAt); left > 10*time.Second {
		t.Fatalf("the short-token Keystone issued a token valid for %v", left)
	} else {
		time.Sleep(left + 500*time.Millisecond)
	}
	return resp.Header.Get("X-Subject-Token")
}

// TestPolicyDenyAll: with a policy file that denies every operation's rule but volume:get
// (the base rules kept, so the admin stays an admin and sees every object), each operation
// with a rule answers 403 naming it, those without one still answer, and no handler acts
// before deciding its rule. Then with volume:get alone denied, every endpoint on one volume
// answers 404, as Cinder's volume_api.get does.
func TestPolicyDenyAll(t *testing.T) {
	base := map[string]bool{"context_is_admin": true, "admin_api": true, "admin_or_owner": true,
		"system_or_domain_or_project_admin": true, "xena_system_admin_or_project_reader": true,
		"xena_system_admin_or_project_member": true}
	file := func(deny func(rule string) bool) string {
		var lines []string
		for _, d := range policy.Defaults() {
			if !base[d.Name] && deny(d.Name) {
				lines = append(lines, fmt.Sprintf("%q: %q", d.Name, "!"))
			}
		}
		f := filepath.Join(t.TempDir(), "deny.yaml")
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	e := matrixEnv(t)
	denied := e.withPolicy(enforcer(t, policy.Options{File: file(func(r string) bool { return r != policyVolumeGet })}))
	m := &policyMatrix{t: t, e: denied, fix: e, personas: noauthPersonas()}
	for _, c := range policyOps() {
		want := c.ok
		if c.rule != "" && c.rule != policyVolumeGet {
			want = http.StatusForbidden
		}
		m.check(c, "admin", want)
	}
	m.undecided()

	noGet := e.withPolicy(enforcer(t, policy.Options{File: file(func(r string) bool { return r == policyVolumeGet })}))
	m = &policyMatrix{t: t, e: noGet, fix: e, personas: noauthPersonas()}
	for _, c := range policyOps() {
		if strings.HasPrefix(c.path, "/volumes/{vol}") || c.op == "POST /snapshots" {
			m.check(c, "admin", http.StatusNotFound)
		}
	}
	m.undecided()
}

// TestPolicyMatrixCoversRouter: the matrix has a case for every routed operation and every
// action, and names only rules Cinder's defaults define.
func TestPolicyMatrixCoversRouter(t *testing.T) {
	have := map[string]bool{}
	known := map[string]bool{}
	for _, d := range policy.Defaults() {
		known[d.Name] = true
	}
	for _, c := range policyOps() {
		op, _, _ := strings.Cut(c.op, " (")
		have[op] = true
		if i := strings.Index(c.op, " ("); i >= 0 {
			have[c.op] = true
		}
		if c.rule != "" && !known[c.rule] {
			t.Errorf("%s: rule %s is not one of Cinder's defaults", c.op, c.rule)
		}
	}
	for op := range routedOperations(t) {
		method, path, _ := strings.Cut(op, " ")
		if !strings.HasPrefix(path, "/v3/{project_id}/") {
			continue
		}
		rel := method + " " + strings.TrimPrefix(path, "/v3/{project_id}")
		if !have[rel] {
			t.Errorf("no policy matrix case for %s", rel)
		}
	}
	s := &server{}
	actions := map[string][]string{"/volumes/{volume_id}/action": openAPISorted(s.volumeActions())}
	for path, fn := range actionDispatchers {
		actions[path] = switchCases(t, fn)
	}
	actions["/attachments/{attachment_id}/action"] = []string{"os-complete"}
	for path, names := range actions {
		for _, n := range names {
			if op := "POST " + path + " (" + n + ")"; !have[op] {
				t.Errorf("no policy matrix case for %s", op)
			}
		}
	}
	if !slices.Contains(openAPISorted(have), "POST /volumes/{volume_id}/action (os-extend)") {
		t.Error("the matrix lost its volume actions")
	}
}
