package policy

import (
	"encoding/json"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Enforcer decides rules: Cinder's defaults, each replaced by the operator's policy file
// where it names the rule. Until enforce_new_defaults, a default that has a deprecated
// (legacy) check string passes when either string does, as oslo.policy does.
type Enforcer struct {
	rules map[string]check
}

// Options configure an Enforcer.
type Options struct {
	// File is [oslo_policy] policy_file; "" or a missing file means defaults only. A relative
	// name is looked up as is (the caller resolves it against the configuration directory).
	File string
	// EnforceNewDefaults is [oslo_policy] enforce_new_defaults: the personas only, without
	// the legacy admin_or_owner strings.
	EnforceNewDefaults bool
}

// New returns an Enforcer with Cinder's defaults, overridden by the policy file.
func New(o Options) (*Enforcer, error) {
	e := &Enforcer{rules: map[string]check{}}
	for _, d := range Defaults() {
		s := d.Check
		if d.Deprecated != "" && !o.EnforceNewDefaults {
			s = "(" + d.Check + ") or (" + d.Deprecated + ")"
		}
		c, err := Parse(s)
		if err != nil {
			return nil, fmt.Errorf("policy default %s: %w", d.Name, err)
		}
		e.rules[d.Name] = c
	}
	if o.File == "" {
		return e, nil
	}
	raw, err := os.ReadFile(o.File)
	if os.IsNotExist(err) {
		return e, nil // oslo.policy too runs on its defaults when the file is absent
	}
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	overrides, err := parseFile(raw)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", o.File, err)
	}
	// An override of a renamed rule's old name sets the new rule, unless the file sets the
	// new name as well (oslo.policy's deprecated_rule with another name).
	for _, d := range Defaults() {
		if old, ok := overrides[d.Renamed]; ok && d.Renamed != "" {
			if _, set := overrides[d.Name]; !set {
				overrides[d.Name] = old
			}
		}
	}
	for name, s := range overrides {
		c, err := Parse(s)
		if err != nil {
			return nil, fmt.Errorf("policy file %s: rule %s: %w", o.File, name, err)
		}
		e.rules[name] = c
	}
	return e, nil
}

// parseFile reads an oslo.policy file: a JSON or YAML mapping of rule name to check string.
func parseFile(raw []byte) (map[string]string, error) {
	out := map[string]string{}
	if err := json.Unmarshal(raw, &out); err == nil {
		return out, nil
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("neither JSON nor YAML: %w", err)
	}
	for k, v := range doc {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		default:
			return nil, fmt.Errorf("rule %s: the check must be a string, not %T", k, v)
		}
	}
	return out, nil
}

func (e *Enforcer) rule(name string) (check, bool) {
	c, ok := e.rules[name]
	return c, ok
}

// Allowed reports whether the rule passes for the caller on the target. A rule nobody
// defined is denied.
func (e *Enforcer) Allowed(rule string, t Target, c Credentials) bool {
	rc, ok := e.rules[rule]
	return ok && rc.eval(e, t, c, 0)
}

// IsAdmin evaluates context_is_admin (role:admin by default): what makes a context an
// admin one, and is_admin:True pass.
func (e *Enforcer) IsAdmin(c Credentials) bool {
	return e.Allowed("context_is_admin", Target{}, c)
}
