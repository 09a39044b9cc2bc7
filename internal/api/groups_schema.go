package api

import (
	"strings"
	"unicode/utf8"

	"github.com/scoria/scoria/internal/api/wire"
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
func checkFormatString(field, format string, v any) (string, *wire.Fault) {
	if f := wire.CheckType(field, v, "string"); f != nil {
		return "", f
	}
	s := strings.TrimSpace(v.(string))
	if n := utf8.RuneCountInString(s); n < 1 || n > 255 {
		return "", wire.SchemaError(field, v, wire.PyRepr(v)+" is not a "+wire.PyStrRepr(format))
	}
	return s, nil
}

// groupMembers validates the members of a group body object o with checks, then
// additionalProperties.
func groupMembers(field string, o *wire.Object, checks map[string]func(v any) *wire.Fault, order []string) *wire.Fault {
	for _, k := range order {
		if v, ok := o.Get(k); ok {
			if f := checks[k](v); f != nil {
				return f
			}
		}
	}
	return wire.CheckAdditional(field, o, order...)
}

// parseGroupCreate validates a create body against Cinder's groups create schema.
func parseGroupCreate(body any) (*groupCreate, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	raw, ok := top.Get("group")
	if !ok {
		return nil, wire.SchemaError("", body, "'group' is a required property")
	}
	if f := wire.CheckAdditional("", top, "group"); f != nil {
		return nil, f
	}
	g, f := wire.RequireObject("group", raw)
	if f != nil {
		return nil, f
	}
	req := &groupCreate{}
	checks := map[string]func(v any) *wire.Fault{
		"description": func(v any) *wire.Fault { return wire.CheckNullableString("description", v, 0, 255) },
		"name":        func(v any) *wire.Fault { return wire.CheckNullableString("name", v, 0, 255) },
		"group_type": func(v any) *wire.Fault {
			var f *wire.Fault
			req.groupType, f = checkFormatString("group_type", "group_type", v)
			return f
		},
		"volume_types": func(v any) *wire.Fault {
			if f := wire.CheckType("volume_types", v, "array"); f != nil {
				return f
			}
			items := v.([]any)
			if len(items) == 0 {
				return wire.SchemaError("volume_types", v, "[] is too short")
			}
			for _, it := range items {
				if f := wire.CheckType("volume_types", it, "string"); f != nil {
					return f
				}
				if f := wire.CheckLength("volume_types", it.(string), 0, 255); f != nil {
					return f
				}
				for _, seen := range req.volumeTypes {
					if seen == it.(string) {
						return wire.SchemaError("volume_types", v, wire.PyRepr(v)+" has non-unique elements")
					}
				}
				req.volumeTypes = append(req.volumeTypes, it.(string))
			}
			return nil
		},
		"availability_zone": func(v any) *wire.Fault {
			if v == nil {
				return nil
			}
			var f *wire.Fault
			req.availabilityZone, f = checkFormatString("availability_zone", "availability_zone", v)
			return f
		},
	}
	if f := groupMembers("group", g, checks, []string{"description", "group_type", "name", "volume_types", "availability_zone"}); f != nil {
		return nil, f
	}
	for _, k := range []string{"group_type", "volume_types"} {
		if !g.Has(k) {
			return nil, wire.SchemaError("group", g, wire.PyStrRepr(k)+" is a required property")
		}
	}
	if v, ok := g.Get("name"); ok {
		req.name = wire.Stripped(v)
	}
	if v, ok := g.Get("description"); ok {
		req.description = wire.Stripped(v)
	}
	return req, nil
}

// groupUpdate is a validated PUT /groups/{id} body.
type groupUpdate struct {
	name, description         *string
	addVolumes, removeVolumes *string
}

// parseGroupUpdate validates an update body against Cinder's groups update schema.
func parseGroupUpdate(body any) (*groupUpdate, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	raw, ok := top.Get("group")
	if !ok {
		return nil, wire.SchemaError("", body, "'group' is a required property")
	}
	if f := wire.CheckAdditional("", top, "group"); f != nil {
		return nil, f
	}
	g, f := wire.RequireObject("group", raw)
	if f != nil {
		return nil, f
	}
	order := []string{"description", "name", "add_volumes", "remove_volumes"}
	checks := map[string]func(v any) *wire.Fault{}
	for _, k := range order {
		checks[k] = func(v any) *wire.Fault { return wire.CheckNullableString(k, v, 0, 255) }
	}
	if f := groupMembers("group", g, checks, order); f != nil {
		return nil, f
	}
	if len(g.Keys) == 0 {
		return nil, wire.SchemaError("group", g, wire.PyRepr(g)+" is not valid under any of the given schemas")
	}
	req := &groupUpdate{}
	for k, dst := range map[string]**string{"name": &req.name, "description": &req.description,
		"add_volumes": &req.addVolumes, "remove_volumes": &req.removeVolumes} {
		if v, ok := g.Get(k); ok {
			if k == "name" || k == "description" {
				*dst = wire.Stripped(v)
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
func parseGroupFromSource(raw any) (*groupFromSource, *wire.Fault) {
	o, f := wire.RequireObject("create-from-src", raw)
	if f != nil {
		return nil, f
	}
	req := &groupFromSource{}
	uuidCheck := func(field string, dst *string) func(v any) *wire.Fault {
		return func(v any) *wire.Fault {
			if f := wire.CheckType(field, v, "string"); f != nil {
				return f
			}
			if !wire.IsUUIDLike(v.(string)) {
				return wire.SchemaError(field, v, wire.PyRepr(v)+" is not a 'uuid'")
			}
			*dst = v.(string)
			return nil
		}
	}
	checks := map[string]func(v any) *wire.Fault{
		"description":       func(v any) *wire.Fault { return wire.CheckNullableString("description", v, 0, 255) },
		"name":              func(v any) *wire.Fault { return wire.CheckNullableString("name", v, 0, 255) },
		"source_group_id":   uuidCheck("source_group_id", &req.sourceGroupID),
		"group_snapshot_id": uuidCheck("group_snapshot_id", &req.groupSnapshotID),
	}
	if f := groupMembers("create-from-src", o, checks, []string{"description", "name", "source_group_id", "group_snapshot_id"}); f != nil {
		return nil, f
	}
	switch {
	case o.Has("source_group_id") && o.Has("group_snapshot_id"):
		return nil, wire.SchemaError("create-from-src", o, wire.PyRepr(o)+" is valid under each of {'required': ['source_group_id']}, {'required': ['group_snapshot_id']}")
	case !o.Has("source_group_id") && !o.Has("group_snapshot_id"):
		return nil, wire.SchemaError("create-from-src", o, wire.PyRepr(o)+" is not valid under any of the given schemas")
	}
	if v, ok := o.Get("name"); ok {
		req.name = wire.Stripped(v)
	}
	if v, ok := o.Get("description"); ok {
		req.description = wire.Stripped(v)
	}
	return req, nil
}
