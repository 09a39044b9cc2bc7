package api

import (
	"strings"
	"unicode/utf8"
)

// Cinder's group schemas (cinder/api/schemas/groups.py), checked with jsonschema's wording.

// groupCreate is a validated POST /groups body.
type groupCreate struct {
	name, description *string
	groupType         string
	volumeTypes       []string
	availabilityZone  string
}

// checkFormatString is a string with one of Cinder's length format checkers (group_type,
// availability_zone): 1 to 255 characters once stripped, else "'v' is not a 'format'".
func checkFormatString(field, format string, v any) (string, *fault) {
	if f := checkType(field, v, "string"); f != nil {
		return "", f
	}
	s := strings.TrimSpace(v.(string))
	if n := utf8.RuneCountInString(s); n < 1 || n > 255 {
		return "", schemaError(field, v, pyRepr(v)+" is not a "+pyStrRepr(format))
	}
	return s, nil
}

// groupMembers validates the members of a group body object o with checks, then
// additionalProperties.
func groupMembers(field string, o *object, checks map[string]func(v any) *fault, order []string) *fault {
	for _, k := range order {
		if v, ok := o.get(k); ok {
			if f := checks[k](v); f != nil {
				return f
			}
		}
	}
	return checkAdditional(field, o, order...)
}

// parseGroupCreate validates a create body against Cinder's groups create schema.
func parseGroupCreate(body any) (*groupCreate, *fault) {
	top, f := requireObject("", body)
	if f != nil {
		return nil, f
	}
	raw, ok := top.get("group")
	if !ok {
		return nil, schemaError("", body, "'group' is a required property")
	}
	if f := checkAdditional("", top, "group"); f != nil {
		return nil, f
	}
	g, f := requireObject("group", raw)
	if f != nil {
		return nil, f
	}
	req := &groupCreate{}
	checks := map[string]func(v any) *fault{
		"description": func(v any) *fault { return checkNullableString("description", v, 0, 255) },
		"name":        func(v any) *fault { return checkNullableString("name", v, 0, 255) },
		"group_type": func(v any) *fault {
			var f *fault
			req.groupType, f = checkFormatString("group_type", "group_type", v)
			return f
		},
		"volume_types": func(v any) *fault {
			if f := checkType("volume_types", v, "array"); f != nil {
				return f
			}
			items := v.([]any)
			if len(items) == 0 {
				return schemaError("volume_types", v, "[] is too short")
			}
			for _, it := range items {
				if f := checkType("volume_types", it, "string"); f != nil {
					return f
				}
				if f := checkLength("volume_types", it.(string), 0, 255); f != nil {
					return f
				}
				for _, seen := range req.volumeTypes {
					if seen == it.(string) {
						return schemaError("volume_types", v, pyRepr(v)+" has non-unique elements")
					}
				}
				req.volumeTypes = append(req.volumeTypes, it.(string))
			}
			return nil
		},
		"availability_zone": func(v any) *fault {
			if v == nil {
				return nil
			}
			var f *fault
			req.availabilityZone, f = checkFormatString("availability_zone", "availability_zone", v)
			return f
		},
	}
	if f := groupMembers("group", g, checks, []string{"description", "group_type", "name", "volume_types", "availability_zone"}); f != nil {
		return nil, f
	}
	for _, k := range []string{"group_type", "volume_types"} {
		if !g.has(k) {
			return nil, schemaError("group", g, pyStrRepr(k)+" is a required property")
		}
	}
	if v, ok := g.get("name"); ok {
		req.name = stripped(v)
	}
	if v, ok := g.get("description"); ok {
		req.description = stripped(v)
	}
	return req, nil
}

// groupUpdate is a validated PUT /groups/{id} body.
type groupUpdate struct {
	name, description         *string
	addVolumes, removeVolumes *string
}

// parseGroupUpdate validates an update body against Cinder's groups update schema.
func parseGroupUpdate(body any) (*groupUpdate, *fault) {
	top, f := requireObject("", body)
	if f != nil {
		return nil, f
	}
	raw, ok := top.get("group")
	if !ok {
		return nil, schemaError("", body, "'group' is a required property")
	}
	if f := checkAdditional("", top, "group"); f != nil {
		return nil, f
	}
	g, f := requireObject("group", raw)
	if f != nil {
		return nil, f
	}
	order := []string{"description", "name", "add_volumes", "remove_volumes"}
	checks := map[string]func(v any) *fault{}
	for _, k := range order {
		checks[k] = func(v any) *fault { return checkNullableString(k, v, 0, 255) }
	}
	if f := groupMembers("group", g, checks, order); f != nil {
		return nil, f
	}
	if len(g.keys) == 0 {
		return nil, schemaError("group", g, pyRepr(g)+" is not valid under any of the given schemas")
	}
	req := &groupUpdate{}
	for k, dst := range map[string]**string{"name": &req.name, "description": &req.description,
		"add_volumes": &req.addVolumes, "remove_volumes": &req.removeVolumes} {
		if v, ok := g.get(k); ok {
			if k == "name" || k == "description" {
				*dst = stripped(v)
			} else if s, ok := v.(string); ok {
				*dst = &s
			}
		}
	}
	return req, nil
}

// groupFromSource is a validated create-from-src body.
type groupFromSource struct {
	name, description              *string
	groupSnapshotID, sourceGroupID string
}

// parseGroupFromSource validates the create-from-src member against Cinder's schema.
func parseGroupFromSource(raw any) (*groupFromSource, *fault) {
	o, f := requireObject("create-from-src", raw)
	if f != nil {
		return nil, f
	}
	req := &groupFromSource{}
	uuidCheck := func(field string, dst *string) func(v any) *fault {
		return func(v any) *fault {
			if f := checkType(field, v, "string"); f != nil {
				return f
			}
			if !isUUIDLike(v.(string)) {
				return schemaError(field, v, pyRepr(v)+" is not a 'uuid'")
			}
			*dst = v.(string)
			return nil
		}
	}
	checks := map[string]func(v any) *fault{
		"description":       func(v any) *fault { return checkNullableString("description", v, 0, 255) },
		"name":              func(v any) *fault { return checkNullableString("name", v, 0, 255) },
		"source_group_id":   uuidCheck("source_group_id", &req.sourceGroupID),
		"group_snapshot_id": uuidCheck("group_snapshot_id", &req.groupSnapshotID),
	}
	if f := groupMembers("create-from-src", o, checks, []string{"description", "name", "source_group_id", "group_snapshot_id"}); f != nil {
		return nil, f
	}
	switch {
	case o.has("source_group_id") && o.has("group_snapshot_id"):
		return nil, schemaError("create-from-src", o, pyRepr(o)+" is valid under each of {'required': ['source_group_id']}, {'required': ['group_snapshot_id']}")
	case !o.has("source_group_id") && !o.has("group_snapshot_id"):
		return nil, schemaError("create-from-src", o, pyRepr(o)+" is not valid under any of the given schemas")
	}
	if v, ok := o.get("name"); ok {
		req.name = stripped(v)
	}
	if v, ok := o.get("description"); ok {
		req.description = stripped(v)
	}
	return req, nil
}
