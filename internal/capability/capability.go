// Package capability holds the pure rules that compare what a volume type asks for with what
// a pool reports, shared by the scheduler (its CapabilitiesFilter and get_pools filters) and
// the API (whether a retype can stay on the volume's pool, whether the pool's backend is down):
// Cinder's extra spec operators (extra_specs_ops: Op, ParseOp), the extra specs that name
// capabilities (Spec, ParseSpec, Fit), get_pools' value comparison (EqualAfterConvert) and a
// pool's backend_state (BackendDown). It does no I/O and imports no service.
package capability

import (
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// Spec is one extra spec that names a capability: unscoped (volume_backend_name=…) or scoped
// "capabilities:" (nested with ':', capabilities:foo:bar=…).
type Spec struct {
	// Path is the capability's path: the key split on ':' without the "capabilities" scope.
	Path []string
	// Req is the requirement (the extra spec's value), parsed in Op.
	Req string
	Op  Op
	// Display is key=value, as an explanation shows it.
	Display string
}

// ParseSpec parses the extra spec key=value; false for a key of another scope (qos:,
// RESKEY:, vendor:…), which names no capability.
func ParseSpec(key, value string) (Spec, bool) {
	path := strings.Split(key, ":")
	if len(path) > 1 && path[0] != "capabilities" {
		return Spec{}, false
	}
	if path[0] == "capabilities" {
		path = path[1:]
	}
	return Spec{Path: path, Req: value, Op: ParseOp(value), Display: key + "=" + value}, true
}

// Mismatch says why a pool's capability does not satisfy a Spec.
type Mismatch struct {
	// Missing: the pool has no such capability (Detail is its path, a:b); otherwise its value
	// does not match (Detail is the spec's key=value, with a hint for a boolean capability).
	Missing bool
	Detail  string
}

// String is the phrase of one pool: "has no capability a:b", "does not match k=v".
func (m Mismatch) String() string {
	if m.Missing {
		return "has no capability " + m.Detail
	}
	return "does not match " + m.Detail
}

// Check matches the pool's value of the capability (found: whether the pool has it, not nil)
// against s, as Cinder's CapabilitiesFilter does: a list capability matches when one of its
// elements does (except for <all-in>, which takes the list whole).
func (s *Spec) Check(value any, found bool) (bool, Mismatch) {
	if !found {
		return false, Mismatch{Missing: true, Detail: strings.Join(s.Path, ":")}
	}
	if l, isList := value.([]any); isList && s.Op.kind != opAllIn {
		for _, e := range l {
			if s.Op.Match(e) {
				return true, Mismatch{}
			}
		}
		return false, Mismatch{Detail: s.Display}
	}
	if s.Op.Match(value) {
		return true, Mismatch{}
	}
	if _, isBool := value.(bool); isBool && s.Op.kind == opPlain {
		return false, Mismatch{Detail: s.Display + ` (a boolean capability needs "<is> ` + s.Req + `")`}
	}
	return false, Mismatch{Detail: s.Display}
}

// Fit reports whether a pool with capabilities caps (as get_pools shows them) satisfies
// extraSpecs by the CapabilitiesFilter's rules, and when it does not, why (the first failing
// spec in key order, e.g. "does not match volume_backend_name=gold").
func Fit(caps map[string]any, extraSpecs map[string]string) (bool, string) {
	keys := make([]string, 0, len(extraSpecs))
	for k := range extraSpecs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := ParseSpec(k, extraSpecs[k])
		if !ok {
			continue
		}
		v, found := LookupPath(caps, s.Path)
		if fits, why := s.Check(v, found); !fits {
			return false, why.String()
		}
	}
	return true, ""
}

// BackendDown reports whether a pool with capabilities caps (as get_pools shows them) is on a
// backend that reports itself down (backend_state "down": its storage cannot be reached).
func BackendDown(caps map[string]any) bool {
	s, ok := caps[resource.CapBackendState].(string)
	return ok && strings.EqualFold(strings.TrimSpace(s), resource.BackendStateDown)
}
