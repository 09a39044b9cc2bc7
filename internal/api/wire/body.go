package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Request bodies are decoded into plain values that keep what Cinder's validation messages
// show: the order of object keys, and whether a number was written as an integer.
// The values are nil, bool, string, json.Number, []any and *Object.

// Object is a JSON object that remembers the order of its keys.
type Object struct {
	Keys []string
	Vals map[string]any
}

// Get returns the value of key k and whether the object has it.
func (o *Object) Get(k string) (any, bool) {
	v, ok := o.Vals[k]
	return v, ok
}

// Has reports whether the object has key k.
func (o *Object) Has(k string) bool {
	_, ok := o.Vals[k]
	return ok
}

// MaxBodyBytes bounds a request body; a larger one is answered 413.
const MaxBodyBytes = 1 << 20

// maxBodyDepth bounds how deeply arrays and objects of a body may nest. Cinder's deepest
// bodies (an attachment with its connector, scheduler hints) need a handful; a deeper body is
// answered 400 as soon as the decoder reaches the limit, before anything is built from it.
const maxBodyDepth = 32

// ctxCheckTokens is how many tokens the decoder reads between looks at the request's context,
// so that a body whose client has gone is not decoded to the end.
const ctxCheckTokens = 512

// errTooDeep is a body nested deeper than maxBodyDepth.
var errTooDeep = fmt.Errorf("JSON nested deeper than %d levels", maxBodyDepth)

// ReadBody reads and decodes a JSON request body. An empty body decodes to nil, as Cinder
// treats it (its schemas then say "None is not of type 'object'"). It stops with the
// context's error when the request's context ends (the client went away).
func ReadBody(r *http.Request) (any, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		if cerr := r.Context().Err(); cerr != nil {
			return nil, cerr
		}
		return nil, BadRequest(MsgMalformedBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	v, err := decodeJSONContext(r.Context(), data)
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, errTooDeep):
		return nil, BadRequest("%s: %v", MsgMalformedBody, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, err
	}
	return nil, BadRequest(MsgMalformedBody)
}

// DecodeJSON decodes one JSON value, as decodeJSONContext without a context.
func DecodeJSON(data []byte) (any, error) {
	return decodeJSONContext(context.Background(), data)
}

// decodeJSONContext decodes one JSON value into the plain values above. Its work is linear in
// len(data): each token is read once, nesting stops at maxBodyDepth, and every ctxCheckTokens
// tokens it gives up with ctx's error when ctx has ended.
func decodeJSONContext(ctx context.Context, data []byte) (any, error) {
	return (&bodyDecoder{ctx: ctx}).decode(data)
}

// bodyDecoder builds a value from a json.Decoder's tokens, counting them.
type bodyDecoder struct {
	ctx    context.Context
	dec    *json.Decoder
	tokens int // tokens read so far
}

