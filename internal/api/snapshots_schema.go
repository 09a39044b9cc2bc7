package api

import (
	"github.com/scoria/scoria/internal/api/wire"
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
func checkSnapshotName(field string, v any) *wire.Fault {
	return wire.CheckNullableString(field, v, 0, 255)
}

// parseSnapshotCreate validates a create body against Cinder's snapshots create schema.
func parseSnapshotCreate(body any) (*snapshotCreate, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	req := &snapshotCreate{}
	if raw, ok := top.Get("snapshot"); ok {
		sn, f := wire.RequireObject("snapshot", raw)
		if f != nil {
			return nil, f
		}
		checks := []struct {
			name  string
			check func(v any) *wire.Fault
		}{
			{"name", func(v any) *wire.Fault { return checkSnapshotName("name", v) }},
			{"display_name", func(v any) *wire.Fault { return checkSnapshotName("display_name", v) }},
			{"description", func(v any) *wire.Fault { return checkSnapshotName("description", v) }},
			{"volume_id", func(v any) *wire.Fault {
				if f := wire.CheckType("volume_id", v, "string", "null"); f != nil {
					return f
				}
				if s, ok := v.(string); ok && !wire.IsUUIDLike(s) {
					return wire.SchemaError("volume_id", v, wire.PyRepr(v)+" is not a 'uuid'")
				}
				req.volumeID, _ = v.(string)
				return nil
			}},
			{"force", func(v any) *wire.Fault {
				if f := wire.CheckType("force", v, "boolean", "string"); f != nil {
					return f
				}
				b, f := wire.CheckOptionalBoolean("force", v)
				req.force = &b
				return f
			}},
			{"metadata", func(v any) *wire.Fault {
				var f *wire.Fault
				req.metadata, f = wire.CheckMetadata("metadata", v, true)
				return f
			}},
		}
		allowed := make([]string, len(checks))
		for i, c := range checks {
			allowed[i] = c.name
			if v, ok := sn.Get(c.name); ok {
				if f := c.check(v); f != nil {
					return nil, f
				}
			}
		}
		if !sn.Has("volume_id") {
			return nil, wire.SchemaError("snapshot", sn, "'volume_id' is a required property")
		}
		if f := wire.CheckAdditional("snapshot", sn, allowed...); f != nil {
			return nil, f
		}
		// As Cinder's controller: strip; "name" wins over "display_name"; only
		// "description" names the description.
		req.name = wire.Pick(sn, "name", "display_name")
		if v, ok := sn.Get("description"); ok {
			req.description = wire.Stripped(v)
		}
	}
	if !top.Has("snapshot") {
		return nil, wire.SchemaError("", top, "'snapshot' is a required property")
	}
	if f := wire.CheckAdditional("", top, "snapshot"); f != nil {
		return nil, f
	}
	if req.volumeID == "" {
		return nil, wire.NotFound("Volume None could not be found.")
	}
	return req, nil
}

// parseSnapshotUpdate validates a PUT /snapshots/{id} body against Cinder's update schema:
// at least one of name, description, display_name, display_description.
func parseSnapshotUpdate(body any) (resource.SnapshotUpdate, *wire.Fault) {
	var u resource.SnapshotUpdate
	top, f := wire.RequireObject("", body)
	if f != nil {
		return u, f
	}
	if raw, ok := top.Get("snapshot"); ok {
		sn, f := wire.RequireObject("snapshot", raw)
		if f != nil {
			return u, f
		}
		fields := []string{"name", "description", "display_name", "display_description"}
		for _, name := range fields {
			if v, ok := sn.Get(name); ok {
				if f := checkSnapshotName(name, v); f != nil {
					return u, f
				}
			}
		}
		if f := wire.CheckAdditional("snapshot", sn, fields...); f != nil {
			return u, f
		}
		if len(sn.Keys) == 0 {
			return u, wire.SchemaError("snapshot", sn, wire.PyRepr(sn)+" is not valid under any of the given schemas")
		}
		if sn.Has("name") || sn.Has("display_name") {
			u.Name = orEmpty(wire.Pick(sn, "name", "display_name"))
		}
		if sn.Has("description") || sn.Has("display_description") {
			u.Description = orEmpty(wire.Pick(sn, "description", "display_description"))
		}
	}
	if !top.Has("snapshot") {
		return u, wire.SchemaError("", top, "'snapshot' is a required property")
	}
	if f := wire.CheckAdditional("", top, "snapshot"); f != nil {
		return u, f
	}
	return u, nil
}
