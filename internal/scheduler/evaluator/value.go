package evaluator

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of values.
const (
	Null Kind = iota // Python's None: a variable that is set to nothing
	Num
	Bool
	Str
	List
)

// Value is a number, boolean, string or list, or null.
type Value struct {
	kind Kind
	num  float64 // Num; Bool as 0 or 1
	str  string
	list []Value
}

// Number, Boolean, String and NullValue make values.
func Number(f float64) Value { return Value{kind: Num, num: f} }

// Boolean makes a boolean value.
func Boolean(b bool) Value {
	if b {
		return Value{kind: Bool, num: 1}
	}
	return Value{kind: Bool}
}

// String makes a string value.
func String(s string) Value { return Value{kind: Str, str: s} }

// NullValue is Python's None.
func NullValue() Value { return Value{} }

// FromAny converts what a decoded capability report holds (float64, int, bool, string, nil,
// []any) into a Value; anything else (a map) is a string of its Go form, which no number
// conversion accepts.
func FromAny(v any) Value {
	switch x := v.(type) {
	case nil:
		return NullValue()
	case float64:
		return Number(x)
	case float32:
		return Number(float64(x))
	case int:
		return Number(float64(x))
	case int64:
		return Number(float64(x))
	case bool:
		return Boolean(x)
	case string:
		return String(x)
	case []any:
		l := make([]Value, len(x))
		for i, e := range x {
			l[i] = FromAny(e)
		}
		return Value{kind: List, list: l}
	case fmt.Stringer:
		return String(x.String())
	}
	return Value{kind: List} // a map or struct: int() of it fails, as in Cinder
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// Truthy is Python's bool(): 0, "", [] and None are false.
func (v Value) Truthy() bool {
	switch v.kind {
	case Num, Bool:
		return v.num != 0
	case Str:
		return v.str != ""
	case List:
		return len(v.list) > 0
	}
	return false
}

// Float returns a number or boolean as a float64.
func (v Value) Float() (float64, bool) {
	if v.kind == Num || v.kind == Bool {
		return v.num, true
	}
	return 0, false
}

// String formats the value as Python would print it.
func (v Value) String() string {
	switch v.kind {
	case Num:
		if v.num == math.Trunc(v.num) && math.Abs(v.num) < 1e15 {
			return strconv.FormatFloat(v.num, 'f', -1, 64)
		}
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case Bool:
		if v.num != 0 {
			return "True"
		}
		return "False"
	case Str:
		return v.str
	case List:
		parts := make([]string, len(v.list))
		for i, e := range v.list {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "None"
}

var errNull = errors.New("a variable is not set (None)")

// constant applies what Cinder's EvalConstant does to every operand: int() if it can, else
// float(), else a string with its quotes removed. int() truncates floats and makes booleans 0
// or 1; int() of None or a list fails.
func constant(v Value) Value {
	switch v.kind {
	case Num:
		if math.IsNaN(v.num) || math.IsInf(v.num, 0) {
			return Value{kind: Null, str: "cannot convert " + v.String() + " to an integer"}
		}
		return Number(math.Trunc(v.num))
	case Bool:
		return Number(v.num)
	case Str:
		if n, ok := pyInt(v.str); ok {
			return Number(n)
		}
		if f, ok := pyFloat(v.str); ok {
			return Number(f)
		}
		return String(strings.NewReplacer(`"`, "", `'`, "").Replace(v.str))
	case List:
		return Value{kind: Null, str: "a list or mapping is not a number"}
	}
	return v
}

// pyInt is Python's int() of a string: optional sign, digits, '_' between digits.
func pyInt(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	t := strings.TrimLeft(s, "+-")
	if len(s)-len(t) > 1 || t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) && t[i] != '_' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return f, err == nil
}

// pyFloat is Python's float() of a string (decimal and exponent forms, inf, nan).
func pyFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, true // Python gives inf too
		}
		return 0, false
	}
	return f, true
}