// decode decodes data, which must hold exactly one JSON value.
func (d *bodyDecoder) decode(data []byte) (any, error) {
	d.dec = json.NewDecoder(bytes.NewReader(data))
	d.dec.UseNumber()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := d.token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

func (d *bodyDecoder) token() (json.Token, error) {
	if d.tokens%ctxCheckTokens == 0 {
		if err := d.ctx.Err(); err != nil {
			return nil, err
		}
	}
	d.tokens++
	return d.dec.Token()
}

// value decodes the next value, which sits inside depth arrays or objects.
func (d *bodyDecoder) value(depth int) (any, error) {
	tok, err := d.token()
	if err != nil {
		return nil, err
	}
	t, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= maxBodyDepth {
		return nil, errTooDeep
	}
	switch t {
	case '{':
		o := &Object{Vals: map[string]any{}}
		for d.dec.More() {
			kt, err := d.token()
			if err != nil {
				return nil, err
			}
			k, ok := kt.(string)
			if !ok {
				return nil, errors.New("object key is not a string")
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, dup := o.Vals[k]; !dup {
				o.Keys = append(o.Keys, k)
			}
			o.Vals[k] = v
		}
		if _, err := d.token(); err != nil { // '}'
			return nil, err
		}
		return o, nil
	case '[':
		list := []any{}
		for d.dec.More() {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := d.token(); err != nil { // ']'
			return nil, err
		}
		return list, nil
	}
	return nil, errors.New("unexpected delimiter")
}

// isJSONInteger reports whether n was written as an integer (Python's json makes an int of
// it; "1.0" and "1e3" become floats).
func isJSONInteger(n json.Number) bool {
	return !strings.ContainsAny(string(n), ".eE")
}

// maxEcho bounds, in bytes, each value an error message quotes: Cinder's messages repeat the
// offending value, and a body of a megabyte must not come back twice, or be rendered whole
// before being cut. A longer rendering ends with echoCut.
const (
	MaxEcho = 512
	EchoCut = "..."
)

// echo builds error text in one buffer, cutting each quoted value at maxEcho bytes: the
// rendering stops there, so its cost does not grow with the value.
type echo struct {
	b    strings.Builder
	stop int  // length of b at which the value being written is cut
	cut  bool // the value being written reached stop
}

// text appends s as it is, not bounded.
func (e *echo) text(s string) { e.b.WriteString(s) }

// bounded appends what write renders, cut at maxEcho bytes.
func (e *echo) bounded(write func(*echo)) {
	e.stop, e.cut = e.b.Len()+MaxEcho, false
	write(e)
	e.stop, e.cut = 0, false
}

func (e *echo) String() string { return e.b.String() }

// put appends s within the bound; the part beyond it is replaced by echoCut.
func (e *echo) put(s string) {
	if e.cut {
		return
	}
	room := e.stop - e.b.Len()
	if len(s) <= room {
		e.b.WriteString(s)
		return
	}
	for room > 0 && !utf8.RuneStart(s[room]) {
		room--
	}
	e.b.WriteString(s[:room])
	e.b.WriteString(EchoCut)
	e.cut = true
}

// putRune appends r within the bound.
func (e *echo) putRune(r rune) {
	if e.cut {
		return
	}
	if e.b.Len()+utf8.RuneLen(r) <= e.stop {
		e.b.WriteRune(r)
		return
	}
	e.b.WriteString(EchoCut)
	e.cut = true
}

// repr writes v as Python's repr() does.
func (e *echo) repr(v any) {
	switch t := v.(type) {
	case nil:
		e.put("None")
	case bool:
		if t {
			e.put("True")
		} else {
			e.put("False")
		}
	case json.Number:
		e.put(PyNumber(t))
	case string:
		e.strRepr(t)
	case []any:
		e.put("[")
		for i, x := range t {
			if e.cut {
				return
			}
			if i > 0 {
				e.put(", ")
			}
			e.repr(x)
		}
		e.put("]")
	case *Object:
		e.put("{")
		for i, k := range t.Keys {
			if e.cut {
				return
			}
			if i > 0 {
				e.put(", ")
			}
			e.strRepr(k)
			e.put(": ")
			e.repr(t.Vals[k])
		}
		e.put("}")
	default:
		e.put("<?>")
	}
}

// strRepr writes s quoted as Python's repr of a str does.
func (e *echo) strRepr(s string) {
	quote := '\''
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	e.putRune(quote)
	for _, r := range s {
		if e.cut {
			return
		}
		switch {
		case r == '\\':
			e.put(`\\`)
		case r == quote:
			e.put(`\`)
			e.putRune(r)
		case r == '\n':
			e.put(`\n`)
		case r == '\r':
			e.put(`\r`)
		case r == '\t':
			e.put(`\t`)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			switch {
			case r < 0x100:
				e.put(`\x` + hex(int(r), 2))
			case r < 0x10000:
				e.put(`\u` + hex(int(r), 4))
			default:
				e.put(`\U` + hex(int(r), 8))
			}
		default:
			e.putRune(r)
		}
	}
	e.putRune(quote)
}

// str writes v as Python's str() does: strings bare, everything else as repr.
func (e *echo) str(v any) {
	if s, ok := v.(string); ok {
		e.put(s)
		return
	}
	e.repr(v)
}

// PyRepr renders v as Python's repr() does, which is how Cinder's validation messages quote
// values; cut at maxEcho bytes.
func PyRepr(v any) string {
	var e echo
	e.bounded(func(e *echo) { e.repr(v) })
	return e.String()
}

// pyStr renders v as Python's str() does (strings bare, everything else as repr), cut at
// maxEcho bytes.
func pyStr(v any) string {
	var e echo
	e.bounded(func(e *echo) { e.str(v) })
	return e.String()
}

// PyNumber renders a JSON number as Python does: an int exactly, a float as its repr.
func PyNumber(n json.Number) string {
	if isJSONInteger(n) {
		if i, ok := new(big.Int).SetString(string(n), 10); ok {
			return i.String()
		}
		return string(n)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return string(n)
	}
	return pyFloat(f)
}

// pyFloat is Python's float repr: the shortest round-tripping digits, positional between
// 1e-4 and 1e16, always with a fractional part or an exponent.
func pyFloat(f float64) string {
	switch {
	case f != f:
		return "nan"
	case f > 1.7976931348623157e308:
		return "inf"
	case f < -1.7976931348623157e308:
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// PyStrRepr quotes s as Python's repr of a str does, cut at maxEcho bytes.
func PyStrRepr(s string) string {
	var e echo
	e.bounded(func(e *echo) { e.strRepr(s) })
	return e.String()
}

func hex(v, width int) string {
	s := strconv.FormatInt(int64(v), 16)
	return strings.Repeat("0", max(0, width-len(s))) + s
}

// PyReprList joins reprs of names, sorted, as jsonschema lists unexpected properties; the
// list is cut at maxEcho bytes.
func PyReprList(names []string) string {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var e echo
	e.bounded(func(e *echo) {
		for i, n := range sorted {
			if e.cut {
				return
			}
			if i > 0 {
				e.put(", ")
			}
			e.strRepr(n)
		}
	})
	return e.String()
}
