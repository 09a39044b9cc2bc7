package wire

import (
	"encoding/json"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Cinder validates request bodies with JSON schemas (cinder/api/schemas) and words the errors
// the way the jsonschema library does. These checks reproduce the rules and the messages of
// the schemas Scoria's endpoints use, so that a client sees the same 400 as from Cinder.

// DBMaxInt is Cinder's DB_MAX_INT, the largest size (GiB) a volume may have.
const DBMaxInt = 0x7FFFFFFF

// SchemaError is a jsonschema failure: at a field ("Invalid input for field/attribute …")
// or, for the whole body, the bare message.
// The message is built in one buffer; the field (a key of the caller's) and the value are
// each cut at maxEcho bytes, and msg quotes values already cut.
func SchemaError(field string, value any, msg string) *Fault {
	if field == "" {
		return &Fault{Status: http.StatusBadRequest, Message: msg}
	}
	var e echo
	e.text("Invalid input for field/attribute ")
	e.bounded(func(e *echo) { e.put(field) })
	e.text(". Value: ")
	e.bounded(func(e *echo) { e.str(value) })
	e.text(". ")
	e.text(msg)
	return &Fault{Status: http.StatusBadRequest, Message: e.String()}
}

// jsonType names the JSON schema type of v ("integer" for integral numbers).
func jsonType(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if isJSONInteger(t) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case *Object:
		return "object"
	}
	return "unknown"
}

// CheckType is the "type" keyword.
func CheckType(field string, v any, types ...string) *Fault {
	got := jsonType(v)
	for _, t := range types {
		if t == got || (t == "number" && got == "integer") {
			return nil
		}
	}
	quoted := make([]string, len(types))
	for i, t := range types {
		quoted[i] = PyStrRepr(t)
	}
	return SchemaError(field, v, PyRepr(v)+" is not of type "+strings.Join(quoted, ", "))
}

// CheckLength is "minLength"/"maxLength" of a string (in characters, as Python counts).
func CheckLength(field, s string, minLen, maxLen int) *Fault {
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen:
		return SchemaError(field, s, PyStrRepr(s)+" is too short")
	case maxLen >= 0 && n > maxLen:
		return SchemaError(field, s, PyStrRepr(s)+" is too long")
	}
	return nil
}

// CheckNullableString is {'type': ['string', 'null'], 'minLength': minLen, 'maxLength': maxLen}.
func CheckNullableString(field string, v any, minLen, maxLen int) *Fault {
	if f := CheckType(field, v, "string", "null"); f != nil {
		return f
	}
	if s, ok := v.(string); ok {
		return CheckLength(field, s, minLen, maxLen)
	}
	return nil
}

// CheckNameLike is Cinder's 'name_non_mandatory_remove_white_spaces' (and its description
// twin): a string or null, at most 255 characters once stripped. The length check raises
// InvalidInput rather than a schema error, so its message differs.
func CheckNameLike(field, entity string, v any) *Fault {
	if f := CheckType(field, v, "string", "null"); f != nil {
		return f
	}
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(s)); n > 255 {
		return InvalidInput("%s has %d characters, more than 255.", entity, n)
	}
	return nil
}

// CheckOptionalUUID is Cinder's optional_uuid: null, or a string that parses as a UUID.
func CheckOptionalUUID(field string, v any) *Fault {
	if v == nil {
		return nil
	}
	if s, ok := v.(string); ok && IsUUIDLike(s) {
		return nil
	}
	return SchemaError(field, v, PyRepr(v)+" is not valid under any of the given schemas")
}

