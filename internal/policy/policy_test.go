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

// TestDefaults: the personas under Cinder's defaults, legacy and new.
func TestDefaults(t *testing.T) {
	legacy, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := New(Options{EnforceNewDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	own := Target{"project_id": "pa"}
	for _, tc := range []struct {
		rule          string
		who           Credentials
		legacy, fresh bool
	}{
		{"volume:get", creds("pa", "reader"), true, true},
		{"volume:get", creds("pb", "member"), false, false},
		{"volume:get", creds("pb", "admin"), true, true},
		{"volume:delete", creds("pa", "member"), true, true},
		{"volume:delete", creds("pa", "reader"), true, false}, // legacy admin_or_owner passes owners
		{"volume:delete", creds("pb", "member"), false, false},
		{"volume:create", creds("pa", "reader"), true, false}, // Zed's deprecated volume:create is "" (anyone)
		{"volume:create_snapshot", creds("pa", "reader"), true, false},
		{"volume:create_snapshot", creds("pb", "member"), false, false},
		{"volume:attachment_create", creds("pa", "reader"), true, false},
		{"volume:create", creds("pa", "member"), true, true},
		{"volume_extension:services:index", creds("pa", "member"), false, false},
		{"volume_extension:services:index", creds("pb", "admin"), true, true},
		{"volume_extension:types_manage", creds("pa", "reader"), false, false},
		{"volume_extension:type_get", creds("pa"), true, true},
		{"no:such:rule", creds("pa", "admin"), false, false},
	} {
		if got := legacy.Allowed(tc.rule, own, tc.who); got != tc.legacy {
			t.Errorf("legacy %s for %v = %v, want %v", tc.rule, tc.who.Roles, got, tc.legacy)
		}
		if got := strict.Allowed(tc.rule, own, tc.who); got != tc.fresh {
			t.Errorf("new %s for %v = %v, want %v", tc.rule, tc.who.Roles, got, tc.fresh)
		}
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

// TestWriteDefaults: the printed defaults parse back as a policy file with every rule.
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
}
