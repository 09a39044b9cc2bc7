package policy

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
)

// Default is one of Cinder's default rules: its check string (the Xena+ personas) and, for
// the rules that had one, the legacy check string that still passes until the operator sets
// enforce_new_defaults (Zed's behaviour).
type Default struct {
	Name       string
	Check      string
	Deprecated string
	Help       string
	// Renamed is the rule's name before Cinder renamed it: an operator's policy file that
	// sets the old name and not this one sets this rule (oslo.policy's deprecated_rule).
	Renamed string
	// Operations are the API calls the rule guards, each "METHOD path", as Cinder documents
	// them (oslopolicy-sample-generator prints them under the description).
	Operations []string
}

// The check strings Cinder Zed's rules share.
const (
	adminAPI     = "rule:admin_api"
	adminOrOwner = "rule:admin_or_owner"
	reader       = "rule:xena_system_admin_or_project_reader"
	member       = "rule:xena_system_admin_or_project_member"
	anyAdmin     = "rule:system_or_domain_or_project_admin"
	// anyone stands for Cinder's legacy "" (always passes): oslo.policy ORs "" in as a
	// TrueCheck, and "" as Deprecated here would mean no legacy string at all.
	anyone = "@"
)

// zed holds the rules of Cinder Zed (21.x, stable/zed) for the features Scoria serves, in
// the order of cinder.policies.list_rules(), each file's rules in that file's order, with
// its check string, deprecated check string, description and operations verbatim. A
// deprecated rule of another name (a renamed rule) is marked: besides ORing in its check
// string until enforce_new_defaults (as for any deprecated rule whose check string differs),
// oslo.policy applies an operator's override of the old name to the new one, whatever
// enforce_new_defaults, unless the policy file sets the new name too (Renamed; the
// Enforcer does that aliasing).
var zed = []Default{
	// cinder/policies/base.py
	{Name: "admin_or_owner", Check: "is_admin:True or (role:admin and is_admin_project:True) or project_id:%(project_id)s", Help: "DEPRECATED: This rule will be removed in the Yoga release.            Default rule for most non-Admin APIs."},
	{Name: "system_or_domain_or_project_admin", Check: "(role:admin and system_scope:all) or (role:admin and domain_id:%(domain_id)s) or (role:admin and project_id:%(project_id)s)", Help: "DEPRECATED: This rule will be removed in the Yoga release.            Default rule for admins of cloud, domain or a project."},
	{Name: "context_is_admin", Check: "role:admin", Help: "Decides what is required for the 'is_admin:True' check to succeed."},
	{Name: "admin_api", Check: "is_admin:True or (role:admin and is_admin_project:True)", Help: "Default rule for most Admin APIs."},
	{Name: "xena_system_admin_or_project_reader", Check: "(role:admin) or (role:reader and project_id:%(project_id)s)", Help: "NOTE: this purely role-based rule recognizes only project scope"},
	{Name: "xena_system_admin_or_project_member", Check: "(role:admin) or (role:member and project_id:%(project_id)s)", Help: "NOTE: this purely role-based rule recognizes only project scope"},

	// cinder/policies/attachments.py
	{Name: "volume:attachment_create", Check: member, Deprecated: anyone, Help: "Create attachment.", Operations: []string{"POST /attachments"}},
	{Name: "volume:attachment_update", Check: member, Deprecated: adminOrOwner, Help: "Update attachment.", Operations: []string{"PUT /attachments/{attachment_id}"}},
	{Name: "volume:attachment_delete", Check: member, Deprecated: adminOrOwner, Help: "Delete attachment.", Operations: []string{"DELETE /attachments/{attachment_id}"}},
	{Name: "volume:attachment_complete", Check: member, Deprecated: adminOrOwner, Help: "Mark a volume attachment process as completed (in-use)", Operations: []string{"POST /attachments/{attachment_id}/action (os-complete)"}},
	{Name: "volume:multiattach_bootable_volume", Check: member, Deprecated: adminOrOwner, Help: "Allow multiattach of bootable volumes.", Operations: []string{"POST /attachments"}},

	// cinder/policies/messages.py
	{Name: "message:get_all", Check: reader, Deprecated: adminOrOwner, Help: "List messages.", Operations: []string{"GET /messages"}},
	{Name: "message:get", Check: reader, Deprecated: adminOrOwner, Help: "Show message.", Operations: []string{"GET /messages/{message_id}"}},
	{Name: "message:delete", Check: member, Deprecated: adminOrOwner, Help: "Delete message.", Operations: []string{"DELETE /messages/{message_id}"}},

	// cinder/policies/snapshot_metadata.py
	{Name: "volume:get_snapshot_metadata", Check: reader, Deprecated: adminOrOwner, Help: "Show snapshot's metadata or one specified metadata with a given key.", Operations: []string{"GET /snapshots/{snapshot_id}/metadata", "GET /snapshots/{snapshot_id}/metadata/{key}"}},
	{Name: "volume:update_snapshot_metadata", Check: member, Deprecated: adminOrOwner, Help: "Update snapshot's metadata or one specified metadata with a given key.", Operations: []string{"POST /snapshots/{snapshot_id}/metadata", "PUT /snapshots/{snapshot_id}/metadata/{key}"}},
	{Name: "volume:delete_snapshot_metadata", Check: member, Deprecated: adminOrOwner, Help: "Delete snapshot's specified metadata with a given key.", Operations: []string{"DELETE /snapshots/{snapshot_id}/metadata/{key}"}},

	// cinder/policies/snapshots.py
	{Name: "volume:get_all_snapshots", Check: reader, Deprecated: adminOrOwner, Help: "List snapshots.", Operations: []string{"GET /snapshots", "GET /snapshots/detail"}},
	{Name: "volume_extension:extended_snapshot_attributes", Check: reader, Deprecated: adminOrOwner, Help: "List or show snapshots with extended attributes.", Operations: []string{"GET /snapshots/{snapshot_id}", "GET /snapshots/detail"}},
	{Name: "volume:create_snapshot", Check: member, Deprecated: adminOrOwner, Help: "Create snapshot.", Operations: []string{"POST /snapshots"}},
	{Name: "volume:get_snapshot", Check: reader, Deprecated: adminOrOwner, Help: "Show snapshot.", Operations: []string{"GET /snapshots/{snapshot_id}"}},
	{Name: "volume:update_snapshot", Check: member, Deprecated: adminOrOwner, Help: "Update snapshot.", Operations: []string{"PUT /snapshots/{snapshot_id}"}},
	{Name: "volume:delete_snapshot", Check: member, Deprecated: adminOrOwner, Help: "Delete snapshot.", Operations: []string{"DELETE /snapshots/{snapshot_id}"}},

	// cinder/policies/snapshot_actions.py
	{Name: "volume_extension:snapshot_admin_actions:reset_status", Check: adminAPI, Help: "Reset status of a snapshot.", Operations: []string{"POST /snapshots/{snapshot_id}/action (os-reset_status)"}},
	{Name: "snapshot_extension:snapshot_actions:update_snapshot_status", Check: member, Deprecated: anyone, Help: "Update database fields of snapshot.", Operations: []string{"POST /snapshots/{snapshot_id}/action (update_snapshot_status)"}},
	{Name: "volume_extension:snapshot_admin_actions:force_delete", Check: adminAPI, Help: "Force delete a snapshot.", Operations: []string{"POST /snapshots/{snapshot_id}/action (os-force_delete)"}},

	// cinder/policies/groups.py
	{Name: "group:get_all", Check: reader, Deprecated: adminOrOwner, Help: "List groups.", Operations: []string{"GET /groups", "GET /groups/detail"}},
	{Name: "group:create", Check: member, Deprecated: anyone, Help: "Create group.", Operations: []string{"POST /groups"}},
	{Name: "group:get", Check: reader, Deprecated: adminOrOwner, Help: "Show group.", Operations: []string{"GET /groups/{group_id}"}},
	{Name: "group:update", Check: member, Deprecated: adminOrOwner, Help: "Update group.", Operations: []string{"PUT /groups/{group_id}"}},
	{Name: "group:group_project_attribute", Check: adminAPI, Help: "List groups or show group with project attributes.", Operations: []string{"GET /groups/{group_id}", "GET /groups/detail"}},

	// cinder/policies/group_actions.py
	{Name: "group:delete", Check: member, Deprecated: adminOrOwner, Help: "Delete group.", Operations: []string{"POST /groups/{group_id}/action (delete)"}},
	{Name: "group:reset_status", Check: adminAPI, Help: "Reset status of group.", Operations: []string{"POST /groups/{group_id}/action (reset_status)"}},
	{Name: "group:enable_replication", Check: member, Deprecated: adminOrOwner, Help: "Enable replication.", Operations: []string{"POST /groups/{group_id}/action (enable_replication)"}},
	{Name: "group:disable_replication", Check: member, Deprecated: adminOrOwner, Help: "Disable replication.", Operations: []string{"POST /groups/{group_id}/action (disable_replication)"}},
	{Name: "group:failover_replication", Check: member, Deprecated: adminOrOwner, Help: "Fail over replication.", Operations: []string{"POST /groups/{group_id}/action (failover_replication)"}},
	{Name: "group:list_replication_targets", Check: member, Deprecated: adminOrOwner, Help: "List failover replication.", Operations: []string{"POST /groups/{group_id}/action (list_replication_targets)"}},
	// cinder/policies/group_types.py
	{Name: "group:group_types:create", Renamed: "group:group_types_manage", Check: adminAPI, Deprecated: adminAPI, Help: "Create a group type.", Operations: []string{"POST /group_types/"}},
	{Name: "group:group_types:update", Renamed: "group:group_types_manage", Check: adminAPI, Deprecated: adminAPI, Help: "Update a group type.", Operations: []string{"PUT /group_types/{group_type_id}"}},
	{Name: "group:group_types:delete", Renamed: "group:group_types_manage", Check: adminAPI, Deprecated: adminAPI, Help: "Delete a group type.", Operations: []string{"DELETE /group_types/{group_type_id}"}},
	{Name: "group:access_group_types_specs", Check: adminAPI, Help: "Show group type with type specs attributes.", Operations: []string{"GET /group_types/{group_type_id}"}},
	{Name: "group:group_types_specs:get", Renamed: "group:group_types_specs", Check: adminAPI, Deprecated: adminAPI, Help: "Show a group type spec.", Operations: []string{"GET /group_types/{group_type_id}/group_specs/{g_spec_id}"}},
	{Name: "group:group_types_specs:get_all", Renamed: "group:group_types_specs", Check: adminAPI, Deprecated: adminAPI, Help: "List group type specs.", Operations: []string{"GET /group_types/{group_type_id}/group_specs"}},
	{Name: "group:group_types_specs:create", Renamed: "group:group_types_specs", Check: adminAPI, Deprecated: adminAPI, Help: "Create a group type spec.", Operations: []string{"POST /group_types/{group_type_id}/group_specs"}},
	{Name: "group:group_types_specs:update", Renamed: "group:group_types_specs", Check: adminAPI, Deprecated: adminAPI, Help: "Update a group type spec.", Operations: []string{"PUT /group_types/{group_type_id}/group_specs/{g_spec_id}"}},
	{Name: "group:group_types_specs:delete", Renamed: "group:group_types_specs", Check: adminAPI, Deprecated: adminAPI, Help: "Delete a group type spec.", Operations: []string{"DELETE /group_types/{group_type_id}/group_specs/{g_spec_id}"}},
	// cinder/policies/group_snapshots.py
	{Name: "group:get_all_group_snapshots", Check: reader, Deprecated: adminOrOwner, Help: "List group snapshots.", Operations: []string{"GET /group_snapshots", "GET /group_snapshots/detail"}},
	{Name: "group:create_group_snapshot", Check: member, Deprecated: anyone, Help: "Create group snapshot.", Operations: []string{"POST /group_snapshots"}},
	{Name: "group:get_group_snapshot", Check: reader, Deprecated: adminOrOwner, Help: "Show group snapshot.", Operations: []string{"GET /group_snapshots/{group_snapshot_id}"}},
	{Name: "group:delete_group_snapshot", Check: member, Deprecated: adminOrOwner, Help: "Delete group snapshot.", Operations: []string{"DELETE /group_snapshots/{group_snapshot_id}"}},
	{Name: "group:update_group_snapshot", Check: member, Deprecated: adminOrOwner, Help: "Update group snapshot.", Operations: []string{"PUT /group_snapshots/{group_snapshot_id}"}},
	{Name: "group:group_snapshot_project_attribute", Check: adminAPI, Help: "List group snapshots or show group snapshot with project attributes.", Operations: []string{"GET /group_snapshots/{group_snapshot_id}", "GET /group_snapshots/detail"}},

	// cinder/policies/group_snapshot_actions.py
	{Name: "group:reset_group_snapshot_status", Check: adminAPI, Help: "Reset status of group snapshot.", Operations: []string{"POST /group_snapshots/{g_snapshot_id}/action (reset_status)"}},

	// cinder/policies/qos_specs.py
	{Name: "volume_extension:qos_specs_manage:get_all", Check: adminAPI, Help: "List qos specs or list all associations.", Operations: []string{"GET /qos-specs", "GET /qos-specs/{qos_id}/associations"}},
	{Name: "volume_extension:qos_specs_manage:get", Check: adminAPI, Help: "Show qos specs.", Operations: []string{"GET /qos-specs/{qos_id}"}},
	{Name: "volume_extension:qos_specs_manage:create", Check: adminAPI, Help: "Create qos specs.", Operations: []string{"POST /qos-specs"}},
	{Name: "volume_extension:qos_specs_manage:update", Check: adminAPI, Help: "Update qos specs (including updating association).", Operations: []string{"PUT /qos-specs/{qos_id}", "GET /qos-specs/{qos_id}/disassociate_all", "GET /qos-specs/{qos_id}/associate", "GET /qos-specs/{qos_id}/disassociate"}},
	{Name: "volume_extension:qos_specs_manage:delete", Check: adminAPI, Help: "delete qos specs or unset one specified qos key.", Operations: []string{"DELETE /qos-specs/{qos_id}", "PUT /qos-specs/{qos_id}/delete_keys"}},

	// cinder/policies/quota_class.py
	{Name: "volume_extension:quota_classes:get", Renamed: "volume_extension:quota_classes", Check: adminAPI, Deprecated: adminAPI, Help: "Show project quota class.", Operations: []string{"GET /os-quota-class-sets/{project_id}"}},
	{Name: "volume_extension:quota_classes:update", Renamed: "volume_extension:quota_classes", Check: adminAPI, Deprecated: adminAPI, Help: "Update project quota class.", Operations: []string{"PUT /os-quota-class-sets/{project_id}"}},

	// cinder/policies/quotas.py
	{Name: "volume_extension:quotas:show", Check: reader, Deprecated: adminOrOwner, Help: "Show project quota (including usage and default).", Operations: []string{"GET /os-quota-sets/{project_id}", "GET /os-quota-sets/{project_id}/default", "GET /os-quota-sets/{project_id}?usage=True"}},
	{Name: "volume_extension:quotas:update", Check: adminAPI, Help: "Update project quota.", Operations: []string{"PUT /os-quota-sets/{project_id}"}},
	{Name: "volume_extension:quotas:delete", Check: adminAPI, Help: "Delete project quota.", Operations: []string{"DELETE /os-quota-sets/{project_id}"}},

	// cinder/policies/capabilities.py
	{Name: "volume_extension:capabilities", Check: adminAPI, Help: "Show backend capabilities.", Operations: []string{"GET /capabilities/{host_name}"}},

	// cinder/policies/services.py
	{Name: "volume_extension:services:index", Check: adminAPI, Help: "List all services.", Operations: []string{"GET /os-services"}},
	{Name: "volume_extension:services:update", Check: adminAPI, Help: "Update service, including failover_host, thaw, freeze, disable, enable, set-log and get-log actions.", Operations: []string{"PUT /os-services/{action}"}},
	{Name: "volume:freeze_host", Check: adminAPI, Help: "Freeze a backend host.", Operations: []string{"PUT /os-services/freeze"}},
	{Name: "volume:thaw_host", Check: adminAPI, Help: "Thaw a backend host.", Operations: []string{"PUT /os-services/thaw"}},
	{Name: "volume:failover_host", Check: adminAPI, Help: "Failover a backend host.", Operations: []string{"PUT /os-services/failover_host"}},

	// cinder/policies/scheduler_stats.py
	{Name: "scheduler_extension:scheduler_stats:get_pools", Check: adminAPI, Help: "List all backend pools.", Operations: []string{"GET /scheduler-stats/get_pools"}},

	// cinder/policies/limits.py
	{Name: "limits_extension:used_limits", Check: reader, Deprecated: adminOrOwner, Help: "Show limits with used limit attributes.", Operations: []string{"GET /limits"}},

	// cinder/policies/volume_type.py
	{Name: "volume_extension:type_create", Renamed: "volume_extension:types_manage", Check: adminAPI, Deprecated: adminAPI, Help: "Create volume type.", Operations: []string{"POST /types"}},
	{Name: "volume_extension:type_update", Renamed: "volume_extension:types_manage", Check: adminAPI, Deprecated: adminAPI, Help: "Update volume type.", Operations: []string{"PUT /types"}},
	{Name: "volume_extension:type_delete", Renamed: "volume_extension:types_manage", Check: adminAPI, Deprecated: adminAPI, Help: "Delete volume type.", Operations: []string{"DELETE /types"}},
	{Name: "volume_extension:type_get", Check: reader, Deprecated: anyone, Help: "Get one specific volume type.", Operations: []string{"GET /types/{type_id}"}},
	{Name: "volume_extension:type_get_all", Check: reader, Deprecated: anyone, Help: "List volume types.", Operations: []string{"GET /types/"}},
	{Name: "volume_extension:access_types_extra_specs", Check: reader, Deprecated: adminAPI, Help: "Include the volume type's extra_specs attribute in the volume type list or show requests.  The ability to make these calls is governed by other policies.", Operations: []string{"GET /types/{type_id}", "GET /types"}},
	{Name: "volume_extension:access_types_qos_specs_id", Check: adminAPI, Help: "Include the volume type's QoS specifications ID attribute in the volume type list or show requests.  The ability to make these calls is governed by other policies.", Operations: []string{"GET /types/{type_id}", "GET /types"}},
	{Name: "volume_extension:volume_type_encryption", Check: adminAPI, Help: "DEPRECATED: This rule will be removed in the Yoga release."},
	{Name: "volume_extension:volume_type_encryption:create", Check: adminAPI, Deprecated: "rule:volume_extension:volume_type_encryption", Help: "Create volume type encryption.", Operations: []string{"POST /types/{type_id}/encryption"}},
	{Name: "volume_extension:volume_type_encryption:get", Check: adminAPI, Deprecated: "rule:volume_extension:volume_type_encryption", Help: "Show a volume type's encryption type, show an encryption specs item.", Operations: []string{"GET /types/{type_id}/encryption", "GET /types/{type_id}/encryption/{key}"}},
	{Name: "volume_extension:volume_type_encryption:update", Check: adminAPI, Deprecated: "rule:volume_extension:volume_type_encryption", Help: "Update volume type encryption.", Operations: []string{"PUT /types/{type_id}/encryption/{encryption_id}"}},
	{Name: "volume_extension:volume_type_encryption:delete", Check: adminAPI, Deprecated: "rule:volume_extension:volume_type_encryption", Help: "Delete volume type encryption.", Operations: []string{"DELETE /types/{type_id}/encryption/{encryption_id}"}},

	// cinder/policies/volume_access.py
	{Name: "volume_extension:volume_type_access", Check: member, Deprecated: adminOrOwner, Help: "Adds the boolean field 'os-volume-type-access:is_public' to the responses for these API calls.  The ability to make these calls is governed by other policies.", Operations: []string{"GET /types", "GET /types/{type_id}", "POST /types"}},
	{Name: "volume_extension:volume_type_access:addProjectAccess", Check: adminAPI, Help: "Add volume type access for project.", Operations: []string{"POST /types/{type_id}/action (addProjectAccess)"}},
	{Name: "volume_extension:volume_type_access:removeProjectAccess", Check: adminAPI, Help: "Remove volume type access for project.", Operations: []string{"POST /types/{type_id}/action (removeProjectAccess)"}},
	{Name: "volume_extension:volume_type_access:get_all_for_type", Check: adminAPI, Deprecated: "volume_extension:volume_type_access", Help: "List private volume type access detail, that is, list the projects that have access to this volume type.", Operations: []string{"GET /types/{type_id}/os-volume-type-access"}},

	// cinder/policies/volume_actions.py
	{Name: "volume:extend", Check: member, Deprecated: adminOrOwner, Help: "Extend a volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-extend)"}},
	{Name: "volume:extend_attached_volume", Check: member, Deprecated: adminOrOwner, Help: "Extend a attached volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-extend)"}},
	{Name: "volume:revert_to_snapshot", Check: member, Deprecated: adminOrOwner, Help: "Revert a volume to a snapshot.", Operations: []string{"POST /volumes/{volume_id}/action (revert)"}},
	{Name: "volume_extension:volume_admin_actions:reset_status", Check: adminAPI, Help: "Reset status of a volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-reset_status)"}},
	{Name: "volume:retype", Check: member, Deprecated: adminOrOwner, Help: "Retype a volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-retype)"}},
	{Name: "volume:update_readonly_flag", Check: member, Deprecated: adminOrOwner, Help: "Update a volume's readonly flag.", Operations: []string{"POST /volumes/{volume_id}/action (os-update_readonly_flag)"}},
	{Name: "volume_extension:volume_admin_actions:force_delete", Check: adminAPI, Help: "Force delete a volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-force_delete)"}},
	{Name: "volume_extension:volume_actions:upload_public", Check: adminAPI, Help: "Upload a volume to image with public visibility.", Operations: []string{"POST /volumes/{volume_id}/action (os-volume_upload_image)"}},
	{Name: "volume_extension:volume_actions:upload_image", Check: member, Deprecated: adminOrOwner, Help: "Upload a volume to image.", Operations: []string{"POST /volumes/{volume_id}/action (os-volume_upload_image)"}},
	{Name: "volume_extension:volume_admin_actions:force_detach", Check: adminAPI, Help: "Force detach a volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-force_detach)"}},
	{Name: "volume_extension:volume_admin_actions:migrate_volume", Check: adminAPI, Help: "migrate a volume to a specified host.", Operations: []string{"POST /volumes/{volume_id}/action (os-migrate_volume)"}},
	{Name: "volume_extension:volume_admin_actions:migrate_volume_completion", Check: adminAPI, Help: "Complete a volume migration.", Operations: []string{"POST /volumes/{volume_id}/action (os-migrate_volume_completion)"}},
	{Name: "volume_extension:volume_actions:initialize_connection", Check: member, Deprecated: adminOrOwner, Help: "Initialize volume attachment.", Operations: []string{"POST /volumes/{volume_id}/action (os-initialize_connection)"}},
	{Name: "volume_extension:volume_actions:terminate_connection", Check: member, Deprecated: adminOrOwner, Help: "Terminate volume attachment.", Operations: []string{"POST /volumes/{volume_id}/action (os-terminate_connection)"}},
	{Name: "volume_extension:volume_actions:roll_detaching", Check: member, Deprecated: adminOrOwner, Help: "Roll back volume status to 'in-use'.", Operations: []string{"POST /volumes/{volume_id}/action (os-roll_detaching)"}},
	{Name: "volume_extension:volume_actions:reserve", Check: member, Deprecated: adminOrOwner, Help: "Mark volume as reserved.", Operations: []string{"POST /volumes/{volume_id}/action (os-reserve)"}},
	{Name: "volume_extension:volume_actions:unreserve", Check: member, Deprecated: adminOrOwner, Help: "Unmark volume as reserved.", Operations: []string{"POST /volumes/{volume_id}/action (os-unreserve)"}},
	{Name: "volume_extension:volume_actions:begin_detaching", Check: member, Deprecated: adminOrOwner, Help: "Begin detach volumes.", Operations: []string{"POST /volumes/{volume_id}/action (os-begin_detaching)"}},
	{Name: "volume_extension:volume_actions:attach", Check: member, Deprecated: adminOrOwner, Help: "Add attachment metadata.", Operations: []string{"POST /volumes/{volume_id}/action (os-attach)"}},
	{Name: "volume_extension:volume_actions:detach", Check: member, Deprecated: adminOrOwner, Help: "Clear attachment metadata.", Operations: []string{"POST /volumes/{volume_id}/action (os-detach)"}},
	{Name: "volume:reimage", Check: member, Help: "Reimage a volume in 'available' or 'error' status.", Operations: []string{"POST /volumes/{volume_id}/action (os-reimage)"}},
	{Name: "volume:reimage_reserved", Check: member, Help: "Reimage a volume in 'reserved' status.", Operations: []string{"POST /volumes/{volume_id}/action (os-reimage)"}},

	// cinder/policies/volume_transfer.py
	{Name: "volume:get_all_transfers", Check: reader, Deprecated: adminOrOwner, Help: "List volume transfer.", Operations: []string{"GET /os-volume-transfer", "GET /os-volume-transfer/detail", "GET /volume_transfers", "GET /volume-transfers/detail"}},
	{Name: "volume:create_transfer", Check: member, Deprecated: adminOrOwner, Help: "Create a volume transfer.", Operations: []string{"POST /os-volume-transfer", "POST /volume_transfers"}},
	{Name: "volume:get_transfer", Check: reader, Deprecated: adminOrOwner, Help: "Show one specified volume transfer.", Operations: []string{"GET /os-volume-transfer/{transfer_id}", "GET /volume-transfers/{transfer_id}"}},
	{Name: "volume:accept_transfer", Check: member, Deprecated: anyone, Help: "Accept a volume transfer.", Operations: []string{"POST /os-volume-transfer/{transfer_id}/accept", "POST /volume-transfers/{transfer_id}/accept"}},
	{Name: "volume:delete_transfer", Check: member, Deprecated: adminOrOwner, Help: "Delete volume transfer.", Operations: []string{"DELETE /os-volume-transfer/{transfer_id}", "DELETE /volume-transfers/{transfer_id}"}},

	// cinder/policies/volume_metadata.py
	{Name: "volume:get_volume_metadata", Check: reader, Deprecated: adminOrOwner, Help: "Show volume's metadata or one specified metadata with a given key.", Operations: []string{"GET /volumes/{volume_id}/metadata", "GET /volumes/{volume_id}/metadata/{key}", "POST /volumes/{volume_id}/action  (os-show_image_metadata)"}},
	{Name: "volume:create_volume_metadata", Check: member, Deprecated: adminOrOwner, Help: "Create volume metadata.", Operations: []string{"POST /volumes/{volume_id}/metadata"}},
	{Name: "volume:update_volume_metadata", Check: member, Deprecated: adminOrOwner, Help: "Replace a volume's metadata dictionary or update a single metadatum with a given key.", Operations: []string{"PUT /volumes/{volume_id}/metadata", "PUT /volumes/{volume_id}/metadata/{key}"}},
	{Name: "volume:delete_volume_metadata", Check: member, Deprecated: adminOrOwner, Help: "Delete a volume's metadatum with the given key.", Operations: []string{"DELETE /volumes/{volume_id}/metadata/{key}"}},
	{Name: "volume_extension:volume_image_metadata:show", Renamed: "volume_extension:volume_image_metadata", Check: reader, Deprecated: adminOrOwner, Help: "Include a volume's image metadata in volume detail responses.  The ability to make these calls is governed by other policies.", Operations: []string{"GET /volumes/detail", "GET /volumes/{volume_id}"}},
	{Name: "volume_extension:volume_image_metadata:set", Renamed: "volume_extension:volume_image_metadata", Check: member, Deprecated: adminOrOwner, Help: "Set image metadata for a volume", Operations: []string{"POST /volumes/{volume_id}/action (os-set_image_metadata)"}},
	{Name: "volume_extension:volume_image_metadata:remove", Renamed: "volume_extension:volume_image_metadata", Check: member, Deprecated: adminOrOwner, Help: "Remove specific image metadata from a volume", Operations: []string{"POST /volumes/{volume_id}/action (os-unset_image_metadata)"}},
	{Name: "volume:update_volume_admin_metadata", Check: adminAPI, Help: "Update volume admin metadata. This permission is required to complete these API calls, though the ability to make these calls is governed by other policies.", Operations: []string{"POST /volumes/{volume_id}/action (os-update_readonly_flag)", "POST /volumes/{volume_id}/action (os-attach)"}},

	// cinder/policies/type_extra_specs.py
	{Name: "volume_extension:types_extra_specs:index", Check: reader, Deprecated: anyone, Help: "List type extra specs.", Operations: []string{"GET /types/{type_id}/extra_specs"}},
	{Name: "volume_extension:types_extra_specs:create", Check: adminAPI, Help: "Create type extra specs.", Operations: []string{"POST /types/{type_id}/extra_specs"}},
	{Name: "volume_extension:types_extra_specs:show", Check: reader, Deprecated: anyone, Help: "Show one specified type extra specs.", Operations: []string{"GET /types/{type_id}/extra_specs/{extra_spec_key}"}},
	{Name: "volume_extension:types_extra_specs:read_sensitive", Check: adminAPI, Help: "Include extra_specs fields that may reveal sensitive information about the deployment that should not be exposed to end users in various volume-type responses that show extra_specs. The ability to make these calls is governed by other policies.", Operations: []string{"GET /types", "GET /types/{type_id}", "GET /types/{type_id}/extra_specs", "GET /types/{type_id}/extra_specs/{extra_spec_key}"}},
	{Name: "volume_extension:types_extra_specs:update", Check: adminAPI, Help: "Update type extra specs.", Operations: []string{"PUT /types/{type_id}/extra_specs/{extra_spec_key}"}},
	{Name: "volume_extension:types_extra_specs:delete", Check: adminAPI, Help: "Delete type extra specs.", Operations: []string{"DELETE /types/{type_id}/extra_specs/{extra_spec_key}"}},

	// cinder/policies/volumes.py
	{Name: "volume:create", Check: member, Deprecated: anyone, Help: "Create volume.", Operations: []string{"POST /volumes"}},
	{Name: "volume:create_from_image", Check: member, Deprecated: anyone, Help: "Create volume from image.", Operations: []string{"POST /volumes"}},
	{Name: "volume:get", Check: reader, Deprecated: adminOrOwner, Help: "Show volume.", Operations: []string{"GET /volumes/{volume_id}"}},
	{Name: "volume:get_all", Check: reader, Deprecated: adminOrOwner, Help: "List volumes or get summary of volumes.", Operations: []string{"GET /volumes", "GET /volumes/detail", "GET /volumes/summary"}},
	{Name: "volume:update", Check: member, Deprecated: adminOrOwner, Help: "Update volume or update a volume's bootable status.", Operations: []string{"PUT /volumes", "POST /volumes/{volume_id}/action (os-set_bootable)"}},
	{Name: "volume:delete", Check: member, Deprecated: adminOrOwner, Help: "Delete volume.", Operations: []string{"DELETE /volumes/{volume_id}"}},
	{Name: "volume:force_delete", Check: adminAPI, Help: "Force Delete a volume.", Operations: []string{"DELETE /volumes/{volume_id}"}},
	{Name: "volume_extension:volume_host_attribute", Check: adminAPI, Help: "List or show volume with host attribute.", Operations: []string{"GET /volumes/{volume_id}", "GET /volumes/detail"}},
	{Name: "volume_extension:volume_tenant_attribute", Check: reader, Deprecated: adminOrOwner, Help: "List or show volume with tenant attribute.", Operations: []string{"GET /volumes/{volume_id}", "GET /volumes/detail"}},
	{Name: "volume_extension:volume_mig_status_attribute", Check: adminAPI, Help: "List or show volume with migration status attribute.", Operations: []string{"GET /volumes/{volume_id}", "GET /volumes/detail"}},
	{Name: "volume_extension:volume_encryption_metadata", Check: reader, Deprecated: adminOrOwner, Help: "Show volume's encryption metadata.", Operations: []string{"GET /volumes/{volume_id}/encryption", "GET /volumes/{volume_id}/encryption/{encryption_key}"}},
	{Name: "volume:multiattach", Check: member, Deprecated: adminOrOwner, Help: "Create multiattach capable volume.", Operations: []string{"POST /volumes"}},

	// cinder/policies/default_types.py
	{Name: "volume_extension:default_set_or_update", Check: adminAPI, Deprecated: anyAdmin, Help: "Set or update default volume type.", Operations: []string{"PUT /default-types"}},
	{Name: "volume_extension:default_get", Check: adminAPI, Deprecated: anyAdmin, Help: "Get default types.", Operations: []string{"GET /default-types/{project-id}"}},
	{Name: "volume_extension:default_get_all", Check: adminAPI, Deprecated: "role:admin and system_scope:all", Help: "Get all default types. WARNING: Changing this might open up too much information regarding cloud deployment.", Operations: []string{"GET /default-types/"}},
	{Name: "volume_extension:default_unset", Check: adminAPI, Deprecated: anyAdmin, Help: "Unset default type.", Operations: []string{"DELETE /default-types/{project-id}"}},
}

