package policy

import (
	"fmt"
	"io"
)

// Default is one of Cinder's default rules: its check string (the Xena+ personas) and, for
// the rules that had one, the legacy check string that still passes until the operator sets
// enforce_new_defaults (Zed's behaviour).
type Default struct {
	Name       string
	Check      string
	Deprecated string
	Help       string
}

// Cinder's base rules and the names the defaults refer to.
const (
	adminAPI     = "rule:admin_api"
	adminOrOwner = "rule:admin_or_owner"
	reader       = "rule:xena_system_admin_or_project_reader"
	member       = "rule:xena_system_admin_or_project_member"
)

var base = []Default{
	{Name: "context_is_admin", Check: "role:admin", Help: "Decides what is required for the 'is_admin:True' check to succeed."},
	{Name: "admin_api", Check: "is_admin:True or (role:admin and is_admin_project:True)", Help: "Default rule for most Admin APIs."},
	{Name: "admin_or_owner", Check: "is_admin:True or (role:admin and is_admin_project:True) or project_id:%(project_id)s", Help: "Default rule for most non-Admin APIs (legacy)."},
	{Name: "system_or_domain_or_project_admin", Check: "(role:admin and system_scope:all) or (role:admin and domain_id:%(domain_id)s) or (role:admin and project_id:%(project_id)s)", Help: "Default rule for admins of cloud, domain or a project."},
	{Name: "xena_system_admin_or_project_reader", Check: "(role:admin) or (role:reader and project_id:%(project_id)s)", Help: "Persona rule: admin, project-member and project-reader."},
	{Name: "xena_system_admin_or_project_member", Check: "(role:admin) or (role:member and project_id:%(project_id)s)", Help: "Persona rule: admin and project-member."},
}

// rulesOf builds the defaults of one persona.
func rulesOf(check, deprecated string, names ...string) []Default {
	out := make([]Default, len(names))
	for i, n := range names {
		out[i] = Default{Name: n, Check: check, Deprecated: deprecated}
	}
	return out
}

// Defaults returns Cinder's default rules for every endpoint Scoria implements, in the order
// `scoria-manage policy defaults` prints them.
func Defaults() []Default {
	var out []Default
	out = append(out, base...)
	out = append(out, rulesOf(reader, adminOrOwner,
		"volume:get", "volume:get_all", "volume:get_volume_metadata",
		"volume:get_snapshot", "volume:get_all_snapshots", "volume:get_snapshot_metadata",
		"message:get", "message:get_all", "volume:get_transfer", "volume:get_all_transfers",
		"volume_extension:quotas:show", "limits_extension:used_limits",
		"volume_extension:volume_type_access", "volume_extension:types_extra_specs:index",
		"volume_extension:types_extra_specs:show", "volume_extension:volume_image_metadata:show",
	)...)
	out = append(out, rulesOf(member, adminOrOwner,
		"volume:update", "volume:delete", "volume:extend", "volume:extend_attached_volume",
		"volume:revert_to_snapshot", "volume:update_readonly_flag", "volume:retype",
		"volume:create_volume_metadata", "volume:update_volume_metadata", "volume:delete_volume_metadata",
		"volume:update_snapshot", "volume:delete_snapshot",
		"volume:update_snapshot_metadata", "volume:delete_snapshot_metadata",
		"message:delete", "volume:delete_transfer",
		"volume:attachment_update", "volume:attachment_delete", "volume:attachment_complete",
		"volume_extension:volume_actions:reserve", "volume_extension:volume_actions:unreserve",
		"volume_extension:volume_actions:begin_detaching", "volume_extension:volume_actions:roll_detaching",
		"volume_extension:volume_actions:initialize_connection", "volume_extension:volume_actions:terminate_connection",
		"volume_extension:volume_actions:attach", "volume_extension:volume_actions:detach",
		"volume:create_snapshot", "volume:create_transfer", "volume:multiattach",
		"volume_extension:volume_image_metadata:set", "volume_extension:volume_image_metadata:remove",
	)...)
	// The legacy default of these was the empty check string: anyone with a token ("@").
	out = append(out, rulesOf(member, "@",
		"volume:create", "volume:accept_transfer", "volume:attachment_create",
	)...)
	out = append(out, rulesOf("", "", "volume_extension:type_get", "volume_extension:type_get_all",
		"volume_extension:availability_zone_list")...)
	out = append(out, rulesOf(adminAPI, "",
		"volume_extension:services:index", "volume_extension:services:update",
		"scheduler_extension:scheduler_stats:get_pools", "volume_extension:capabilities",
		"volume_extension:volume_admin_actions:reset_status", "volume_extension:volume_admin_actions:force_delete",
		"volume_extension:volume_admin_actions:force_detach",
		"volume_extension:snapshot_admin_actions:reset_status", "volume_extension:snapshot_admin_actions:force_delete",
		"volume_extension:types_manage", "volume_extension:types_extra_specs:create",
		"volume_extension:types_extra_specs:update", "volume_extension:types_extra_specs:delete",
		"volume_extension:volume_type_access:addProjectAccess", "volume_extension:volume_type_access:removeProjectAccess",
		"volume_extension:volume_type_access:get_all_for_type",
		"volume_extension:qos_specs_manage:get_all", "volume_extension:qos_specs_manage:get",
		"volume_extension:qos_specs_manage:create", "volume_extension:qos_specs_manage:update",
		"volume_extension:qos_specs_manage:delete",
		"volume_extension:quotas:update", "volume_extension:quotas:delete",
		"volume_extension:quota_classes", "volume_extension:quota_classes:update",
		"volume_extension:volume_host_attribute", "volume_extension:volume_mig_status_attribute",
		"volume_extension:volume_tenant_attribute", "volume_extension:access_types_extra_specs",
		"volume_extension:access_types_qos_specs_id", "volume:get_all_for_all_tenants",
		"volume_extension:default_set_or_update", "volume_extension:default_get",
		"volume_extension:default_get_all", "volume_extension:default_unset",
	)...)
	return out
}

// WriteDefaults prints the defaults as an oslo.policy YAML file an operator can start from:
// each rule commented out with its default, as oslopolicy-sample-generator writes them.
func WriteDefaults(w io.Writer) error {
	for _, d := range Defaults() {
		if d.Help != "" {
			if _, err := fmt.Fprintf(w, "# %s\n", d.Help); err != nil {
				return err
			}
		}
		if d.Deprecated != "" {
			if _, err := fmt.Fprintf(w, "# Until enforce_new_defaults, %q also passes.\n", d.Deprecated); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "#%q: %q\n\n", d.Name, d.Check); err != nil {
			return err
		}
	}
	return nil
}
