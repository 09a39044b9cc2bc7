package api

import (
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

	// Sources Scoria cannot create from yet; non-empty when the client asked for one.
	snapshotID, sourceVolID, consistencyGroupID, imageRef, groupID, backupID string
}

const schedulerHintsKey = "OS-SCH-HNT:scheduler_hints"

// parseCreate validates a create body against Cinder's create schema of microversion mv
// (create, create_volume_v313, _v347, _v353), in the order jsonschema reports the errors.
func parseCreate(body any, mv version) (*createRequest, *fault) {
	top, f := requireObject("", body)
	if f != nil {
		return nil, f
	}
	req := &createRequest{}
	// Cinder's scheduler hints extension validates its member before the volume controller
	// validates the rest.
	if hints, ok := top.get(schedulerHintsKey); ok {
		if req.schedulerHints, f = parseSchedulerHints(hints); f != nil {
			return nil, f
		}
	}
	if raw, ok := top.get("volume"); ok {
		vol, f := requireObject("volume", raw)
		if f != nil {
			return nil, f
		}
		if f := req.parseVolume(vol, mv); f != nil {
			return nil, f
		}
	}
	if !top.has("volume") {
		return nil, schemaError("", top, "'volume' is a required property")
	}
	if f := checkAdditional("", top, "volume", schedulerHintsKey); f != nil {
		return nil, f
	}
	return req, nil
}

func (req *createRequest) parseVolume(vol *object, mv version) *fault {
	// Properties in the order of Cinder's schema, which is the order errors are found in.
	type prop struct {
		name  string
		check func(v any) *fault
	}
	var f *fault
	str := func(dst *string, field string, minLen, maxLen int) func(any) *fault {
		return func(v any) *fault {
			if f := checkNullableString(field, v, minLen, maxLen); f != nil {
				return f
			}
			*dst, _ = v.(string)
			return nil
		}
	}
	uuidRef := func(dst *string, field string) func(any) *fault {
		return func(v any) *fault {
			if f := checkOptionalUUID(field, v); f != nil {
				return f
			}
			*dst, _ = v.(string)
			return nil
		}
	}
	var imageID string
	props := []prop{
		{"name", func(v any) *fault { return checkNameLike("name", "name", v) }},
		{"description", func(v any) *fault { return checkNameLike("description", "description", v) }},
		{"display_name", func(v any) *fault { return checkNameLike("display_name", "name", v) }},
		{"display_description", func(v any) *fault { return checkNameLike("display_description", "description", v) }},
		{"volume_type", str(&req.volumeType, "volume_type", 0, 255)},
		{"metadata", func(v any) *fault { req.metadata, f = checkMetadata("metadata", v, true); return f }},
		{"snapshot_id", uuidRef(&req.snapshotID, "snapshot_id")},
		{"source_volid", uuidRef(&req.sourceVolID, "source_volid")},
		{"consistencygroup_id", uuidRef(&req.consistencyGroupID, "consistencygroup_id")},
		{"size", func(v any) *fault { req.size, f = checkSize("size", v); return f }},
		{"availability_zone", str(&req.availabilityZone, "availability_zone", 1, 255)},
		{"multiattach", func(v any) *fault { req.multiattach, f = checkOptionalBoolean("multiattach", v); return f }},
		{"image_id", str(&imageID, "image_id", 0, 255)},
		{"imageRef", str(&req.imageRef, "imageRef", 0, 255)},
	}
	if mv.atLeast(mvGroupVolume) {
		props = append(props, prop{"group_id", str(&req.groupID, "group_id", 0, 255)})
	}
	if mv.atLeast(mvCreateFromBackup) {
		props = append(props, prop{"backup_id", uuidRef(&req.backupID, "backup_id")})
	}
	allowed := make([]string, len(props))
	for i, p := range props {
		allowed[i] = p.name
		if v, ok := vol.get(p.name); ok {
			if f := p.check(v); f != nil {
				return f
			}
		}
	}
	if mv.atLeast(mvVolumeSchemaChanges) {
		if f := checkAdditional("volume", vol, allowed...); f != nil {
			return f
		}
	}

	// As Cinder's controller: strip, then "name" wins over "display_name" and "image_id"
	// over "imageRef".
	req.name = pick(vol, "name", "display_name")
	req.description = pick(vol, "description", "display_description")
	if vol.has("image_id") {
		req.imageRef = imageID
	}
	return nil
}

// pick returns the stripped value of key, or of legacy when key is absent.
func pick(o *object, key, legacy string) *string {
	if v, ok := o.get(key); ok {
		return stripped(v)
	}
	v, _ := o.get(legacy)
	return stripped(v)
}

// parseUpdate validates a PUT /volumes/{id} body against Cinder's update schema of
// microversion mv (update, update_volume_v353).
func parseUpdate(body any, mv version) (resource.VolumeUpdate, *fault) {
	var u resource.VolumeUpdate
	top, f := requireObject("", body)
	if f != nil {
		return u, f
	}
	if raw, ok := top.get("volume"); ok {
		vol, f := requireObject("volume", raw)
		if f != nil {
			return u, f
		}
		checks := []struct {
			name  string
			check func(v any) *fault
		}{
			{"name", func(v any) *fault { return checkNameLike("name", "name", v) }},
			{"description", func(v any) *fault { return checkNameLike("description", "description", v) }},
			{"display_name", func(v any) *fault { return checkNameLike("display_name", "name", v) }},
			{"display_description", func(v any) *fault { return checkNameLike("display_description", "description", v) }},
			{"metadata", func(v any) *fault { u.Metadata, f = checkMetadata("metadata", v, false); return f }},
		}
		allowed := make([]string, len(checks))
		for i, c := range checks {
			allowed[i] = c.name
			if v, ok := vol.get(c.name); ok {
				if f := c.check(v); f != nil {
					return u, f
				}
			}
		}
		if f := checkAdditional("volume", vol, allowed...); f != nil {
			return u, f
		}
		if mv.atLeast(mvVolumeSchemaChanges) && len(vol.keys) == 0 {
			return u, schemaError("volume", vol, pyRepr(vol)+" is not valid under any of the given schemas")
		}
		if vol.has("name") || vol.has("display_name") {
			u.Name = orEmpty(pick(vol, "name", "display_name"))
		}
		if vol.has("description") || vol.has("display_description") {
			u.Description = orEmpty(pick(vol, "description", "display_description"))
		}
	}
	if !top.has("volume") {
		return u, schemaError("", top, "'volume' is a required property")
	}
	if f := checkAdditional("", top, "volume"); f != nil {
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