// IsUUIDLike is oslo's is_uuid_like: anything uuid.UUID() accepts.
func IsUUIDLike(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// Boolean strings Cinder's schemas and oslo's strutils accept.
var (
	boolTrue  = []string{"1", "t", "true", "on", "y", "yes"}
	boolFalse = []string{"0", "f", "false", "off", "n", "no"}
)

// IsTrue reports whether s (lower case) is one of oslo's true strings ("1", "t", "true",
// "on", "y", "yes").
func IsTrue(s string) bool { return slices.Contains(boolTrue, s) }

// IsFalse reports whether s (lower case) is one of oslo's false strings ("0", "f", "false",
// "off", "n", "no").
func IsFalse(s string) bool { return slices.Contains(boolFalse, s) }

// SchemaBool is the value of s as parameter_types.boolean's enum reads it, and whether s is
// in that enum (its case variants are exact).
func SchemaBool(s string) (value, ok bool) {
	value, ok = schemaBoolStrings[s]
	return value, ok
}

// schemaBoolStrings is the enum of parameter_types.boolean (the case variants are exact).
var schemaBoolStrings = map[string]bool{
	"True": true, "TRUE": true, "true": true, "1": true, "ON": true, "On": true, "on": true,
	"YES": true, "Yes": true, "yes": true, "y": true, "t": true,
	"False": false, "FALSE": false, "false": false, "0": false, "OFF": false, "Off": false, "off": false,
	"NO": false, "No": false, "no": false, "n": false, "f": false,
}

// CheckOptionalBoolean is Cinder's optional_boolean and returns the value it means.
func CheckOptionalBoolean(field string, v any) (bool, *Fault) {
	switch t := v.(type) {
	case nil:
		return false, nil
	case bool:
		return t, nil
	case string:
		if b, ok := schemaBoolStrings[t]; ok {
			return b, nil
		}
	}
	return false, SchemaError(field, v, PyRepr(v)+" is not valid under any of the given schemas")
}

// ParseBoolParam is Cinder's get_bool_param for a query parameter: a strict boolean string.
func ParseBoolParam(name, value string) (bool, *Fault) {
	l := strings.ToLower(strings.TrimSpace(value))
	for _, s := range boolTrue {
		if l == s {
			return true, nil
		}
	}
	for _, s := range boolFalse {
		if l == s {
			return false, nil
		}
	}
	return false, BadRequest("Value '%s' for '%s' is not a boolean.", value, name)
}

// MetadataKeyPattern is the key pattern of Cinder's metadata schemas; metadataKeyPatternPy is
// how the error message spells it.
var MetadataKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9_:. /-]{1,255}$`)

// MetadataKeyPatternPy is MetadataKeyPattern as Cinder's messages spell it.
const MetadataKeyPatternPy = `'^[a-zA-Z0-9-_:. /]{1,255}$'`

// CheckMetadata is Cinder's metadata schema (extra_specs; with allowNull, metadata_allows_null):
// an object whose keys match the key pattern and whose values are strings of at most 255
// characters. It returns the metadata as a map (nil for null).
func CheckMetadata(field string, v any, allowNull bool) (map[string]string, *Fault) {
	types := []string{"object"}
	if allowNull {
		types = append(types, "null")
	}
	if f := CheckType(field, v, types...); f != nil {
		return nil, f
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, nil
	}
	md := make(map[string]string, len(o.Keys))
	var bad []string
	for _, k := range o.Keys {
		if !MetadataKeyPattern.MatchString(k) {
			bad = append(bad, k)
			continue
		}
		val := o.Vals[k]
		if f := CheckType(k, val, "string"); f != nil {
			return nil, f
		}
		s := val.(string)
		if f := CheckLength(k, s, 0, 255); f != nil {
			return nil, f
		}
		md[k] = s
	}
	if len(bad) > 0 {
		verb := "does"
		if len(bad) > 1 {
			verb = "do"
		}
		return nil, SchemaError(field, v, PyReprList(bad)+" "+verb+" not match any of the regexes: "+MetadataKeyPatternPy)
	}
	return md, nil
}

var volumeSizePattern = regexp.MustCompile(`^[0-9]+$`)

// CheckSize is Cinder's volume_size_allows_null: an integer, or a string of digits, between 1
// and DB_MAX_INT; or null. Cinder's validator applies minimum and maximum to digit strings
// too. It returns the size, 0 for null.
func CheckSize(field string, v any) (int, *Fault) {
	if f := CheckType(field, v, "integer", "string", "null"); f != nil {
		return 0, f
	}
	var digits string
	switch t := v.(type) {
	case nil:
		return 0, nil
	case string:
		if !volumeSizePattern.MatchString(t) {
			return 0, SchemaError(field, v, PyStrRepr(t)+" does not match '^[0-9]+$'")
		}
		digits = t
	case json.Number:
		digits = string(t)
	}
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return 0, SchemaError(field, v, PyRepr(v)+" is not of type 'integer', 'string', 'null'")
	}
	if n.Cmp(big.NewInt(1)) < 0 {
		return 0, SchemaError(field, v, n.String()+" is less than the minimum of 1")
	}
	if n.Cmp(big.NewInt(DBMaxInt)) > 0 {
		return 0, SchemaError(field, v, n.String()+" is greater than the maximum of 2147483647")
	}
	return int(n.Int64()), nil
}

// CheckAdditional is "additionalProperties": false on an object without patternProperties.
func CheckAdditional(field string, o *Object, allowed ...string) *Fault {
	var extra []string
	for _, k := range o.Keys {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	return SchemaError(field, o, "Additional properties are not allowed ("+PyReprList(extra)+" "+verb+" unexpected)")
}

// RequireObject is the "type": "object" check of a request body or of one of its members.
func RequireObject(field string, v any) (*Object, *Fault) {
	if f := CheckType(field, v, "object"); f != nil {
		return nil, f
	}
	return v.(*Object), nil
}

// Stripped returns a string value with surrounding white space removed, as Cinder's
// validate_name_and_description does; nil for null.
func Stripped(v any) *string {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	s = strings.TrimSpace(s)
	return &s
}

// ReadMember reads a body that must be an object whose only key is member, as Cinder's
// schemas of {"<member>": …} bodies require, and returns the member's value.
func ReadMember(r *http.Request, member string) (any, error) {
	body, err := ReadBody(r)
	if err != nil {
		return nil, err
	}
	o, f := RequireObject("", body)
	if f != nil {
		return nil, f
	}
	v, ok := o.Get(member)
	if !ok {
		return nil, SchemaError("", body, PyStrRepr(member)+" is a required property")
	}
	if f := CheckAdditional("", o, member); f != nil {
		return nil, f
	}
	return v, nil
}

// Pick returns the stripped value of key, or of legacy when key is absent.
func Pick(o *Object, key, legacy string) *string {
	if v, ok := o.Get(key); ok {
		return Stripped(v)
	}
	v, _ := o.Get(legacy)
	return Stripped(v)
}
