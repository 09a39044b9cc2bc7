package evaluator

import (
	"strings"
	"testing"
)

type vars map[string]Value

func (v vars) Lookup(obj, name string) (Value, bool) {
	x, ok := v[obj+"."+name]
	return x, ok
}

var testVars = vars{
	"stats.free_capacity_gb":  Number(37.5),
	"stats.total_capacity_gb": Number(100),
	"capabilities.thin":       Boolean(true),
	"capabilities.numstr":     String("42"),
	"capabilities.name":       String("lvm"),
	"capabilities.none":       NullValue(),
	"volume.size":             Number(10),
}

func TestEval(t *testing.T) {
	tests := []struct {
		src  string
		want string // the result as Python prints it
	}{
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"2 ^ 3 ^ 2", "512"}, // right associative
		{"-2 ^ 2", "-4"},     // sign binds looser than ^
		{"10 / 4", "2.5"},
		{"10 - 2 - 3", "5"},
		{"1 < 2 < 3", "True"},
		{"3 > 2 > 2", "False"},
		{"1 <> 2", "True"},
		{"not 0", "True"},
		{"! 1 == 0", "True"}, // not binds tighter than ==: (not 1) == 0
		{"1 and 0", "0"},
		{"0 or 5", "5"},
		{"1 && 2 && 3", "3"}, // every operand counts (Cinder drops the third)
		{"0 || 0 || 7", "7"},
		{"AND_x", "AND_x"},
		{"1 ? 10 : 20", "10"},
		{"0 ? 10 : 1 ? 20 : 30", "20"},
		{"volume.size >= 10 ? 100 : 50", "100"},
		{"abs(-3)", "3"},
		{"max(1, 5, 3)", "5"},
		{"min(4, 2, 8)", "2"},
		{"max(1, 2) + 1", "3"},
		{"stats.free_capacity_gb", "37"}, // int() truncates a variable's float, as Cinder
		{"stats.free_capacity_gb / stats.total_capacity_gb * 100", "37"},
		{"capabilities.thin == 1", "True"}, // int(True) is 1
		{"capabilities.numstr + 1", "43"},  // a string variable that reads as a number is one
		{"capabilities.name == 'lvm'", "True"},
		{`capabilities.name == "nfs"`, "False"},
		{"capabilities.name == 1", "False"},
		{"'a' + 'b'", "ab"},
		{"1.5 * 2", "3"},
		{"foo", "foo"}, // a bare word is a string
		{"10 / '4'", "2.5"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			e, err := Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			v, err := e.Eval(testVars)
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != tc.want {
				t.Fatalf("%s = %s, want %s", tc.src, v, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	parse := []string{"", "1 +", "(1", "1 )", "1 = 2", "a ? b", "1 @ 2", "'open", "and 1", strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), strings.Repeat("x", MaxLength+1)}
	for _, src := range parse {
		if _, err := Parse(src); err == nil {
			t.Errorf("Parse(%.40q) succeeded, want an error", src)
		}
	}
	eval := map[string]string{
		"stats.unknown":             "unknown variable stats.unknown",
		"other.x":                   "unknown variable other.x",
		"capabilities.none + 1":     "is not set",
		"1 / 0":                     "division by zero",
		"0 ^ (0 - 1)":               "negative power",
		"(-8) ^ 0.5":                "not a real number",
		"'a' < 1":                   "cannot compare",
		"'a' - 1":                   "cannot compute",
		"frob(1)":                   "unknown function",
		"max(1)":                    "needs a list",
		"max(1, 'a')":               "no order",
		"abs('x')":                  "abs of",
		"0 and stats.nope":          "unknown variable", // both sides are evaluated
		"-'a'":                      "cannot apply sign",
		"10 / 'x'":                  "cannot divide",
		"volume.size ? 1 : stats.x": "",
	}
	for src, want := range eval {
		e, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		_, err = e.Eval(testVars)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error (the branch not taken is not evaluated)", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

// FuzzEvaluate: no input makes Parse or Eval panic or hang.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"1 + 2 * 3", "volume.size >= 10 ? 100 : 50", "max(1, stats.free_capacity_gb)", "not (a.b or 'x') and 2 ^ 3 ^ 4",
		"capabilities.numstr / 0", "((((1))))", "-+-1", "1 < 2 <= 3 <> 4", "abs abs -1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			return
		}
		v, err := e.Eval(testVars)
		if err == nil {
			_ = v.String()
			_ = v.Truthy()
		}
	})
}
