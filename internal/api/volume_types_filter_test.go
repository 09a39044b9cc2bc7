package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestVolumeTypeExtraSpecsFilter(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject
	for _, b := range []string{
		`{"volume_type": {"name": "shared", "extra_specs": {"multiattach": "<is> True", "tier": "ssd"}}}`,
		`{"volume_type": {"name": "ssd", "extra_specs": {"tier": "ssd", "RESKEY:availability_zones": "az1, az2"}}}`,
		`{"volume_type": {"name": "hdd", "extra_specs": {"tier": "hdd"}}}`,
	} {
		wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: b}), 200)
	}
	q := url.QueryEscape
	const v52, v51 = "volume 3.52", "volume 3.51"
	asMember := map[string]string{"X-Roles": "member"}
	for _, tc := range []struct {
		name, query, version string
		header               map[string]string
		status               int
		want                 string // names, sorted by name; or the fault message
	}{
		{"admin: python dict", "extra_specs=" + q(`{'tier': 'ssd'}`), v52, nil, 200, "shared,ssd"},
		{"admin: JSON", "extra_specs=" + q(`{"tier": "hdd"}`), v52, nil, 200, "hdd"},
		{"admin: every pair must hold", "extra_specs=" + q(`{'tier': 'ssd', 'multiattach': '<is> True'}`), v52, nil, 200, "shared"},
		{"admin: a hidden spec", "extra_specs=" + q(`{'tier': 'nvme'}`), v52, nil, 200, ""},
		{"admin: zones match by part", "extra_specs=" + q(`{'RESKEY:availability_zones': 'az2'}`), v52, nil, 200, "ssd"},
		{"admin: empty dict is no filter", "extra_specs=" + q(`{}`), v52, nil, 200, "__DEFAULT__,hdd,shared,ssd"},
		{"admin: below 3.52 too, as Cinder", "extra_specs=" + q(`{'tier': 'hdd'}`), v51, nil, 200, "hdd"},
		{"admin: with a sort and a limit", "extra_specs=" + q(`{'tier': 'ssd'}`) + "&sort=name:desc&limit=1", v52, nil, 200, "ssd"},
		{"admin: not a dict", "extra_specs=tier", v52, nil, 400, "Invalid extra_specs filter [tier]: it must be a dict of strings."},
		{"admin: other filters are not refused", "foo=bar", v52, nil, 200, "__DEFAULT__,hdd,shared,ssd"},
		{"admin: a non-ASCII filter key", q("tiér") + "=x", v52, nil, 400, "Filter keys can only contain ASCII characters."},
		{"member: a user-visible spec", "extra_specs=" + q(`{'multiattach': '<is> True'}`), v52, asMember, 200, "shared"},
		{"member: a spec they cannot see lists nothing", "extra_specs=" + q(`{'tier': 'ssd'}`), v52, asMember, 200, ""},
		{"member: below 3.52 the filter is dropped", "extra_specs=" + q(`{'multiattach': '<is> True'}`), v51, asMember, 200, "__DEFAULT__,hdd,shared,ssd"},
		{"member: below 3.52 other filters are dropped", "foo=bar", v51, asMember, 200, "__DEFAULT__,hdd,shared,ssd"},
		{"member: unknown filters answer 400", "foo=1&extra_specs=" + q(`{}`) + "&bar=2", v52, asMember, 400, "Invalid filters foo,bar are found in query options."},
		{"member: all_tenants is let through", "all_tenants=1&is_public=true", v52, asMember, 200, "__DEFAULT__,hdd,shared,ssd"},
		{"member: not a dict", "extra_specs=" + q(`['tier']`), v52, asMember, 400, "Invalid extra_specs filter [['tier']]: it must be a dict of strings."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := p + "/types?" + tc.query
			if !strings.Contains(tc.query, "sort") {
				path += "&sort=name:asc"
			}
			rec := e.do(call{method: "GET", path: path, version: tc.version, header: tc.header})
			if tc.status != http.StatusOK {
				wantFault(t, rec, tc.status, "badRequest", tc.want)
				return
			}
			wantStatus(t, rec, http.StatusOK)
			var names []string
			for _, v := range member(t, obj(t, rec), "volume_types").([]any) {
				names = append(names, str(t, v, "name"))
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("types %q, want %q", got, tc.want)
			}
		})
	}
}