// Defaults returns Cinder's default rules for every endpoint Scoria implements (and, after
// them, those of the endpoints it answers without the feature yet: zedGaps), in the order
// `scoria-manage policy defaults` prints them.
func Defaults() []Default {
	return append(slices.Clone(zed), zedGaps...)
}

// WriteDefaults prints the defaults as an oslo.policy YAML file an operator can start from:
// each rule commented out with its default, as oslopolicy-sample-generator writes them (the
// description wrapped at 70 columns, then the operations).
func WriteDefaults(w io.Writer) error {
	for _, d := range Defaults() {
		var b strings.Builder
		for _, line := range wrapComment(d.Help, 70) {
			b.WriteString(line + "\n")
		}
		if d.Deprecated != "" {
			fmt.Fprintf(&b, "# Until enforce_new_defaults, %q also passes.\n", d.Deprecated)
		}
		if d.Renamed != "" {
			fmt.Fprintf(&b, "# Formerly %q: a file setting that name sets this rule, unless it sets this one.\n", d.Renamed)
		}
		for _, op := range d.Operations {
			method, path, _ := strings.Cut(op, " ")
			fmt.Fprintf(&b, "# %s  %s\n", method, path)
		}
		fmt.Fprintf(&b, "#%q: %q\n\n", d.Name, d.Check)
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// wrapComment wraps text into "# " comment lines of at most width columns, as Python's
// textwrap.wrap does for oslo.policy's sample: runs of spaces between words are kept, those
// at a line's start or end dropped, and a word longer than a line stands alone.
func wrapComment(text string, width int) []string {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	var chunks []string // words and runs of spaces, alternating
	start := 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || unicode.IsSpace(rune(text[i])) != unicode.IsSpace(rune(text[start])) {
			chunks = append(chunks, text[start:i])
			start = i
		}
	}
	var lines []string
	line := "# "
	for _, c := range chunks {
		space := strings.TrimSpace(c) == ""
		switch {
		case space && line == "# ":
			continue // dropped at the start of a line
		case len(line)+len(c) <= width || line == "# ":
			line += c
		case space:
			lines = append(lines, strings.TrimRight(line, " "))
			line = "# "
		default:
			lines = append(lines, strings.TrimRight(line, " "))
			line = "# " + c
		}
	}
	if line != "# " {
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return lines
}
