package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func creds(project string, roles ...string) Credentials {
	isAdmin := "False"
	for _, r := range roles {
		if r == "admin" {
			isAdmin = "True"
		}
	}
	return Credentials{Roles: roles, Values: map[string]string{
		"project_id": project, "user_id": "u-" + project, "domain_id": "default", "is_admin": isAdmin, "is_admin_project": "True"}}
}

// TestCheckOperators evaluates every operator of the check-string language.
func TestCheckOperators(t *testing.T) {
	e := &Enforcer{rules: map[string]check{}}
	for name, s := range map[string]string{"yes": "@", "no": "!", "member": "role:member"} {
		c, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		e.rules[name] = c
	}
	a := creds("pa", "member", "reader")
	target := Target{"project_id": "pa"}
	for _, tc := range []struct {
		check string
		want  bool
	}{
		{"", true},
		{"@", true},
		{"!", false},
		{"role:member", true},
		{"role:MEMBER", true},
		{"role:admin", false},
		{"rule:yes", true},
		{"rule:no", false},
		{"rule:member", true},
		{"rule:undefined", false},
		{"project_id:%(project_id)s", true},
		{"project_id:%(other)s", false},
		{"is_admin:True", false},
		{"is_admin:False", true},
		{"user_id:'u-pa'", true},
		{"role:member and project_id:%(project_id)s", true},
		{"role:admin and project_id:%(project_id)s", false},
		{"role:admin or project_id:%(project_id)s", true},
		{"not role:admin", true},
		{"not (role:member or role:admin)", false},
		{"(role:admin) or (role:reader and project_id:%(project_id)s)", true},
		{"role:admin or (role:reader and not project_id:%(project_id)s)", false},
		{"@ and !", false},
		{"! or @", true},
	} {
		c, err := Parse(tc.check)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.check, err)
			continue
		}
		if got := c.eval(e, target, a, 0); got != tc.want {
			t.Errorf("%q = %v, want %v (parsed %s)", tc.check, got, tc.want, c)
		}
	}
	for _, bad := range []string{"(role:admin", "role:admin)", "and", "role:a or", "noColon", "not"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// The personas of Cinder's permission matrix, with the roles Keystone's implied roles put in
// their tokens (admin implies member, member implies reader). The target project is pa.
var (
	adminPB  = creds("pb", "admin", "member", "reader") // an admin, scoped to another project
	memberPA = creds("pa", "member", "reader")
	readerPA = creds("pa", "reader")
	memberPB = creds("pb", "member", "reader")
)

// Expected decisions for adminPB, memberPA, readerPA and memberPB, in that order.
var (
	everyone = [4]bool{true, true, true, true}
	owners   = [4]bool{true, true, true, false}  // an admin and the target project's member and reader
	writers  = [4]bool{true, true, false, false} // an admin and the target project's member
	admins   = [4]bool{true, false, false, false}
	nobody   = [4]bool{}
)

// TestDefaults: the personas under Cinder Zed's defaults, legacy (until enforce_new_defaults,
// the new check string or the deprecated one passes) and new, for rules of every policy file.
// The expectations follow from the check strings: reader is "(role:admin) or (role:reader
// and project_id:%(project_id)s)", member the same with role:member, admin_or_owner passes
// is_admin and the target's project, a legacy "" passes anyone, admin_api only is_admin.
func TestDefaults(t *testing.T) {
	legacy, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := New(Options{EnforceNewDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	target := Target{"project_id": "pa"}
	who := [4]Credentials{adminPB, memberPA, readerPA, memberPB}
	names := [4]string{"admin of pb", "member of pa", "reader of pa", "member of pb"}
	for _, tc := range []struct {
		rule          string
		legacy, fresh [4]bool
	}{
		// base.py
		{"admin_api", admins, admins},
		{"admin_or_owner", owners, owners},
		{"xena_system_admin_or_project_reader", owners, owners},
		{"xena_system_admin_or_project_member", writers, writers},
		{"system_or_domain_or_project_admin", nobody, nobody}, // no system scope, no domain_id in the target, admin of pb
		// volumes.py
		{"volume:get", owners, owners},
		{"volume:get_all", owners, owners},
		{"volume:create", everyone, writers},
		{"volume:create_from_image", everyone, writers},
		{"volume:delete", owners, writers},
		{"volume:multiattach", owners, writers},
		{"volume:force_delete", admins, admins},
		{"volume_extension:volume_host_attribute", admins, admins},
		{"volume_extension:volume_tenant_attribute", owners, owners},
		// volume_actions.py
		{"volume:extend", owners, writers},
		{"volume:extend_attached_volume", owners, writers},
		{"volume_extension:volume_actions:upload_image", owners, writers},
		{"volume_extension:volume_actions:upload_public", admins, admins},
		{"volume_extension:volume_actions:initialize_connection", owners, writers},
		{"volume_extension:volume_admin_actions:reset_status", admins, admins},
		{"volume:reimage", writers, writers}, // no deprecated rule
		// volume_metadata.py
		{"volume:get_volume_metadata", owners, owners},
		{"volume:update_volume_metadata", owners, writers},
		{"volume_extension:volume_image_metadata:show", owners, owners},
		{"volume_extension:volume_image_metadata:set", owners, writers},
		{"volume:update_volume_admin_metadata", admins, admins},
		// volume_access.py
		{"volume_extension:volume_type_access", owners, writers},
		{"volume_extension:volume_type_access:addProjectAccess", admins, admins},
		{"volume_extension:volume_type_access:get_all_for_type", admins, admins},
		// volume_type.py
		{"volume_extension:type_get", everyone, owners},
		{"volume_extension:type_get_all", everyone, owners},
		{"volume_extension:type_create", admins, admins},
		{"volume_extension:access_types_extra_specs", owners, owners},
		{"volume_extension:access_types_qos_specs_id", admins, admins},
		{"volume_extension:volume_type_encryption:get", admins, admins},
		// type_extra_specs.py
		{"volume_extension:types_extra_specs:index", everyone, owners},
		{"volume_extension:types_extra_specs:show", everyone, owners},
		{"volume_extension:types_extra_specs:read_sensitive", admins, admins},
		{"volume_extension:types_extra_specs:create", admins, admins},
		// default_types.py
		{"volume_extension:default_get", admins, admins},
		{"volume_extension:default_get_all", admins, admins},
		{"volume_extension:default_set_or_update", admins, admins},
		// snapshots.py
		{"volume:get_snapshot", owners, owners},
		{"volume:create_snapshot", owners, writers},
		{"volume:delete_snapshot", owners, writers},
		{"volume_extension:extended_snapshot_attributes", owners, owners},
		// snapshot_actions.py
		{"snapshot_extension:snapshot_actions:update_snapshot_status", everyone, writers},
		{"volume_extension:snapshot_admin_actions:reset_status", admins, admins},
		{"volume_extension:snapshot_admin_actions:force_delete", admins, admins},
		// snapshot_metadata.py
		{"volume:get_snapshot_metadata", owners, owners},
		{"volume:update_snapshot_metadata", owners, writers},
		// attachments.py
		{"volume:attachment_create", everyone, writers},
		{"volume:attachment_delete", owners, writers},
		{"volume:multiattach_bootable_volume", owners, writers},
		// messages.py
		{"message:get", owners, owners},
		{"message:delete", owners, writers},
		// volume_transfer.py
		{"volume:get_transfer", owners, owners},
		{"volume:create_transfer", owners, writers},
		{"volume:accept_transfer", everyone, writers},
		{"volume:delete_transfer", owners, writers},
		// quotas.py, quota_class.py, limits.py
		{"volume_extension:quotas:show", owners, owners},
		{"volume_extension:quotas:update", admins, admins},
		{"volume_extension:quota_classes:get", admins, admins},
		{"limits_extension:used_limits", owners, owners},
		// qos_specs.py, services.py, capabilities.py, scheduler_stats.py
		{"volume_extension:qos_specs_manage:get_all", admins, admins},
		{"volume_extension:services:index", admins, admins},
		{"volume:failover_host", admins, admins},
		{"volume_extension:capabilities", admins, admins},
		{"scheduler_extension:scheduler_stats:get_pools", admins, admins},
		// A rule nobody defined is denied.
		{"no:such:rule", nobody, nobody},
	} {
		for i, c := range who {
			if got := legacy.Allowed(tc.rule, target, c); got != tc.legacy[i] {
				t.Errorf("legacy %s for the %s = %v, want %v", tc.rule, names[i], got, tc.legacy[i])
			}
			if got := strict.Allowed(tc.rule, target, c); got != tc.fresh[i] {
				t.Errorf("new %s for the %s = %v, want %v", tc.rule, names[i], got, tc.fresh[i])
			}
		}
	}
	// The reader rule wants the reader role: a token with only "member" (no implied roles)
	// is an owner under the legacy string, not a reader under the new one.
	if !legacy.Allowed("volume:get", target, creds("pa", "member")) || strict.Allowed("volume:get", target, creds("pa", "member")) {
		t.Error("volume:get for a bare member of pa: want legacy true, new false")
	}
	if !legacy.IsAdmin(creds("x", "admin")) || legacy.IsAdmin(creds("x", "member")) {
		t.Error("context_is_admin is not role:admin")
	}
}

// TestPolicyFile: YAML and JSON files override the defaults rule by rule; a bad file fails.
func TestPolicyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own := Target{"project_id": "pa"}
	for _, tc := range []struct{ name, body string }{
		{"p.yaml", "\"volume_extension:services:index\": \"role:reader\"\n# a comment\n\"volume:delete\": \"!\"\ncontext_is_admin: \"role:superuser\"\n"},
		{"p.json", `{"volume_extension:services:index": "role:reader", "volume:delete": "!", "context_is_admin": "role:superuser"}`},
	} {
		e, err := New(Options{File: write(tc.name, tc.body)})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !e.Allowed("volume_extension:services:index", own, creds("pa", "reader")) {
			t.Errorf("%s: the override of services:index does not pass a reader", tc.name)
		}
		if e.Allowed("volume:delete", own, creds("pa", "admin")) {
			t.Errorf("%s: volume:delete \"!\" passes", tc.name)
		}
		if !e.Allowed("volume:get", own, creds("pa", "reader")) {
			t.Errorf("%s: a rule the file does not name lost its default", tc.name)
		}
		if e.IsAdmin(creds("pa", "admin")) || !e.IsAdmin(creds("pa", "superuser")) {
			t.Errorf("%s: context_is_admin not overridden", tc.name)
		}
	}
	if _, err := New(Options{File: filepath.Join(dir, "absent.yaml")}); err != nil {
		t.Errorf("an absent policy file: %v", err)
	}
	for _, bad := range []string{"\"volume:get\": \"role:a or\"\n", "\"volume:get\": [1, 2]\n", "{{{"} {
		if _, err := New(Options{File: write("bad.yaml", bad)}); err == nil {
			t.Errorf("policy file %q accepted", bad)
		}
	}
	// A cycle denies instead of recursing forever.
	e, err := New(Options{File: write("cycle.yaml", "a: rule:b\nb: rule:a\n")})
	if err != nil {
		t.Fatal(err)
	}
	if e.Allowed("a", own, creds("pa", "admin")) {
		t.Error("a rule cycle passes")
	}
}

// TestRenamedRules: an operator's file written for the old name of a renamed rule sets the
// new rule, unless it names the new one too, as oslo.policy's deprecated_rule does.
func TestRenamedRules(t *testing.T) {
	dir := t.TempDir()
	own := Target{"project_id": "pa"}
	for _, c := range []struct {
		name, body string
		rule       string
		who        Credentials
		want       bool
	}{
		{"old name opens the new rules", `"volume_extension:types_manage": "role:member"`, "volume_extension:type_create", creds("pa", "member"), true},
		{"old name opens every new rule", `"volume_extension:types_manage": "role:member"`, "volume_extension:type_delete", creds("pa", "member"), true},
		{"old name closes the new rule", `"volume_extension:quota_classes": "!"`, "volume_extension:quota_classes:get", creds("pa", "admin"), false},
		{"the new name wins over the old", `{"volume_extension:types_manage": "role:member", "volume_extension:type_create": "!"}`, "volume_extension:type_create", creds("pa", "member"), false},
		{"unrelated rules keep their defaults", `"volume_extension:types_manage": "role:member"`, "volume_extension:type_get", creds("pa", "reader"), true},
		{"old image metadata name", `"volume_extension:volume_image_metadata": "!"`, "volume_extension:volume_image_metadata:show", creds("pa", "admin"), false},
	} {
		p := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(p, []byte(c.body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := New(Options{File: p})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := e.Allowed(c.rule, own, c.who); got != c.want {
			t.Errorf("%s: %s = %v, want %v", c.name, c.rule, got, c.want)
		}
	}
}

// TestWriteDefaults: the printed defaults parse back as a policy file with every rule, and a
// rule reads as oslopolicy-sample-generator prints it.
func TestWriteDefaults(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDefaults(&b); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "#\"") {
			kept = append(kept, line[1:])
		}
	}
	rules, err := parseFile([]byte(strings.Join(kept, "\n")))
	if err != nil {
		t.Fatalf("the printed defaults do not parse: %v", err)
	}
	if len(rules) != len(Defaults()) {
		t.Errorf("%d rules printed, %d defaults", len(rules), len(Defaults()))
	}
	for _, want := range []string{
		"# List volumes or get summary of volumes.\n" +
			"# Until enforce_new_defaults, \"rule:admin_or_owner\" also passes.\n" +
			"# GET  /volumes\n# GET  /volumes/detail\n# GET  /volumes/summary\n" +
			"#\"volume:get_all\": \"rule:xena_system_admin_or_project_reader\"\n\n",
		"# DEPRECATED: This rule will be removed in the Yoga release.\n" +
			"# Default rule for most non-Admin APIs.\n" +
			"#\"admin_or_owner\": ",
		"# Include a volume's image metadata in volume detail responses.  The\n" +
			"# ability to make these calls is governed by other policies.\n",
		"# Until enforce_new_defaults, \"@\" also passes.\n# POST  /volumes\n#\"volume:create\": ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the printed defaults lack\n%s", want)
		}
	}
}
