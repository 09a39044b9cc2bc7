package api

// The filters of GET /types, as Cinder's v3 types controller reads them: from 3.52 (with the
// generic resource filters of 3.31) a non-admin may filter on is_public and extra_specs only,
// any other filter answering 400; an admin's extra_specs filter applies at every version, a
// non-admin's only from 3.52 (below, Cinder drops it). A non-admin filtering on an extra spec
// they may not see gets an empty list, as in Cinder: the types matching what they cannot see
// are, as far as they go, none.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// mvTypeFilter is Cinder's SUPPORT_VOLUME_TYPE_FILTER.
var mvTypeFilter = wire.Version{Major: 3, Minor: 52}

// typeFilterKeys are the type filters a non-admin may use (Cinder's resource_filters.json).
var typeFilterKeys = []string{"is_public", "extra_specs"}

// typeListParams are the parameters of GET /types that are not filters.
var typeListParams = []string{"limit", "marker", "offset", "sort", "sort_key", "sort_dir"}

// queryKeys are the distinct parameter names of a query, in the order they first appear.
func queryKeys(raw string) []string {
	var keys []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// typeListFilters reads the filters of GET /types into f. none is true when the caller
// filtered on an extra spec they may not see (volume_extension:types_extra_specs:read_sensitive
// decides, as in Cinder): the list is then empty. Which filters a caller may use is decided
// by is_admin, as Cinder's controller does.
func typeListFilters(r *http.Request, vw viewer, f *resource.VolumeTypeFilter) (none bool, fl *wire.Fault) {
	q := r.URL.Query()
	admin := vw.admin
	if wire.VersionOf(r.Context()).AtLeast(mvTypeFilter) {
		var invalid []string
		for _, k := range queryKeys(r.URL.RawQuery) {
			if slices.Contains(typeListParams, k) {
				continue
			}
			if !isASCII(k) {
				return false, wire.BadRequest("Filter keys can only contain ASCII characters.")
			}
			if !admin && !slices.Contains(typeFilterKeys, k) && k != "all_tenants" {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			return false, wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
	} else if !admin {
		return false, nil // Cinder drops every non-admin filter but is_public, which it overrides
	}
	vs, ok := q["extra_specs"]
	if !ok {
		return false, nil
	}
	raw := vs[len(vs)-1]
	specs, ok := parseDictFilter(raw)
	if !ok {
		return false, wire.BadRequest("Invalid extra_specs filter [%s]: it must be a dict of strings.", raw)
	}
	if !vw.may(ruleTypeSensitiveSpecs) {
		for k := range specs {
			if !slices.Contains(userVisibleExtraSpecs, k) {
				return true, nil
			}
		}
	}
	f.ExtraSpecs = specs
	return false, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
