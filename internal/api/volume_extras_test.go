package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// nonAdmin makes the caller a plain member of its project.
var nonAdmin = map[string]string{"X-Roles": "member"}

// listIDs lists path and returns the ids in order.
func (e *env) listIDs(t *testing.T, path, ver string, headers map[string]string) []string {
	t.Helper()
	rec := e.do(call{method: "GET", path: path, version: ver, header: headers})
	wantStatus(t, rec, http.StatusOK)
	var out []string
	for _, v := range member(t, obj(t, rec), "volumes").([]any) {
		out = append(out, str(t, v, "id"))
	}
	return out
}

// setState resets a volume's status as an admin would.
func (e *env) setState(id, status string) {
	e.t.Helper()
	if err := e.store.ResetVolumeState(context.Background(), id, resource.VolumeReset{Status: status}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) action(id, body string, headers map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(call{method: "POST", path: "/v3/p1/volumes/" + id + "/action", body: body, header: headers})
}

func TestVolumeListFilters(t *testing.T) {
	e := newEnv(t)
	v1 := e.createVolume(`{"volume": {"size": 1, "name": "alpha", "metadata": {"k": "v"}}}`, "")
	v2 := e.createVolume(`{"volume": {"size": 2, "name": "beta_1", "availability_zone": "az2"}}`, "")
	v3 := e.createVolume(`{"volume": {"size": 3, "name": "gamma%"}}`, "")
	other := e.createVolume(`{"volume": {"size": 1, "name": "alpha"}}`, "u2:p2")
	e.place(v1, "host@b#p", resource.StatusAvailable)
	wantStatus(t, e.action(v1, `{"os-set_bootable": {"bootable": true}}`, nil), http.StatusOK)
	wantStatus(t, e.action(v3, `{"os-set_image_metadata": {"metadata": {"os": "linux"}}}`, nil), http.StatusOK)
	all := []string{v3, v2, v1}
	q := url.QueryEscape

	for _, tc := range []struct {
		name, path, ver string
		headers         map[string]string
		want            []string
	}{
		{"name", "/v3/p1/volumes?name=alpha", "", nil, []string{v1}},
		{"status", "/v3/p1/volumes?status=available", "", nil, []string{v1}},
		{"metadata as JSON", "/v3/p1/volumes?metadata=" + q(`{"k":"v"}`), "", nil, []string{v1}},
		{"metadata as python dict", "/v3/p1/volumes?metadata=" + q(`{'k': 'v'}`), "", nil, []string{v1}},
		{"metadata that does not match", "/v3/p1/volumes?metadata=" + q(`{"k":"w"}`), "", nil, nil},
		{"metadata not a dict matches nothing", "/v3/p1/volumes?metadata=k", "", nil, nil},
		{"availability zone", "/v3/p1/volumes?availability_zone=az2", "", nil, []string{v2}},
		{"bootable strict", "/v3/p1/volumes?bootable=1", "volume 3.2", nil, []string{v1}},
		{"not bootable", "/v3/p1/volumes?bootable=false", "volume 3.2", nil, []string{v3, v2}},
		{"bootable legacy: anything is true", "/v3/p1/volumes?bootable=maybe", "volume 3.1", nil, []string{v1}},
		{"size (admin)", "/v3/p1/volumes?size=2", "", nil, []string{v2}},
		{"size not a number", "/v3/p1/volumes?size=two", "", nil, nil},
		{"volume type by name", "/v3/p1/volumes?volume_type=__DEFAULT__", "", nil, all},
		{"group_id matches nothing", "/v3/p1/volumes?group_id=g", "volume 3.10", nil, nil},
		{"group_id before 3.10 is dropped", "/v3/p1/volumes?group_id=g", "volume 3.9", nil, all},
		{"glance_metadata", "/v3/p1/volumes?glance_metadata=" + q(`{"os":"linux"}`), "volume 3.4", nil, []string{v3}},
		{"glance_metadata before 3.4 is dropped", "/v3/p1/volumes?glance_metadata=" + q(`{"os":"linux"}`), "volume 3.3", nil, all},
		{"like", "/v3/p1/volumes?name~=ETA", "volume 3.34", nil, []string{v2}},
		{"like escapes _", "/v3/p1/volumes?name~=_", "volume 3.34", nil, []string{v2}},
		{"like escapes %", "/v3/p1/volumes?name~=" + q("%"), "volume 3.34", nil, []string{v3}},
		{"like before 3.34 matches nothing", "/v3/p1/volumes?name~=a", "volume 3.33", nil, nil},
		{"admin's unknown filter matches nothing", "/v3/p1/volumes?colour=red", "", nil, nil},
		{"member's unknown filter before 3.31 is dropped", "/v3/p1/volumes?colour=red", "volume 3.30", nonAdmin, all},
		{"member's all_tenants is ignored", "/v3/p1/volumes?all_tenants=1", "", nonAdmin, all},
		{"admin all_tenants with name", "/v3/p1/volumes?all_tenants=1&name=alpha", "", nil, []string{other, v1}},
		{"created after", "/v3/p1/volumes?created_at=gt:2000-01-01T00:00:00", "volume 3.60", nil, all},
		{"created before", "/v3/p1/volumes?created_at=lte:2000-01-01T00:00:00Z", "volume 3.60", nil, nil},
		{"updated (never updated do not match)", "/v3/p1/volumes?updated_at=gt:2000-01-01", "volume 3.60", nil, []string{v3, v1}},
		{"sort by name", "/v3/p1/volumes?sort=name:asc", "", nil, []string{v1, v2, v3}},
		{"sort by size desc", "/v3/p1/volumes?sort=size:desc", "", nil, []string{v3, v2, v1}},
		{"legacy sort", "/v3/p1/volumes?sort_key=name&sort_dir=desc", "", nil, []string{v3, v2, v1}},
		{"sort by two keys", "/v3/p1/volumes?sort=bootable:desc,name:asc", "", nil, []string{v1, v2, v3}},
		{"page after marker in name order", "/v3/p1/volumes?sort=name:asc&limit=1&marker=" + v1, "", nil, []string{v2}},
		{"offset", "/v3/p1/volumes?sort=name:asc&offset=1", "", nil, []string{v2, v3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.listIDs(t, tc.path, tc.ver, tc.headers); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("count with a filter", func(t *testing.T) {
		body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/detail?name=alpha&with_count=1", version: "volume 3.45"}))
		if got := member(t, body, "count"); got != json.Number("1") {
			t.Errorf("count %s", wire.PyRepr(got))
		}
	})
	t.Run("paging through a sorted list", func(t *testing.T) {
		var got []string
		path := "/v3/p1/volumes?sort=size:asc&limit=2"
		for range 5 {
			body := obj(t, e.do(call{method: "GET", path: path}))
			for _, v := range member(t, body, "volumes").([]any) {
				got = append(got, str(t, v, "id"))
			}
			if !body.Has("volumes_links") {
				break
			}
			next, _ := url.Parse(str(t, body, "volumes_links", 0, "href"))
			path = next.RequestURI()
		}
		if strings.Join(got, ",") != strings.Join([]string{v1, v2, v3}, ",") {
			t.Errorf("pages %v", got)
		}
	})

	for _, tc := range []struct {
		name, path, ver string
		headers         map[string]string
		status          int
		message         string
	}{
		{"bootable not a boolean from 3.2", "/v3/p1/volumes?bootable=maybe", "volume 3.2", nil, 400, "Invalid input received: 'bootable = maybe'"},
		{"member's unknown filter from 3.31", "/v3/p1/volumes?colour=red&size=1", "volume 3.31", nonAdmin, 400, "Invalid filters colour are found in query options."},
		{"member's project_id from 3.31", "/v3/p1/volumes?project_id=p2", "volume 3.31", nonAdmin, 400, "Invalid filters project_id are found in query options."},
		{"member's like filter", "/v3/p1/volumes?name~=a", "volume 3.34", nonAdmin, 400, "Invalid filters name~ are found in query options."},
		{"time operator", "/v3/p1/volumes?created_at=after:2000-01-01", "volume 3.60", nil, 400, "Invalid after operator"},
		{"time value", "/v3/p1/volumes?created_at=gt:yesterday", "volume 3.60", nil, 400, "Invalid yesterday value"},
		{"offset not a number", "/v3/p1/volumes?offset=x", "", nil, 400, "Invalid input received: offset must be an integer"},
		{"negative offset", "/v3/p1/volumes?offset=-1", "", nil, 400, "Invalid input received: offset must be >= 0"},
		{"sort key", "/v3/p1/volumes?sort=name:asc,colour", "", nil, 400, "Invalid input received: Invalid sort key"},
		{"sort direction", "/v3/p1/volumes?sort=name:ASCENDING", "", nil, 400, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{"with_count not a boolean", "/v3/p1/volumes?with_count=lots", "volume 3.45", nil, 400, "Value 'lots' for 'with_count' is not a boolean."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFault(t, e.do(call{method: "GET", path: tc.path, version: tc.ver, header: tc.headers}), tc.status, "badRequest", tc.message)
		})
	}

	t.Run("summary with a filter", func(t *testing.T) {
		body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/summary?name=alpha&all_tenants=1", version: "volume 3.12"}))
		if got := member(t, body, "volume-summary", "total_count"); got != json.Number("2") {
			t.Errorf("total_count %s", wire.PyRepr(got))
		}
	})
}

func TestResourceFilters(t *testing.T) {
	e := newEnv(t)
	body := obj(t, e.do(call{method: "GET", path: "/v3/p1/resource_filters?resource=volume", version: "volume 3.33"}))
	got := member(t, body, "resource_filters").([]any)
	if len(got) != 1 || str(t, got[0], "resource") != "volume" {
		t.Fatalf("resource_filters %s", wire.PyRepr(got))
	}
	var filters []string
	for _, f := range member(t, got[0], "filters").([]any) {
		filters = append(filters, f.(string))
	}
	if strings.Join(filters, ",") != strings.Join(volumeFilterKeys, ",") {
		t.Errorf("filters %v", filters)
	}
	body = obj(t, e.do(call{method: "GET", path: "/v3/p1/resource_filters", version: "volume 3.33"}))
	var resources []string
	for _, rf := range member(t, body, "resource_filters").([]any) {
		resources = append(resources, str(t, rf, "resource"))
	}
	if strings.Join(resources, ",") != "volume,snapshot,message,pool,volume_type,transfer" {
		t.Errorf("resources %v", resources)
	}
	body = obj(t, e.do(call{method: "GET", path: "/v3/p1/resource_filters?resource=message", version: "volume 3.33"}))
	if got := wire.PyRepr(member(t, body, "resource_filters", 0, "filters")); got != "['event_id', 'message_level', 'request_id', 'resource_type', 'resource_uuid']" {
		t.Errorf("message filters %s", got)
	}
	body = obj(t, e.do(call{method: "GET", path: "/v3/p1/resource_filters?resource=nothing", version: "volume 3.33"}))
	if n := len(member(t, body, "resource_filters").([]any)); n != 0 {
		t.Errorf("%d resources for an unknown one", n)
	}
	wantFault(t, e.do(call{method: "GET", path: "/v3/p1/resource_filters", version: "volume 3.32"}), 404, "itemNotFound", wire.MsgResourceNotFound)
}

// TestVolumeLikeFilterForMembers: a member may use name~ (3.34) when the volume entry of
// resource_query_filters_file allows "name~", which then allows name too, as Cinder's
// reject_invalid_filters; with Cinder's default table (no "name~") a member's name~ is a 400
// as in Cinder (issue 12, item 6).
func TestVolumeLikeFilterForMembers(t *testing.T) {
	configured := newEnv(t, func(o *Options) { o.VolumeFilters = []string{"name~", "status"} })
	byDefault := newEnv(t)
	for _, e := range []*env{configured, byDefault} {
		e.createVolume(`{"volume": {"size": 1, "name": "alpha"}}`, "")
		e.createVolume(`{"volume": {"size": 1, "name": "beta"}}`, "")
	}
	alpha := configured.volumes()[0].ID
	if configured.volumes()[0].Name != "alpha" {
		alpha = configured.volumes()[1].ID
	}
	for _, tc := range []struct {
		name string
		e    *env
		path string
		want []string
	}{
		{"configured: name~", configured, "/v3/p1/volumes?name~=LPH", []string{alpha}},
		{"configured: name", configured, "/v3/p1/volumes?name=alpha", []string{alpha}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.listIDs(t, tc.path, "volume 3.34", nonAdmin); !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		e    *env
		path string
		msg  string
	}{
		{"configured: a filter the table lacks", configured, "/v3/p1/volumes?size=1", "Invalid filters size are found in query options."},
		{"default: name~", byDefault, "/v3/p1/volumes?name~=a", "Invalid filters name~ are found in query options."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFault(t, tc.e.do(call{method: "GET", path: tc.path, version: "volume 3.34", header: nonAdmin}), 400, "badRequest", tc.msg)
		})
	}
	body := obj(t, configured.do(call{method: "GET", path: "/v3/p1/resource_filters?resource=volume", version: "volume 3.33"}))
	if got := wire.PyRepr(member(t, body, "resource_filters", 0, "filters")); got != "['name~', 'status']" {
		t.Errorf("published volume filters %s, want the configured ones", got)
	}
}
