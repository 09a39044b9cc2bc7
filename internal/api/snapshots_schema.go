package api

import (
	"github.com/scoria/scoria/internal/resource"
)

// snapshotCreate is a validated POST /snapshots body.
type snapshotCreate struct {
	volumeID          string
	name, description *string
	force             *bool // nil: not given
	metadata          map[string]string
}

// checkSnapshotName is Cinder's name_allow_zero_min_length (and description): a string or
// null of at most 255 characters.
func checkSnapshotName(field string, v any) *fault { return checkNullableString(field, v, 0, 255) }

// parseSnapshotCreate validates a create body against Cinder's snapshots create schema.
func parseSnapshotCreate(body any) (*snapshotCreate, *fault) {
	top, f := requireObject("", body)
	if f != nil {
		return nil, f
	}
	req := &snapshotCreate{}
	if raw, ok := top.get("snapshot"); ok {
		sn, f := requireObject("snapshot", raw)
		if f != nil {
			return nil, f
		}
		checks := []struct {
			name  string
			check func(v any) *fault
		}{
			{"name", func(v any) *fault { return checkSnapshotName("name", v) }},
			{"display_name", func(v any) *fault { return checkSnapshotName("display_name", v) }},
			{"description", func(v any) *fault { return checkSnapshotName("description", v) }},
			{"volume_id", func(v any) *fault {
				if f := checkType("volume_id", v, "string", "null"); f != nil {
					return f
				}
				if s, ok := v.(string); ok && !isUUIDLike(s) {
					return schemaError("volume_id", v, pyRepr(v)+" is not a 'uuid'")
				}
				req.volumeID, _ = v.(string)
				return nil
			}},
			{"force", func(v any) *fault {
				if f := checkType("force", v, "boolean", "string"); f != nil {
					return f
				}
				b, f := checkOptionalBoolean("force", v)
				req.force = &b
				return f
			}},
			{"metadata", func(v any) *fault {
				var f *fault
				req.metadata, f = checkMetadata("metadata", v, true)
				return f
			}},
		}
		allowed := make([]string, len(checks))
		for i, c := range checks {
			allowed[i] = c.name
			if v, ok := sn.get(c.name); ok {
				if f := c.check(v); f != nil {
					return nil, f
				}
			}
		}
		if !sn.has("volume_id") {
			return nil, schemaError("snapshot", sn, "'volume_id' is a required property")
		}
		if f := checkAdditional("snapshot", sn, allowed...); f != nil {
			return nil, f
		}
		// As Cinder's controller: strip; "name" wins over "display_name"; only
		// "description" names the description.
		req.name = pick(sn, "name", "display_name")
		if v, ok := sn.get("description"); ok {
			req.description = stripped(v)
		}
	}
	if !top.has("snapshot") {
		return nil, schemaError("", top, "'snapshot' is a required property")
	}
	if f := checkAdditional("", top, "snapshot"); f != nil {
		return nil, f
	}
	if req.volumeID == "" {
		return nil, notFound("Volume None could not be found.")
	}
	return req, nil
}

// parseSnapshotUpdate validates a PUT /snapshots/{id} body against Cinder's update schema:
// at least one of name, description, display_name, display_description.
func parseSnapshotUpdate(body any) (resource.SnapshotUpdate, *fault) {
	var u resource.SnapshotUpdate
	top, f := requireObject("", body)
	if f != nil {
		return u, f
	}
	if raw, ok := top.get("snapshot"); ok {
		sn, f := requireObject("snapshot", raw)
		if f != nil {
			return u, f
		}
		fields := []string{"name", "description", "display_name", "display_description"}
		for _, name := range fields {
			if v, ok := sn.get(name); ok {
				if f := checkSnapshotName(name, v); f != nil {
					return u, f
				}
			}
		}
		if f := checkAdditional("snapshot", sn, fields...); f != nil {
			return u, f
		}
		if len(sn.keys) == 0 {
			return u, schemaError("snapshot", sn, pyRepr(sn)+" is not valid under any of the given schemas")
		}
		if sn.has("name") || sn.has("display_name") {
			u.Name = orEmpty(pick(sn, "name", "display_name"))
		}
		if sn.has("description") || sn.has("display_description") {
			u.Description = orEmpty(pick(sn, "description", "display_description"))
		}
	}
	if !top.has("snapshot") {
		return u, schemaError("", top, "'snapshot' is a required property")
	}
	if f := checkAdditional("", top, "snapshot"); f != nil {
		return u, f
	}
	return u, nil
}
