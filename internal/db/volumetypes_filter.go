package db

import (
	"slices"

	"github.com/scoria/scoria/internal/resource"
)

// extraSpecsWhere is the WHERE clauses (on volume_types t) of the extra_specs filter of a type
// list: one EXISTS per pair, as Cinder's extra_specs.any(key=…, value=…); the availability
// zones spec holds a comma-separated list and matches with LIKE '%v%', as in Cinder.
func extraSpecsWhere(specs map[string]string) ([]string, []any) {
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var where []string
	var args []any
	for _, k := range keys {
		op, v := "=", specs[k]
		if k == resource.AvailabilityZonesSpec {
			op, v = "LIKE", "%"+v+"%"
		}
		where = append(where, "EXISTS (SELECT 1 FROM volume_type_extra_specs e WHERE e.volume_type_id = t.id AND e.`key` = ? AND e.`value` "+op+" ?)")
		args = append(args, k, v)
	}
	return where, args
}
