package api

import (
	"strconv"
	"strings"
)

// parseLimit reads the limit parameter as Cinder's get_pagination_params does; the page is
// capped at maxLimit (osapi_max_limit), which is also the page size when no limit is given.
func parseLimit(q query, maxLimit int) (int, *fault) {
	v, ok := q.get("limit")
	if !ok {
		return maxLimit, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, badRequest("limit param must be an integer")
	}
	if n < 0 {
		return 0, badRequest("limit param must be positive")
	}
	return min(n, maxLimit), nil
}

// parseOffset reads the offset parameter (0 when absent).
func parseOffset(q query) (int, *fault) {
	v, ok := q.get("offset")
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		return 0, invalidInput("offset must be an integer")
	case n < 0:
		return 0, invalidInput("offset must be >= 0")
	}
	return n, nil
}
