package api

import (
	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/resource"
)

// createRequest is a validated POST /volumes body.
type createRequest struct {
	name, description *string // nil: not given or null
	volumeType        string  // name or id; "" for the default type
	metadata          map[string]string
	size              int // 0: not given or null
	availabilityZone  string
	multiattach       bool
	schedulerHints    map[string]any // OS-SCH-HNT:scheduler_hints; nil when none

	// What the volume is made from or joins; non-empty when the client asked for one.
	snapshotID, sourceVolID, consistencyGroupID, imageRef, groupID, backupID string
	// imageGiven: the body names an image (imageRef or image_id, a string, even empty).
	imageGiven bool
}

const schedulerHintsKey = "OS-SCH-HNT:scheduler_hints"

// parseCreate validates a create body against Cinder's create schema of microversion mv
// (create, create_volume_v313, _v347, _v353), in the order jsonschema reports the errors.
func parseCreate(body any, mv wire.Version) (*createRequest, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	req := &createRequest{}
	// Cinder's scheduler hints extension validates its member before the volume controller
	// validates the rest.
	if hints, ok := top.Get(schedulerHintsKey); ok {
		if req.schedulerHints, f = parseSchedulerHints(hints); f != nil {
			return nil, f
		}
	}
	if raw, ok := top.Get("volume"); ok {
		vol, f := wire.RequireObject("volume", raw)
		if f != nil {
			return nil, f
		}
		if f := req.parseVolume(vol, mv); f != nil {
			return nil, f
		}
	}
	if !top.Has("volume") {
		return nil, wire.SchemaError("", top, "'volume' is a required property")
	}
	if f := wire.CheckAdditional("", top, "volume", schedulerHintsKey); f != nil {
		return nil, f
	}
	return req, nil
}

func (req *createRequest) parseVolume(vol *wire.Object, mv wire.Version) *wire.Fault {
	// Properties in the order of Cinder's schema, which is the order errors are found in.
	type prop struct {
		name  string
		check func(v any) *wire.Fault
	}
	var f *wire.Fault
	str := func(dst *string, field string, minLen, maxLen int) func(any) *wire.Fault {
		return func(v any) *wire.Fault {
			if f := wire.CheckNullableString(field, v, minLen, maxLen); f != nil {
				return f
			}
			*dst, _ = v.(string)
			return nil
		}
	}
	uuidRef := func(dst *string, field string) func(any) *wire.Fault {
		return func(v any) *wire.Fault {
			if f := wire.CheckOptionalUUID(field, v); f != nil {
				return f
			}
			*dst, _ = v.(string)
			return nil
		}
	}
	var imageID string
	props := []prop{
		{"name", func(v any) *wire.Fault { return wire.CheckNameLike("name", "name", v) }},
		{"description", func(v any) *wire.Fault { return wire.CheckNameLike("description", "description", v) }},
		{"display_name", func(v any) *wire.Fault { return wire.CheckNameLike("display_name", "name", v) }},
		{"display_description", func(v any) *wire.Fault { return wire.CheckNameLike("display_description", "description", v) }},
		{"volume_type", str(&req.volumeType, "volume_type", 0, 255)},
		{"metadata", func(v any) *wire.Fault { req.metadata, f = wire.CheckMetadata("metadata", v, true); return f }},
		{"snapshot_id", uuidRef(&req.snapshotID, "snapshot_id")},
		{"source_volid", uuidRef(&req.sourceVolID, "source_volid")},
		{"consistencygroup_id", uuidRef(&req.consistencyGroupID, "consistencygroup_id")},
		{"size", func(v any) *wire.Fault { req.size, f = wire.CheckSize("size", v); return f }},
		{"availability_zone", str(&req.availabilityZone, "availability_zone", 1, 255)},
		{"multiattach", func(v any) *wire.Fault { req.multiattach, f = wire.CheckOptionalBoolean("multiattach", v); return f }},
		{"image_id", str(&imageID, "image_id", 0, 255)},
		{"imageRef", str(&req.imageRef, "imageRef", 0, 255)},
	}
	if mv.AtLeast(mvGroupVolume) {
		props = append(props, prop{"group_id", str(&req.groupID, "group_id", 0, 255)})
	}
	if mv.AtLeast(mvCreateFromBackup) {
		props = append(props, prop{"backup_id", uuidRef(&req.backupID, "backup_id")})
	}
	allowed := make([]string, len(props))
	for i, p := range props {
		allowed[i] = p.name
		if v, ok := vol.Get(p.name); ok {
			if f := p.check(v); f != nil {
				return f
			}
		}
	}
	if mv.AtLeast(mvVolumeSchemaChanges) {
		if f := wire.CheckAdditional("volume", vol, allowed...); f != nil {
			return f
		}
	}

	// As Cinder's controller: strip, then "name" wins over "display_name" and "image_id"
	// over "imageRef".
	req.name = wire.Pick(vol, "name", "display_name")
	req.description = wire.Pick(vol, "description", "display_description")
	if vol.Has("image_id") {
		req.imageRef = imageID
	}
	ref, _ := vol.Get("imageRef")
	if vol.Has("image_id") {
		ref, _ = vol.Get("image_id")
	}
	_, req.imageGiven = ref.(string)
	return nil
}

// parseUpdate validates a PUT /volumes/{id} body against Cinder's update schema of
// microversion mv (update, update_volume_v353).
func parseUpdate(body any, mv wire.Version) (resource.VolumeUpdate, *wire.Fault) {
	var u resource.VolumeUpdate
	top, f := wire.RequireObject("", body)
	if f != nil {
		return u, f
	}
	if raw, ok := top.Get("volume"); ok {
		vol, f := wire.RequireObject("volume", raw)
		if f != nil {
			return u, f
		}
		checks := []struct {
			name  string
			check func(v any) *wire.Fault
		}{
			{"name", func(v any) *wire.Fault { return wire.CheckNameLike("name", "name", v) }},
			{"description", func(v any) *wire.Fault { return wire.CheckNameLike("description", "description", v) }},
			{"display_name", func(v any) *wire.Fault { return wire.CheckNameLike("display_name", "name", v) }},
			{"display_description", func(v any) *wire.Fault { return wire.CheckNameLike("display_description", "description", v) }},
			{"metadata", func(v any) *wire.Fault { u.Metadata, f = wire.CheckMetadata("metadata", v, false); return f }},
		}
		allowed := make([]string, len(checks))
		for i, c := range checks {
			allowed[i] = c.name
			if v, ok := vol.Get(c.name); ok {
				if f := c.check(v); f != nil {
					return u, f
				}
			}
		}
		if f := wire.CheckAdditional("volume", vol, allowed...); f != nil {
			return u, f
		}
		if mv.AtLeast(mvVolumeSchemaChanges) && len(vol.Keys) == 0 {
			return u, wire.SchemaError("volume", vol, wire.PyRepr(vol)+" is not valid under any of the given schemas")
		}
		if vol.Has("name") || vol.Has("display_name") {
			u.Name = orEmpty(wire.Pick(vol, "name", "display_name"))
		}
		if vol.Has("description") || vol.Has("display_description") {
			u.Description = orEmpty(wire.Pick(vol, "description", "display_description"))
		}
	}
	if !top.Has("volume") {
		return u, wire.SchemaError("", top, "'volume' is a required property")
	}
	if f := wire.CheckAdditional("", top, "volume"); f != nil {
		return u, f
	}
	return u, nil
}

// orEmpty turns "set to null" into "set to empty": Scoria stores no null names.
func orEmpty(s *string) *string {
	if s == nil {
		e := ""
		return &e
	}
	return s
}
