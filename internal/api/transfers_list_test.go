package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
)

func TestTransferListPagination(t *testing.T) {
	e := newEnv(t)
	var ids []string // oldest first
	for _, name := range []string{"b", "a", "c"} {
		vol := e.availableVolume("1", "")
		rec := e.do(call{method: "POST", path: "/v3/p1/volume-transfers", version: "volume 3.59",
			body: `{"transfer": {"volume_id": "` + vol + `", "name": "` + name + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		ids = append(ids, str(t, obj(t, rec), "transfer", "id"))
	}
	names := func(rec *httptest.ResponseRecorder) []string {
		t.Helper()
		var out []string
		list := obj(t, rec).Vals["transfers"].([]any)
		for _, item := range list {
			out = append(out, item.(*wire.Object).Vals["name"].(string))
		}
		return out
	}
	tests := []struct {
		name, query, version string
		want                 []string
		wantNext             bool
	}{
		{"before 3.59: oldest first", "", "volume 3.58", []string{"b", "a", "c"}, false},
		{"before 3.59: limit and offset", "?limit=1&offset=1", "volume 3.58", []string{"a"}, true},
		{"before 3.59: sort ignored", "?sort=name:asc", "volume 3.58", []string{"b", "a", "c"}, false},
		{"3.59: newest first", "", "volume 3.59", []string{"c", "a", "b"}, false},
		{"3.59: sort by name", "?sort=name:asc", "volume 3.59", []string{"a", "b", "c"}, false},
		{"3.59: sort_key/sort_dir", "?sort_key=name&sort_dir=desc", "volume 3.59", []string{"c", "b", "a"}, false},
		{"3.59: limit", "?sort=name:asc&limit=2", "volume 3.59", []string{"a", "b"}, true},
		{"3.59: marker", "?sort=name:asc&marker=" + ids[0], "volume 3.59", []string{"c"}, false},
		{"3.59: filter by name", "?name=a", "volume 3.59", []string{"a"}, false},
		{"3.59: LIKE filter", "?name~=A", "volume 3.59", []string{"a"}, false},
		{"3.59: unknown filter matches nothing", "?color=red", "volume 3.59", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/volume-transfers/detail" + tt.query, version: tt.version})
			wantStatus(t, rec, http.StatusOK)
			if got := names(rec); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("names %v, want %v", got, tt.want)
			}
			_, hasNext := obj(t, rec).Vals["transfers_links"]
			if hasNext != tt.wantNext {
				t.Errorf("transfers_links present = %v, want %v: %s", hasNext, tt.wantNext, rec.Body)
			}
		})
	}
	for _, tt := range []struct {
		query  string
		status int
		name   string
		msg    string
	}{
		{"?sort=color:asc", 400, "badRequest", "Invalid input received: Invalid sort key"},
		{"?sort=name:up", 400, "badRequest", "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{"?limit=x", 400, "badRequest", "limit param must be an integer"},
		{"?limit=-1", 400, "badRequest", "limit param must be positive"},
		{"?offset=-1", 400, "badRequest", "Invalid input received: offset must be >= 0"},
		{"?marker=00000000-0000-0000-0000-000000000000", 404, "itemNotFound", "Transfer 00000000-0000-0000-0000-000000000000 could not be found."},
	} {
		wantFault(t, e.do(call{method: "GET", path: "/v3/p1/volume-transfers" + tt.query, version: "volume 3.59"}), tt.status, tt.name, tt.msg)
	}
}
