package policy

import (
	"reflect"
	"strings"
	"testing"
)

// TestDefaultsWellFormed: every default has a unique name, a description, check strings that
// parse, and rule: references to defaults that exist; the names Cinder Zed does not have
// are absent.
func TestDefaultsWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, d := range Defaults() {
		if names[d.Name] {
			t.Errorf("%s is defined twice", d.Name)
		}
		names[d.Name] = true
		if d.Help == "" {
			t.Errorf("%s has no description", d.Name)
		}
		for _, op := range d.Operations {
			method, path, ok := strings.Cut(op, " ")
			if !ok || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") {
				t.Errorf("%s: operation %q is not \"METHOD /path\"", d.Name, op)
			}
		}
	}
	for _, d := range Defaults() {
		for _, s := range []string{d.Check, d.Deprecated} {
			c, err := Parse(s)
			if err != nil {
				t.Errorf("%s: %v", d.Name, err)
				continue
			}
			for _, ref := range ruleRefs(c) {
				if !names[ref] {
					t.Errorf("%s: %q refers to the undefined rule %s", d.Name, s, ref)
				}
			}
		}
	}
	for _, gone := range []string{"volume:get_all_for_all_tenants", "volume_extension:availability_zone_list", "volume_extension:volume_image_metadata"} {
		if names[gone] {
			t.Errorf("%s is not a rule of Cinder Zed", gone)
		}
	}
	if n := len(zed); n != 144 { // 117 + 9 group_types.py + 11 groups.py and group_actions.py + 7 group_snapshots.py and group_snapshot_actions.py
		t.Errorf("%d Zed rules, want the 144 of the files Scoria serves", n)
	}
}

// ruleRefs lists the rule: checks of a parsed check string.
func ruleRefs(c check) []string {
	switch x := c.(type) {
	case ruleCheck:
		return []string{string(x)}
	case andCheck:
		return refsOf(x)
	case orCheck:
		return refsOf(x)
	case notCheck:
		return ruleRefs(x.c)
	}
	return nil
}

func refsOf(cs []check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, ruleRefs(c)...)
	}
	return out
}

// TestWrapComment: descriptions wrap as Python's textwrap.wrap(text, 70) does in oslo.policy's
// sample generator.
func TestWrapComment(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Show volume.", []string{"# Show volume."}},
		{"DEPRECATED: This rule will be removed in the Yoga release.            Default rule for most non-Admin APIs.",
			[]string{"# DEPRECATED: This rule will be removed in the Yoga release.", "# Default rule for most non-Admin APIs."}},
		{"Include a volume's image metadata in volume detail responses.  The ability to make these calls is governed by other policies.",
			[]string{"# Include a volume's image metadata in volume detail responses.  The", "# ability to make these calls is governed by other policies."}},
		{strings.Repeat("x", 80) + " y", []string{"# " + strings.Repeat("x", 80), "# y"}},
	} {
		if got := wrapComment(tc.text, 70); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("wrapComment(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
