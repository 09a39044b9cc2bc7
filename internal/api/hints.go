package api

import "github.com/scoria/scoria/internal/api/wire"

// parseSchedulerHints validates the OS-SCH-HNT:scheduler_hints member of a create against
// Cinder's schema (cinder/api/schemas/scheduler_hints.py): an object or null whose
// local_to_instance is null or a UUID, whose same_host and different_host are a UUID or a
// list of distinct UUIDs, whose query is a string or an object, and whose other members are
// free. It returns the hints as plain values for the scheduler, nil when there are none.
func parseSchedulerHints(v any) (map[string]any, *wire.Fault) {
	if f := wire.CheckType(schedulerHintsKey, v, "object", "null"); f != nil {
		return nil, f
	}
	o, ok := v.(*wire.Object)
	if !ok {
		return nil, nil
	}
	checks := []struct {
		name  string
		check func(field string, v any) *wire.Fault
	}{
		{"local_to_instance", wire.CheckOptionalUUID},
		{"different_host", checkUUIDOrUUIDList},
		{"same_host", checkUUIDOrUUIDList},
		{"query", func(field string, v any) *wire.Fault { return wire.CheckType(field, v, "string", "object") }},
	}
	for _, c := range checks {
		if val, ok := o.Get(c.name); ok {
			if f := c.check(c.name, val); f != nil {
				return nil, f
			}
		}
	}
	if len(o.Keys) == 0 {
		return nil, nil
	}
	return plainValue(o).(map[string]any), nil
}

// checkUUIDOrUUIDList is {'oneOf': [uuid string, array of unique uuid strings]}.
func checkUUIDOrUUIDList(field string, v any) *wire.Fault {
	bad := wire.SchemaError(field, v, wire.PyRepr(v)+" is not valid under any of the given schemas")
	switch t := v.(type) {
	case string:
		if !wire.IsUUIDLike(t) {
			return bad
		}
	case []any:
		seen := make(map[string]bool, len(t))
		for _, item := range t {
			s, ok := item.(string)
			if !ok || !wire.IsUUIDLike(s) || seen[s] {
				return bad
			}
			seen[s] = true
		}
	default:
		return bad
	}
	return nil
}

// plainValue turns a decoded request value into what encoding/json marshals back to the
// same JSON: objects become maps, numbers stay json.Number.
func plainValue(v any) any {
	switch t := v.(type) {
	case *wire.Object:
		m := make(map[string]any, len(t.Keys))
		for _, k := range t.Keys {
			m[k] = plainValue(t.Vals[k])
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, item := range t {
			l[i] = plainValue(item)
		}
		return l
	}
	return v
}
