package capability

import "testing"

// TestSpecOps checks every operator of Cinder's extra_specs_ops.match, quirks included.
func TestSpecOps(t *testing.T) {
	tests := []struct {
		value any
		req   string
		want  bool
	}{
		// No operator: the capability must be the same string.
		{"lvmbackend", "lvmbackend", true},
		{"lvmbackend", "other", false},
		{true, "True", false}, // Cinder compares the bool True with the string "True"
		{float64(5), "5", false},
		{nil, "x", false},
		{"a b", "a b", true}, // a first word that is no operator: the whole requirement
		// "=" is numeric at-least, not equality.
		{float64(10), "= 5", true},
		{float64(5), "= 5", true},
		{float64(4), "= 5", false},
		{"12", "= 5", true},
		{"abc", "= 5", false}, // float("abc") raises ValueError: no match
		{true, "= 1", true},   // float(True) is 1
		{float64(5), "=", false},
		{float64(5), "== 5.0", true},
		{float64(5), "== 6", false},
		{float64(5), "!= 6", true},
		{float64(5), "!= 5", false},
		{float64(5), ">= 5", true},
		{float64(4), ">= 5", false},
		{float64(5), "<= 5", true},
		{float64(6), "<= 5", false},
		// String operators compare strings, lexically.
		{"abc", "s== abc", true},
		{"abc", "s== abd", false},
		{"abc", "s!= abd", true},
		{float64(1), "s!= 1", true}, // a number is never equal to a string
		{float64(1), "s== 1", false},
		{float64(1), "s< 2", false}, // Python raises: no match
		{"10", "s< 9", true},        // lexical, not numeric
		{"abc", "s<= abc", true},
		{"b", "s> a", true},
		{"a", "s>= b", false},
		// <in> is a substring (or an element of a list).
		{"iSCSI,FC", "<in> FC", true},
		{"iSCSI", "<in> NFS", false},
		{[]any{"aes", "vmx"}, "<in> vmx", true},
		{float64(12), "<in> 1", false},
		// <is> compares truth values the oslo way: true, True, 1, yes, on… are true.
		{true, "<is> True", true},
		{true, "<is> true", true},
		{true, "<is> TRUE", true},
		{false, "<is> True", false},
		{false, "<is> False", true},
		{false, "<is> anything", true}, // an unknown word is false
		{"yes", "<is> True", true},
		{float64(1), "<is> True", true},
		{true, "<is>", false},
		// <or> alternatives.
		{"iSCSI", "<or> FC <or> iSCSI", true},
		{"NFS", "<or> FC <or> iSCSI", false},
		{"FC", "<or> FC", true},
		{"x", "<or>", false},
		{float64(1), "<or> 1 <or> 2", false}, // compared as strings: a number never matches
		// <all-in>: every word is in the value.
		{"aes vmx sse", "<all-in> aes vmx", true},
		{"aes sse", "<all-in> aes vmx", false},
		{[]any{"aes", "vmx"}, "<all-in> aes vmx", true},
		{[]any{"aes"}, "<all-in> aes vmx", false},
		{"x", "<all-in>", false},
	}
	for _, tc := range tests {
		if got := ParseOp(tc.req).Match(tc.value); got != tc.want {
			t.Errorf("match(%#v, %q) = %v, want %v", tc.value, tc.req, got, tc.want)
		}
	}
}

func TestEqualAfterConvert(t *testing.T) {
	tests := []struct {
		cap   any
		value string
		want  bool
	}{
		{"lvm", "lvm", true}, {"lvm", "LVM", false}, {true, "True", true}, {true, "yes", true}, {false, "True", false},
		{float64(100), "100", true}, {float64(100), "100.0", true}, {float64(100), "99", false}, {nil, "x", false},
	}
	for _, tc := range tests {
		if got := EqualAfterConvert(tc.cap, tc.value); got != tc.want {
			t.Errorf("EqualAfterConvert(%#v, %q) = %v, want %v", tc.cap, tc.value, got, tc.want)
		}
	}
}
