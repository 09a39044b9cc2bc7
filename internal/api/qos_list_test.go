package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
)

// TestQoSSpecsListPaging: GET /qos-specs pages, sorts and links as every Cinder list
// (qos_specs_manage index: limit, marker, offset, sort; qos_specs_links), instead of
// answering every spec on the first page (issue 12, item 7).
func TestQoSSpecsListPaging(t *testing.T) {
	e := newEnv(t)
	var ids []string // oldest first
	for _, name := range []string{"q1", "q2", "q3"} {
		rec := e.do(call{method: "POST", path: "/v3/p1/qos-specs", body: `{"qos_specs": {"name": "` + name + `", "read_iops_sec": "100"}}`})
		wantStatus(t, rec, http.StatusOK)
		ids = append(ids, str(t, obj(t, rec), "qos_specs", "id"))
	}
	a, b, c := ids[0], ids[1], ids[2]
	byID := slices.Sorted(slices.Values(ids))
	list := func(t *testing.T, path string) ([]string, *wire.Object) {
		t.Helper()
		rec := e.do(call{method: "GET", path: path})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		var got []string
		for _, q := range member(t, body, "qos_specs").([]any) {
			got = append(got, str(t, q, "id"))
		}
		return got, body
	}
	for _, tc := range []struct {
		name, query string
		want        []string
		next        bool
	}{
		{"newest first", "", []string{c, b, a}, false},
		{"limit", "limit=1", []string{c}, true},
		{"limit and marker", "limit=1&marker=" + c, []string{b}, true},
		{"marker", "marker=" + b, []string{a}, false},
		{"offset", "offset=1", []string{b, a}, false},
		{"offset after a marker", "marker=" + c + "&offset=1", []string{a}, false},
		{"the last page is full", "limit=3", []string{c, b, a}, true},
		{"sort", "sort=created_at:asc", []string{a, b, c}, false},
		{"sort_key and sort_dir", "sort_key=created_at&sort_dir=asc", []string{a, b, c}, false},
		{"sort by id", "sort=id:asc", byID, false},
		{"limit 0", "limit=0", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, body := list(t, "/v3/p1/qos-specs?"+tc.query)
			if !slices.Equal(got, tc.want) {
				t.Errorf("qos-specs?%s = %v, want %v", tc.query, got, tc.want)
			}
			if body.Has("qos_specs_links") != tc.next {
				t.Errorf("qos_specs_links present %v, want %v: %s", body.Has("qos_specs_links"), tc.next, wire.PyRepr(body))
			}
		})
	}
	t.Run("following the next links", func(t *testing.T) {
		var all []string
		path := "/v3/p1/qos-specs?limit=2"
		for range 4 {
			got, body := list(t, path)
			all = append(all, got...)
			if !body.Has("qos_specs_links") {
				break
			}
			href := str(t, body, "qos_specs_links", 0, "href")
			if str(t, body, "qos_specs_links", 0, "rel") != "next" || !strings.HasPrefix(href, "http://"+testHost+"/v3/p1/qos-specs?") {
				t.Fatalf("next link %s", wire.PyRepr(member(t, body, "qos_specs_links")))
			}
			path = strings.TrimPrefix(href, "http://"+testHost)
		}
		if !slices.Equal(all, []string{c, b, a}) {
			t.Errorf("pages gave %v, want %v", all, []string{c, b, a})
		}
	})
	for _, tc := range []struct {
		name, query string
		status      int
		fault, msg  string
	}{
		{"unknown marker", "marker=00000000-0000-0000-0000-000000000009", 404, "itemNotFound", "No such QoS spec 00000000-0000-0000-0000-000000000009."},
		{"bad sort key", "sort=name:asc", 400, "badRequest", "Invalid input received: Invalid sort key"},
		{"bad sort dir", "sort=id:up", 400, "badRequest", "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{"bad limit", "limit=x", 400, "badRequest", "limit param must be an integer"},
		{"negative offset", "offset=-1", 400, "badRequest", "Invalid input received: offset must be >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFault(t, e.do(call{method: "GET", path: "/v3/p1/qos-specs?" + tc.query}), tc.status, tc.fault, tc.msg)
		})
	}
}
