package wire

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// ParseLimit reads the limit parameter as Cinder's get_pagination_params does; the page is
// capped at maxLimit (osapi_max_limit), which is also the page size when no limit is given.
func ParseLimit(q Query, maxLimit int) (int, *Fault) {
	v, ok := q.Get("limit")
	if !ok {
		return maxLimit, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, BadRequest("limit param must be an integer")
	}
	if n < 0 {
		return 0, BadRequest("limit param must be positive")
	}
	return min(n, maxLimit), nil
}

// ParseOffset reads the offset parameter (0 when absent).
func ParseOffset(q Query) (int, *Fault) {
	v, ok := q.Get("offset")
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		return 0, InvalidInput("offset must be an integer")
	case n < 0:
		return 0, InvalidInput("offset must be >= 0")
	}
	return n, nil
}

// QueryParam is one key=value of a query string; the order is kept for "next" links.
type QueryParam struct{ Key, Value string }

// Query is a parsed query string, in the order its parameters were written.
type Query []QueryParam

// ParseQuery splits a raw query string into its parameters; a malformed escape is a 400.
func ParseQuery(raw string) (Query, *Fault) {
	var q Query
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, BadRequest("Invalid query string %q.", raw)
		}
		q = append(q, QueryParam{key, val})
	}
	return q, nil
}

// Get returns the last value of key, as webob does.
func (q Query) Get(key string) (string, bool) {
	for i := len(q) - 1; i >= 0; i-- {
		if q[i].Key == key {
			return q[i].Value, true
		}
	}
	return "", false
}

// ParseSort reads sort (key:dir,…) or the legacy sort_key/sort_dir, as Cinder's
// get_sort_params does; column maps a requested key to the column it sorts by, or says it is
// not a sort key. No sort parameter gives nil keys.
func ParseSort(q Query, column func(key string) (string, bool)) ([]resource.SortKey, *Fault) {
	sortSpec, hasSort := q.Get("sort")
	key, hasKey := q.Get("sort_key")
	dir, hasDir := q.Get("sort_dir")
	if hasSort && (hasKey || hasDir) {
		return nil, BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	var pairs [][2]string
	switch {
	case hasSort:
		for _, item := range strings.Split(strings.TrimSpace(sortSpec), ",") {
			k, d, _ := strings.Cut(item, ":")
			if d == "" {
				d = "desc"
			}
			pairs = append(pairs, [2]string{strings.TrimSpace(k), strings.TrimSpace(d)})
		}
	case hasKey || hasDir:
		if !hasKey {
			key = "created_at"
		}
		if !hasDir {
			dir = "desc"
		}
		pairs = [][2]string{{strings.TrimSpace(key), strings.TrimSpace(dir)}}
	default:
		return nil, nil
	}
	var keys []resource.SortKey
	for _, kd := range pairs {
		if kd[1] != "asc" && kd[1] != "desc" {
			return nil, InvalidInput("Unknown sort direction, must be 'desc' or 'asc'.")
		}
	}
	for _, kd := range pairs {
		field, ok := column(kd[0])
		if !ok {
			return nil, InvalidInput("Invalid sort key")
		}
		keys = append(keys, resource.SortKey{Field: field, Desc: kd[1] == "desc"})
	}
	return keys, nil
}
