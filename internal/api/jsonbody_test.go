package api

import "testing"

func TestPyRepr(t *testing.T) {
	for _, tc := range []struct{ json, repr, str string }{
		{`null`, `None`, `None`},
		{`true`, `True`, `True`},
		{`1`, `1`, `1`},
		{`-0`, `0`, `0`},
		{`123456789012345678901234567890`, `123456789012345678901234567890`, `123456789012345678901234567890`},
		{`1.5`, `1.5`, `1.5`},
		{`1e3`, `1000.0`, `1000.0`},
		{`1e16`, `1e+16`, `1e+16`},
		{`0.00001`, `1e-05`, `1e-05`},
		{`"abc"`, `'abc'`, `abc`},
		{`"it's"`, `"it's"`, `it's`},
		{`"it's \"x\""`, `'it\'s "x"'`, `it's "x"`},
		{`"a\nb\\c\u0001é"`, `'a\nb\\c\x01é'`, "a\nb\\c\x01é"},
		{`[1, "a", null]`, `[1, 'a', None]`, `[1, 'a', None]`},
		{`{"b": 1, "a": {"c": []}}`, `{'b': 1, 'a': {'c': []}}`, `{'b': 1, 'a': {'c': []}}`},
		{`{"a": 1, "a": 2}`, `{'a': 2}`, `{'a': 2}`},
	} {
		v, err := decodeJSON([]byte(tc.json))
		if err != nil {
			t.Errorf("decode %s: %v", tc.json, err)
			continue
		}
		if got := pyRepr(v); got != tc.repr {
			t.Errorf("repr(%s) = %s, want %s", tc.json, got, tc.repr)
		}
		if got := pyStr(v); got != tc.str {
			t.Errorf("str(%s) = %s, want %s", tc.json, got, tc.str)
		}
	}
	for _, bad := range []string{`{`, `{"a": 1} 2`, `NaN`, `{1: 2}`, `[1,]`} {
		if _, err := decodeJSON([]byte(bad)); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}
