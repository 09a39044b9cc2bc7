package wire

import (
	"net/url"
	"strconv"
	"strings"
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
