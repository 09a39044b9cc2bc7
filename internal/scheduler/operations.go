package scheduler

import "github.com/scoria/scoria/internal/resource"

// operations reads the capability resource.CapSupportedOperations of a pool: the optional
// operations its backend supports. nil when the report does not say (an older volume
// service) or says it in a shape that is not a list of strings; empty, not nil, for none.
func operations(caps map[string]any) []string {
	switch v := caps[resource.CapSupportedOperations].(type) {
	case []string:
		return append([]string{}, v...)
	case []any:
		ops := make([]string, 0, len(v))
		for _, o := range v {
			s, ok := o.(string)
			if !ok {
				return nil
			}
			ops = append(ops, s)
		}
		return ops
	}
	return nil
}
