package capability

import (
	"math"
	"strconv"
	"strings"
)

// Extra spec operators, as Cinder's cinder/scheduler/filters/extra_specs_ops.py reads a
// requirement: its first word is the operator, the next the operand. A requirement whose
// first word is no operator must equal the capability as a whole string.
type opKind uint8

const (
	opPlain opKind = iota // value == req
	opNumGE               // "=": float(value) >= float(operand) — numeric at-least, not equality
	opNumEq               // "=="
	opNumNe               // "!="
	opNumGe               // ">="
	opNumLe               // "<="
	opStrEq               // "s=="
	opStrNe               // "s!="
	opStrLt               // "s<"
	opStrLe               // "s<="
	opStrGt               // "s>"
	opStrGe               // "s>="
	opIn                  // "<in>": operand is a substring of (or an element of) value
	opIs                  // "<is>": same truth value (oslo's bool_from_string)
	opOr                  // "<or> a <or> b": value is one of the alternatives
	opAllIn               // "<all-in> a b": every operand is in value
)

var specOps = map[string]opKind{
	"=": opNumGE, "==": opNumEq, "!=": opNumNe, ">=": opNumGe, "<=": opNumLe,
	"s==": opStrEq, "s!=": opStrNe, "s<": opStrLt, "s<=": opStrLe, "s>": opStrGt, "s>=": opStrGe,
	"<in>": opIn, "<is>": opIs, "<or>": opOr, "<all-in>": opAllIn,
}

// Op is a parsed requirement: the value of an extra spec, with its operator.
type Op struct {
	kind  opKind
	req   string   // the whole requirement, for opPlain
	words []string // the words after the operator
}

// ParseOp parses the requirement req (an extra spec's value).
func ParseOp(req string) Op {
	words := strings.Fields(req)
	if len(words) == 0 {
		return Op{kind: opPlain, req: req}
	}
	k, ok := specOps[words[0]]
	if !ok {
		return Op{kind: opPlain, req: req}
	}
	return Op{kind: k, req: req, words: words[1:]}
}

// Match is extra_specs_ops.match(value, req) for one capability value (a list capability is
// matched element by element by Spec.Check, except for <all-in>). Where Python would raise a
// TypeError (ordering a number against a string, <in> on a number), it does not match.
func (o Op) Match(value any) bool {
	if o.kind == opPlain {
		s, ok := value.(string)
		return ok && s == o.req
	}
	if value == nil {
		return false
	}
	switch o.kind {
	case opOr:
		s, ok := value.(string)
		if !ok {
			return false
		}
		// "<or> a <or> b": every other word is an alternative.
		for i := 0; i < len(o.words); i += 2 {
			if o.words[i] == s {
				return true
			}
		}
		return false
	case opAllIn:
		if len(o.words) == 0 {
			return false
		}
		for _, w := range o.words {
			if !contains(value, w) {
				return false
			}
		}
		return true
	}
	if len(o.words) == 0 {
		return false
	}
	y := o.words[0]
	switch o.kind {
	case opNumGE, opNumEq, opNumNe, opNumGe, opNumLe:
		x, ok1 := pyFloat(value)
		f, ok2 := pyFloat(y)
		if !ok1 || !ok2 {
			return false
		}
		switch o.kind {
		case opNumGE, opNumGe:
			return x >= f
		case opNumEq:
			return x == f
		case opNumNe:
			return x != f
		}
		return x <= f
	case opIn:
		return contains(value, y)
	case opIs:
		return boolFromString(value) == boolFromString(y)
	}
	s, ok := value.(string)
	if !ok {
		// Python: a number equals no string; ordering them raises.
		return o.kind == opStrNe
	}
	switch o.kind {
	case opStrEq:
		return s == y
	case opStrNe:
		return s != y
	case opStrLt:
		return s < y
	case opStrLe:
		return s <= y
	case opStrGt:
		return s > y
	}
	return s >= y // opStrGe
}

// contains is Python's `y in x` for a string (substring) or a list (element).
func contains(x any, y string) bool {
	switch v := x.(type) {
	case string:
		return strings.Contains(v, y)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s == y {
				return true
			}
		}
	case []string:
		for _, s := range v {
			if s == y {
				return true
			}
		}
	}
	return false
}

// pyFloat is Python's float() of a capability: numbers, booleans (0 or 1) and numeric
// strings.
func pyFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		s := strings.TrimSpace(x)
		if s == "" || strings.ContainsAny(s, "xXpP") {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil && !math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// boolFromString is oslo's strutils.bool_from_string with its default: true for 1, t, true,
// on, y, yes (any case), false for everything else.
func boolFromString(v any) bool {
	var s string
	switch x := v.(type) {
	case bool:
		return x
	case string:
		s = x
	case float64:
		s = pyStr(x)
	default:
		return false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}

// pyStr formats a number as Python's str() of the int or float a report would carry.
func pyStr(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// LookupPath walks a capability path (["foo", "bar"] for capabilities:foo:bar) in caps; a
// nil value is no capability.
func LookupPath(caps map[string]any, path []string) (any, bool) {
	var cur any = caps
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

// EqualAfterConvert is Cinder's get_pools filter comparison of a capability with a query
// value: booleans through bool_from_string, numbers numerically, the rest as strings.
func EqualAfterConvert(capability any, value string) bool {
	switch c := capability.(type) {
	case nil:
		return false
	case string:
		return c == value
	case bool:
		return c == boolFromString(value)
	case float64:
		if f, ok := pyFloat(value); ok {
			return f == c
		}
		return pyStr(c) == value
	}
	return false
}
