package wire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

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
		v, err := DecodeJSON([]byte(tc.json))
		if err != nil {
			t.Errorf("decode %s: %v", tc.json, err)
			continue
		}
		if got := PyRepr(v); got != tc.repr {
			t.Errorf("repr(%s) = %s, want %s", tc.json, got, tc.repr)
		}
		if got := pyStr(v); got != tc.str {
			t.Errorf("str(%s) = %s, want %s", tc.json, got, tc.str)
		}
	}
	for _, bad := range []string{`{`, `{"a": 1} 2`, `NaN`, `{1: 2}`, `[1,]`} {
		if _, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

func TestDecodeDepth(t *testing.T) {
	deepObject := strings.Repeat(`{"a": `, maxBodyDepth+1) + "1" + strings.Repeat("}", maxBodyDepth+1)
	for _, tc := range []struct {
		name string
		body string
		deep bool // refused for its depth
	}{
		{"at the limit", strings.Repeat("[", maxBodyDepth) + strings.Repeat("]", maxBodyDepth), false},
		{"volume at the limit", nested(maxBodyDepth - 2), false},
		{"one level more", nested(maxBodyDepth - 1), true},
		{"objects", deepObject, true},
		{"a megabyte of brackets", nestedOfSize(MaxBodyBytes), true},
		{"unclosed", strings.Repeat("[", 100000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJSON([]byte(tc.body))
			if got := errors.Is(err, errTooDeep); got != tc.deep {
				t.Fatalf("decode: %v; refused for depth: %v, want %v", err, got, tc.deep)
			}
			if !tc.deep && err != nil {
				t.Fatalf("decode: %v", err)
			}
		})
	}
}

// TestDecodeNestedWorkBounded: a deep body costs what its first levels cost, not what its
// length would (before the cap, each level was a list: hundreds of thousands of allocations
// for a megabyte).
func TestDecodeNestedWorkBounded(t *testing.T) {
	body := []byte(nestedOfSize(MaxBodyBytes))
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := DecodeJSON(body); err == nil {
			t.Fatal("a megabyte of nesting decoded")
		}
	})
	if allocs > 500 {
		t.Errorf("decoding %d bytes of nesting took %.0f allocations, want at most 500", len(body), allocs)
	}
}

func TestDecodeStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := []byte("[" + strings.Repeat("0, ", 100000) + "0]")
	if _, err := decodeJSONContext(ctx, body); !errors.Is(err, context.Canceled) {
		t.Fatalf("decode with an ended context: %v, want context.Canceled", err)
	}
	if _, err := decodeJSONContext(context.Background(), body); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

// TestEchoBounded: error messages quote a value, a string or a key list cut at maxEcho
// bytes, at a character boundary, with echoCut after the cut.
func TestEchoBounded(t *testing.T) {
	long := strings.Repeat("é", MaxBodyBytes/2)
	wide := "[" + strings.Repeat(`"abc", `, 100000) + `"abc"]`
	wideValue, err := DecodeJSON([]byte(wide))
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%06d", i)
	}
	for _, tc := range []struct {
		name, got, prefix string
	}{
		{"repr of a long string", PyRepr(long), "'éé"},
		{"str of a long string", pyStr(long), "éé"},
		{"str repr", PyStrRepr(long), "'éé"},
		{"repr of a wide list", PyRepr(wideValue), "['abc', 'abc'"},
		{"key list", PyReprList(keys), "'key-000000', 'key-000001'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.got) > MaxEcho+len(EchoCut) {
				t.Errorf("%d bytes, want at most %d", len(tc.got), MaxEcho+len(EchoCut))
			}
			if !strings.HasPrefix(tc.got, tc.prefix) || !strings.HasSuffix(tc.got, EchoCut) {
				t.Errorf("got %.40q…%q, want %q… ending %q", tc.got, tc.got[max(0, len(tc.got)-10):], tc.prefix, EchoCut)
			}
			if !utf8.ValidString(tc.got) {
				t.Errorf("cut inside a character: %q", tc.got[len(tc.got)-10:])
			}
		})
	}
	if got := PyRepr("short"); got != "'short'" {
		t.Errorf("repr of a short string = %s, not cut", got)
	}
}

// nested is a body whose volume metadata is n arrays inside each other.
func nested(n int) string {
	return `{"volume": {"size": 1, "metadata": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`
}

// nestedOfSize is nested, as deep as fits in size bytes.
func nestedOfSize(size int) string {
	return nested((size - len(nested(0))) / 2)
}
