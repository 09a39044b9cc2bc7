package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
)

const mvGroupTypes = "volume 3.11"

// gtCase is one request to the group types API and what it must answer: status, and for an
// error the exact fault message (Cinder's), else check.
type gtCase struct {
	name   string
	c      call
	status int
	fault  string
	check  func(t *testing.T, o *wire.Object)
}

func runGroupTypeCases(t *testing.T, e *env, cases []gtCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.version == "" {
				tc.c.version = mvGroupTypes
			}
			rec := e.do(tc.c)
			if rec.Code != tc.status {
				t.Fatalf("%s %s = %d, want %d; body %s", tc.c.method, tc.c.path, rec.Code, tc.status, rec.Body)
			}
			if tc.status >= 400 {
				wantFault(t, rec, tc.status, wire.FaultName(tc.status), tc.fault)
				return
			}
			if tc.check != nil {
				tc.check(t, obj(t, rec))
			}
		})
	}
}

// createGroupType makes a group type through the API (as admin) and returns its id.
func (e *env) createGroupType(t testing.TB, body string) string {
	t.Helper()
	rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/group_types", version: mvGroupTypes, body: body})
	wantStatus(t, rec, http.StatusAccepted)
	return str(t, obj(t, rec), "group_type", "id")
}

// groupTypeNames lists the names of a group_types list answer.
func groupTypeNames(t *testing.T, o *wire.Object) []string {
	t.Helper()
	l, ok := member(t, o, "group_types").([]any)
	if !ok {
		t.Fatalf("group_types is %s", wire.PyRepr(o))
	}
	out := make([]string, len(l))
	for i := range l {
		out[i] = str(t, l[i], "name")
	}
	return out
}

func wantNames(want ...string) func(t *testing.T, o *wire.Object) {
	return func(t *testing.T, o *wire.Object) {
		t.Helper()
		if got := groupTypeNames(t, o); !slices.Equal(got, want) {
			t.Errorf("group types %v, want %v", got, want)
		}
	}
}

func TestGroupTypesCreate(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject + "/group_types"
	post := func(body string) call { return call{method: "POST", path: p, body: body} }
	long := strings.Repeat("n", 256)
	runGroupTypeCases(t, e, []gtCase{
		{name: "create", c: post(`{"group_type": {"name": "gold", "description": "fast", "is_public": "true", "group_specs": {"consistent_group_snapshot_enabled": "<is> True", "a b": "c"}}}`),
			status: 202, check: func(t *testing.T, o *wire.Object) {
				sameKeys(t, "create", keysOf(t, member(t, o, "group_type")), []string{"id", "name", "description", "is_public", "group_specs"})
				if str(t, o, "group_type", "name") != "gold" || str(t, o, "group_type", "description") != "fast" ||
					member(t, o, "group_type", "is_public") != true || str(t, o, "group_type", "group_specs", "a b") != "c" {
					t.Errorf("created %s", wire.PyRepr(o))
				}
			}},
		{name: "minimal: description null, specs empty", c: post(`{"group_type": {"name": "plain"}}`), status: 202, check: func(t *testing.T, o *wire.Object) {
			if member(t, o, "group_type", "description") != nil || len(keysOf(t, member(t, o, "group_type", "group_specs"))) != 0 {
				t.Errorf("created %s", wire.PyRepr(o))
			}
		}},
		{name: "null specs", c: post(`{"group_type": {"name": "nullspecs", "group_specs": null, "description": null}}`), status: 202},
		{name: "private", c: post(`{"group_type": {"name": "priv", "is_public": false}}`), status: 202, check: func(t *testing.T, o *wire.Object) {
			if member(t, o, "group_type", "is_public") != false {
				t.Errorf("created %s", wire.PyRepr(o))
			}
		}},
		{name: "duplicate name", c: post(`{"group_type": {"name": "gold"}}`), status: 409, fault: "Group Type gold already exists."},
		{name: "seeded name taken", c: post(`{"group_type": {"name": "default_cgsnapshot_type"}}`), status: 409, fault: "Group Type default_cgsnapshot_type already exists."},
		{name: "no body", c: call{method: "POST", path: p}, status: 400, fault: "None is not of type 'object'"},
		{name: "malformed JSON", c: post(`{"group_type": {"name": "x"`), status: 400, fault: wire.MsgMalformedBody},
		{name: "not an object", c: post(`[1]`), status: 400, fault: "[1] is not of type 'object'"},
		{name: "no group_type", c: post(`{"name": "x"}`), status: 400, fault: "'group_type' is a required property"},
		{name: "group_type not an object", c: post(`{"group_type": "x"}`), status: 400, fault: "Invalid input for field/attribute group_type. Value: x. 'x' is not of type 'object'"},
		{name: "no name", c: post(`{"group_type": {}}`), status: 400, fault: "Invalid input for field/attribute group_type. Value: {}. 'name' is a required property"},
		{name: "empty name", c: post(`{"group_type": {"name": ""}}`), status: 400, fault: "Invalid input for field/attribute name. Value: . '' is too short"},
		{name: "name too long", c: post(`{"group_type": {"name": "` + long + `"}}`), status: 400, fault: "Invalid input for field/attribute name. Value: " + long + ". '" + long + "' is too long"},
		{name: "name with leading space", c: post(`{"group_type": {"name": " x"}}`), status: 400, fault: "Invalid input for field/attribute name. Value:  x. An invalid 'name' value was provided. The name must be: 1) Contains at least one non-whitespace character and 2) The name can not have leading and trailing whitespace."},
		{name: "name a number", c: post(`{"group_type": {"name": 1}}`), status: 400, fault: "Invalid input for field/attribute name. Value: 1. 1 is not of type 'string'"},
		{name: "extra property", c: post(`{"group_type": {"name": "x", "extra_specs": {}}}`), status: 400, fault: "Invalid input for field/attribute group_type. Value: {'name': 'x', 'extra_specs': {}}. Additional properties are not allowed ('extra_specs' was unexpected)"},
		{name: "extra top-level property", c: post(`{"group_type": {"name": "x"}, "x": 1}`), status: 400, fault: "Additional properties are not allowed ('x' was unexpected)"},
		{name: "bad is_public", c: post(`{"group_type": {"name": "x", "is_public": "maybe"}}`), status: 400, fault: "Invalid input for field/attribute is_public. Value: maybe. 'maybe' is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']"},
		{name: "description too long", c: post(`{"group_type": {"name": "x", "description": "` + long + `"}}`), status: 400, fault: "Invalid input for field/attribute description. Value: " + long + ". '" + long + "' is too long"},
		{name: "spec value not a string", c: post(`{"group_type": {"name": "x", "group_specs": {"a": 1}}}`), status: 400, fault: "Invalid input for field/attribute a. Value: 1. 1 is not of type 'string'"},
		{name: "spec value null", c: post(`{"group_type": {"name": "x", "group_specs": {"a": null}}}`), status: 400, fault: "Invalid input for field/attribute a. Value: None. None is not of type 'string'"},
		{name: "bad spec key", c: post(`{"group_type": {"name": "x", "group_specs": {"a*b": "1"}}}`), status: 400, fault: "Invalid input for field/attribute group_specs. Value: {'a*b': '1'}. 'a*b' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"},
		{name: "specs a list", c: post(`{"group_type": {"name": "x", "group_specs": ["a"]}}`), status: 400, fault: "Invalid input for field/attribute group_specs. Value: ['a']. ['a'] is not of type 'object', 'null'"},
		{name: "huge body", c: post(`{"group_type": {"name": "x", "description": "` + strings.Repeat("d", wire.MaxBodyBytes) + `"}}`), status: 413, fault: wire.MsgTooLarge},
		{name: "member", c: call{method: "POST", path: "/v3/p2/group_types", token: tokenP2, header: memberP2, body: `{"group_type": {"name": "x"}}`}, status: 403, fault: "Policy doesn't allow group:group_types:create to be performed."},
		{name: "member with a bad body: the schema first, as Cinder", c: call{method: "POST", path: "/v3/p2/group_types", token: tokenP2, header: memberP2, body: `{"group_type": {}}`}, status: 400,
			fault: "Invalid input for field/attribute group_type. Value: {}. 'name' is a required property"},
		{name: "below 3.11", c: call{method: "POST", path: p, version: "volume 3.10", body: `{"group_type": {"name": "y"}}`}, status: 404, fault: wire.MsgResourceNotFound},
	})
	if _, err := e.store.GetGroupTypeByName(context.Background(), "y"); err == nil {
		t.Error("a create below 3.11 made a group type")
	}
}

func TestGroupTypesListShow(t *testing.T) {
	e := newEnv(t)
	gold := e.createGroupType(t, `{"group_type": {"name": "gold", "group_specs": {"k": "v"}}}`)
	priv := e.createGroupType(t, `{"group_type": {"name": "priv", "is_public": false}}`)
	silver := e.createGroupType(t, `{"group_type": {"name": "silver", "description": "d"}}`)
	p := "/v3/" + testProject + "/group_types"
	get := func(path string) call { return call{method: "GET", path: path} }
	asMember := func(path string) call {
		return call{method: "GET", path: strings.Replace(path, "/"+testProject+"/", "/p2/", 1), token: tokenP2, header: memberP2}
	}
	runGroupTypeCases(t, e, []gtCase{
		{name: "admin list: public, newest first, with specs", c: get(p), status: 200, check: func(t *testing.T, o *wire.Object) {
			wantNames("silver", "gold", "default_cgsnapshot_type")(t, o)
			sameKeys(t, "list item", keysOf(t, member(t, o, "group_types", 1)), []string{"id", "name", "description", "is_public", "group_specs"})
			if str(t, o, "group_types", 1, "group_specs", "k") != "v" || str(t, o, "group_types", 2, "group_specs", "consistent_group_snapshot_enabled") != "<is> True" {
				t.Errorf("specs: %s", wire.PyRepr(o))
			}
			if o.Has("group_type_links") {
				t.Errorf("links on a short page: %s", wire.PyRepr(o))
			}
		}},
		{name: "member list: no specs", c: asMember(p), status: 200, check: func(t *testing.T, o *wire.Object) {
			wantNames("silver", "gold", "default_cgsnapshot_type")(t, o)
			sameKeys(t, "member list item", keysOf(t, member(t, o, "group_types", 0)), []string{"id", "name", "description", "is_public"})
		}},
		{name: "admin is_public=false", c: get(p + "?is_public=false"), status: 200, check: wantNames("priv")},
		{name: "admin is_public=None", c: get(p + "?is_public=None&sort=name:asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "priv", "silver")},
		{name: "admin is_public=yes", c: get(p + "?is_public=yes&sort=name:asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "silver")},
		{name: "admin bad is_public", c: get(p + "?is_public=maybe"), status: 400, fault: "Invalid is_public filter [maybe]"},
		{name: "member is_public ignored", c: asMember(p + "?is_public=false&sort=name:asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "silver")},
		{name: "unknown filters ignored", c: get(p + "?name=gold&sort=name"), status: 200, check: wantNames("silver", "gold", "default_cgsnapshot_type")},
		{name: "sort by name asc", c: get(p + "?sort=name:asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "silver")},
		{name: "sort_key/sort_dir", c: get(p + "?sort_key=name&sort_dir=asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "silver")},
		{name: "limit links on", c: get(p + "?sort=name:asc&limit=2"), status: 200, check: func(t *testing.T, o *wire.Object) {
			wantNames("default_cgsnapshot_type", "gold")(t, o)
			href := str(t, o, "group_type_links", 0, "href")
			if str(t, o, "group_type_links", 0, "rel") != "next" || !strings.Contains(href, "/v3/"+testProject+"/group_types?") ||
				!strings.Contains(href, "marker="+gold) || !strings.Contains(href, "limit=2") {
				t.Errorf("links: %s", wire.PyRepr(o))
			}
		}},
		{name: "marker", c: get(p + "?sort=name:asc&limit=2&marker=" + gold), status: 200, check: wantNames("silver")},
		{name: "offset", c: get(p + "?sort=name:asc&offset=1"), status: 200, check: wantNames("gold", "silver")},
		{name: "limit 0", c: get(p + "?limit=0"), status: 200, check: wantNames()},
		{name: "limit not a number", c: get(p + "?limit=x"), status: 400, fault: "limit param must be an integer"},
		{name: "negative limit", c: get(p + "?limit=-1"), status: 400, fault: "limit param must be positive"},
		{name: "negative offset", c: get(p + "?offset=-1"), status: 400, fault: "Invalid input received: offset must be >= 0"},
		{name: "bad sort key", c: get(p + "?sort=bogus"), status: 400, fault: "Invalid input received: Invalid sort key"},
		{name: "bad sort dir", c: get(p + "?sort=name:up"), status: 400, fault: "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{name: "below 3.11", c: call{method: "GET", path: p, version: "volume 3.10"}, status: 404, fault: wire.MsgResourceNotFound},
		{name: "no version: 3.0", c: call{method: "GET", path: p, version: "volume 3.0"}, status: 404, fault: wire.MsgResourceNotFound},
		{name: "without project id", c: get("/v3/group_types?sort=name:asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "silver")},

		{name: "show admin", c: get(p + "/" + gold), status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "show", keysOf(t, member(t, o, "group_type")), []string{"id", "name", "description", "is_public", "group_specs"})
		}},
		{name: "show member", c: asMember(p + "/" + silver), status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "member show", keysOf(t, member(t, o, "group_type")), []string{"id", "name", "description", "is_public"})
			if str(t, o, "group_type", "description") != "d" {
				t.Errorf("show %s", wire.PyRepr(o))
			}
		}},
		{name: "show private admin", c: get(p + "/" + priv), status: 200},
		{name: "show private member", c: asMember(p + "/" + priv), status: 404, fault: "Group type " + priv + " could not be found."},
		{name: "show unknown", c: get(p + "/nope"), status: 404, fault: "Group type nope could not be found."},
		{name: "show default unset", c: get(p + "/default"), status: 404, fault: "Default group type can not be found."},
		{name: "show below 3.11", c: call{method: "GET", path: p + "/" + gold, version: "volume 3.10"}, status: 404, fault: wire.MsgResourceNotFound},
	})

	// Private types the database gives a project access to are that project's to see.
	if err := e.store.AddGroupTypeAccess(context.Background(), priv, "p2"); err != nil {
		t.Fatal(err)
	}
	runGroupTypeCases(t, e, []gtCase{
		{name: "member with access lists the private type", c: asMember(p + "?sort=name:asc"), status: 200, check: wantNames("default_cgsnapshot_type", "gold", "priv", "silver")},
		{name: "member with access shows it", c: asMember(p + "/" + priv), status: 200},
	})
}

func TestGroupTypeDefault(t *testing.T) {
	cases := []struct {
		name, configured string
		status           int
		want             string
	}{
		{"none configured", "", 404, "Default group type can not be found."},
		{"configured and present", "gold", 200, "gold"},
		{"configured, absent", "nothing", 404, "Default group type can not be found."},
		{"Cinder's cgsnapshot type", resource.DefaultCGSnapshotTypeName, 200, resource.DefaultCGSnapshotTypeName},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.DefaultGroupType = tc.configured })
			e.createGroupType(t, `{"group_type": {"name": "gold"}}`)
			for _, c := range []call{
				{method: "GET", path: "/v3/" + testProject + "/group_types/default", version: mvGroupTypes},
				{method: "GET", path: "/v3/p2/group_types/default", version: mvGroupTypes, token: tokenP2, header: memberP2},
			} {
				rec := e.do(c)
				if tc.status != 200 {
					wantFault(t, rec, tc.status, "itemNotFound", tc.want)
					continue
				}
				wantStatus(t, rec, 200)
				if got := str(t, obj(t, rec), "group_type", "name"); got != tc.want {
					t.Errorf("default group type %s, want %s", got, tc.want)
				}
			}
		})
	}
}

func TestGroupTypesUpdateDelete(t *testing.T) {
	e := newEnv(t)
	gold := e.createGroupType(t, `{"group_type": {"name": "gold", "description": "old", "group_specs": {"k": "v"}}}`)
	used := e.createGroupType(t, `{"group_type": {"name": "used"}}`)
	p := "/v3/" + testProject + "/group_types"
	put := func(id, body string) call { return call{method: "PUT", path: p + "/" + id, body: body} }
	del := func(id string) call { return call{method: "DELETE", path: p + "/" + id} }
	if _, err := e.raw.Exec("INSERT INTO `groups` (id, project_id, user_id, availability_zone, group_type_id, status, created_at, deleted)"+
		" VALUES ('g1', 'p1', 'u1', 'nova', ?, 'available', '2026-01-01 00:00:00.000000', 0)", used); err != nil {
		t.Fatal(err)
	}
	runGroupTypeCases(t, e, []gtCase{
		{name: "description", c: put(gold, `{"group_type": {"description": "new"}}`), status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "update", keysOf(t, member(t, o, "group_type")), []string{"id", "name", "description", "is_public", "group_specs"})
			if str(t, o, "group_type", "description") != "new" || str(t, o, "group_type", "name") != "gold" || str(t, o, "group_type", "group_specs", "k") != "v" {
				t.Errorf("updated %s", wire.PyRepr(o))
			}
		}},
		{name: "name and is_public", c: put(gold, `{"group_type": {"name": "platinum", "is_public": "false"}}`), status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "group_type", "name") != "platinum" || member(t, o, "group_type", "is_public") != false || str(t, o, "group_type", "description") != "new" {
				t.Errorf("updated %s", wire.PyRepr(o))
			}
		}},
		{name: "null name keeps it", c: put(gold, `{"group_type": {"name": null, "is_public": true}}`), status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "group_type", "name") != "platinum" {
				t.Errorf("updated %s", wire.PyRepr(o))
			}
		}},
		{name: "name taken", c: put(gold, `{"group_type": {"name": "used"}}`), status: 409, fault: "Group Type used already exists."},
		{name: "name only white space", c: put(gold, `{"group_type": {"name": "   "}}`), status: 400, fault: "Group type name can not be empty."},
		{name: "nothing to change", c: put(gold, `{"group_type": {}}`), status: 400, fault: "Specify group type name, description or a combination thereof."},
		{name: "all null", c: put(gold, `{"group_type": {"name": null, "description": null}}`), status: 400, fault: "Specify group type name, description or a combination thereof."},
		{name: "name too long", c: put(gold, `{"group_type": {"name": "`+strings.Repeat("n", 256)+`"}}`), status: 400,
			fault: "Invalid input for field/attribute name. Value: " + strings.Repeat("n", 256) + ". '" + strings.Repeat("n", 256) + "' is too long"},
		{name: "group_specs not updatable here", c: put(gold, `{"group_type": {"group_specs": {}}}`), status: 400, fault: "Invalid input for field/attribute group_type. Value: {'group_specs': {}}. Additional properties are not allowed ('group_specs' was unexpected)"},
		{name: "bad is_public", c: put(gold, `{"group_type": {"is_public": 2}}`), status: 400, fault: "Invalid input for field/attribute is_public. Value: 2. 2 is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']"},
		{name: "description a number", c: put(gold, `{"group_type": {"description": 5}}`), status: 400, fault: "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"},
		{name: "no group_type", c: put(gold, `{}`), status: 400, fault: "'group_type' is a required property"},
		{name: "unknown", c: put("nope", `{"group_type": {"description": "x"}}`), status: 404, fault: "Group type nope could not be found."},
		{name: "member", c: call{method: "PUT", path: "/v3/p2/group_types/" + gold, token: tokenP2, header: memberP2, body: `{"group_type": {"description": "x"}}`}, status: 403, fault: "Policy doesn't allow group:group_types:update to be performed."},
		{name: "below 3.11", c: call{method: "PUT", path: p + "/" + gold, version: "volume 3.10", body: `{"group_type": {"description": "x"}}`}, status: 404, fault: wire.MsgResourceNotFound},

		{name: "delete member", c: call{method: "DELETE", path: "/v3/p2/group_types/" + gold, token: tokenP2, header: memberP2}, status: 403, fault: "Policy doesn't allow group:group_types:delete to be performed."},
		{name: "delete in use", c: del(used), status: 400, fault: "Target group type is still in use. Group Type " + used + " deletion is not allowed with groups present with the type."},
		{name: "delete unknown", c: del("nope"), status: 404, fault: "Group type nope could not be found."},
		{name: "delete below 3.11", c: call{method: "DELETE", path: p + "/" + gold, version: "volume 3.10"}, status: 404, fault: wire.MsgResourceNotFound},
		{name: "delete", c: del(gold), status: 202},
		{name: "deleted is gone", c: call{method: "GET", path: p + "/" + gold}, status: 404, fault: "Group type " + gold + " could not be found."},
		{name: "delete again", c: del(gold), status: 404, fault: "Group type " + gold + " could not be found."},
		{name: "its name is free", c: call{method: "POST", path: p, body: `{"group_type": {"name": "platinum"}}`}, status: 202},
	})
	if _, err := e.raw.Exec("UPDATE `groups` SET deleted = 1 WHERE id = 'g1'"); err != nil {
		t.Fatal(err)
	}
	runGroupTypeCases(t, e, []gtCase{{name: "delete once its group is deleted", c: del(used), status: 202}})
}

func TestGroupSpecs(t *testing.T) {
	e := newEnv(t)
	gold := e.createGroupType(t, `{"group_type": {"name": "gold", "group_specs": {"k": "v"}}}`)
	priv := e.createGroupType(t, `{"group_type": {"name": "priv", "is_public": false}}`)
	p := "/v3/" + testProject + "/group_types/" + gold + "/group_specs"
	asMember := func(method, path, body string) call {
		return call{method: method, path: strings.Replace(path, "/"+testProject+"/", "/p2/", 1), token: tokenP2, header: memberP2, body: body}
	}
	specsAre := func(want map[string]string) func(t *testing.T, o *wire.Object) {
		return func(t *testing.T, o *wire.Object) {
			t.Helper()
			got := map[string]string{}
			for _, k := range keysOf(t, member(t, o, "group_specs")) {
				got[k] = str(t, o, "group_specs", k)
			}
			if len(got) != len(want) {
				t.Errorf("group specs %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("group specs %v, want %v", got, want)
				}
			}
		}
	}
	runGroupTypeCases(t, e, []gtCase{
		{name: "index", c: call{method: "GET", path: p}, status: 200, check: specsAre(map[string]string{"k": "v"})},
		{name: "create", c: call{method: "POST", path: p, body: `{"group_specs": {"a": "1", "consistent_group_snapshot_enabled": "<is> True"}}`}, status: 202,
			check: specsAre(map[string]string{"a": "1", "consistent_group_snapshot_enabled": "<is> True"})},
		{name: "create overwrites, keeps others", c: call{method: "POST", path: p, body: `{"group_specs": {"a": "2"}}`}, status: 202},
		{name: "index after", c: call{method: "GET", path: p}, status: 200, check: specsAre(map[string]string{"k": "v", "a": "2", "consistent_group_snapshot_enabled": "<is> True"})},
		{name: "create echoes null", c: call{method: "POST", path: p, body: `{"group_specs": {"n": null}}`}, status: 202, check: func(t *testing.T, o *wire.Object) {
			if v, ok := member(t, o, "group_specs").(*wire.Object).Get("n"); !ok || v != nil {
				t.Errorf("echo %s", wire.PyRepr(o))
			}
		}},
		{name: "show", c: call{method: "GET", path: p + "/a"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "show", keysOf(t, o), []string{"a"})
			if str(t, o, "a") != "2" {
				t.Errorf("show %s", wire.PyRepr(o))
			}
		}},
		{name: "show missing", c: call{method: "GET", path: p + "/zz"}, status: 404, fault: "Group Type " + gold + " has no extra spec with key zz."},
		{name: "update", c: call{method: "PUT", path: p + "/a", body: `{"a": "3"}`}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "a") != "3" {
				t.Errorf("update %s", wire.PyRepr(o))
			}
		}},
		{name: "update creates", c: call{method: "PUT", path: p + "/new", body: `{"new": "x"}`}, status: 200},
		{name: "update mismatch", c: call{method: "PUT", path: p + "/a", body: `{"b": "3"}`}, status: 400, fault: "Request body and URI mismatch"},
		{name: "update two keys", c: call{method: "PUT", path: p + "/a", body: `{"a": "3", "b": "4"}`}, status: 400, fault: "{'a': '3', 'b': '4'} has too many properties"},
		{name: "update no key", c: call{method: "PUT", path: p + "/a", body: `{}`}, status: 400, fault: "{} does not have enough properties"},
		{name: "update value a number", c: call{method: "PUT", path: p + "/a", body: `{"a": 3}`}, status: 400, fault: "Invalid input for field/attribute a. Value: 3. 3 is not of type 'string', 'null'"},
		{name: "create key with a space", c: call{method: "POST", path: p, body: `{"group_specs": {"a b": "1"}}`}, status: 400, fault: "Invalid input for field/attribute group_specs. Value: {'a b': '1'}. 'a b' does not match any of the regexes: '^[a-zA-Z0-9-_:.]{1,255}$'"},
		{name: "create value a list", c: call{method: "POST", path: p, body: `{"group_specs": {"a": ["1"]}}`}, status: 400, fault: "Invalid input for field/attribute a. Value: ['1']. ['1'] is not of type 'string', 'null'"},
		{name: "create value too long", c: call{method: "POST", path: p, body: `{"group_specs": {"a": "` + strings.Repeat("v", 256) + `"}}`}, status: 400,
			fault: "Invalid input for field/attribute a. Value: " + strings.Repeat("v", 256) + ". '" + strings.Repeat("v", 256) + "' is too long"},
		{name: "create key too long", c: call{method: "POST", path: p, body: `{"group_specs": {"` + strings.Repeat("k", 256) + `": "1"}}`}, status: 400,
			fault: "Invalid input for field/attribute group_specs. Value: {'" + strings.Repeat("k", 256) + "': '1'}. '" + strings.Repeat("k", 256) + "' does not match any of the regexes: '^[a-zA-Z0-9-_:.]{1,255}$'"},
		{name: "create without group_specs", c: call{method: "POST", path: p, body: `{"specs": {}}`}, status: 400, fault: "'group_specs' is a required property"},
		{name: "create specs null", c: call{method: "POST", path: p, body: `{"group_specs": null}`}, status: 400, fault: "Invalid input for field/attribute group_specs. Value: None. None is not of type 'object'"},
		{name: "delete", c: call{method: "DELETE", path: p + "/a"}, status: 202},
		{name: "delete again", c: call{method: "DELETE", path: p + "/a"}, status: 404, fault: "Group Type " + gold + " has no specs with key a."},
		{name: "index after delete", c: call{method: "GET", path: p}, status: 200, check: specsAre(map[string]string{"k": "v", "n": "", "new": "x", "consistent_group_snapshot_enabled": "<is> True"})},

		{name: "unknown type index", c: call{method: "GET", path: "/v3/" + testProject + "/group_types/nope/group_specs"}, status: 404, fault: "Group type nope could not be found."},
		{name: "unknown type create", c: call{method: "POST", path: "/v3/" + testProject + "/group_types/nope/group_specs", body: `{"group_specs": {"a": "1"}}`}, status: 404, fault: "Group type nope could not be found."},
		{name: "unknown type update", c: call{method: "PUT", path: "/v3/" + testProject + "/group_types/nope/group_specs/a", body: `{"a": "1"}`}, status: 404, fault: "Group type nope could not be found."},
		{name: "unknown type delete", c: call{method: "DELETE", path: "/v3/" + testProject + "/group_types/nope/group_specs/a"}, status: 404, fault: "Group type nope could not be found."},
		{name: "private type, admin", c: call{method: "POST", path: "/v3/" + testProject + "/group_types/" + priv + "/group_specs", body: `{"group_specs": {"a": "1"}}`}, status: 202},

		{name: "member index", c: asMember("GET", p, ""), status: 403, fault: "Policy doesn't allow group:group_types_specs:get_all to be performed."},
		{name: "member show", c: asMember("GET", p+"/k", ""), status: 403, fault: "Policy doesn't allow group:group_types_specs:get to be performed."},
		{name: "member create", c: asMember("POST", p, `{"group_specs": {"a": "1"}}`), status: 403, fault: "Policy doesn't allow group:group_types_specs:create to be performed."},
		{name: "member update", c: asMember("PUT", p+"/k", `{"k": "1"}`), status: 403, fault: "Policy doesn't allow group:group_types_specs:update to be performed."},
		{name: "member delete", c: asMember("DELETE", p+"/k", ""), status: 403, fault: "Policy doesn't allow group:group_types_specs:delete to be performed."},
		{name: "index below 3.11", c: call{method: "GET", path: p, version: "volume 3.10"}, status: 404, fault: wire.MsgResourceNotFound},
	})
	gt, err := e.store.GetGroupType(context.Background(), gold)
	if err != nil || gt.GroupSpecs["k"] != "v" || gt.GroupSpecs["new"] != "x" {
		t.Errorf("stored %+v, %v", gt, err)
	}
}

// TestGroupTypeStoreContract: GetGroupType and GetGroupTypeByName, which the groups API uses,
// answer *resource.NotFoundError for missing and deleted types, and fill the specs.
func TestGroupTypeStoreContract(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createGroupType(t, `{"group_type": {"name": "gold", "group_specs": {"k": "v"}}}`)
	rec := e.do(call{method: "DELETE", path: "/v3/" + testProject + "/group_types/" + id, version: mvGroupTypes})
	wantStatus(t, rec, 202)
	var s groupTypeStore = e.store
	for _, tc := range []struct {
		name string
		get  func() (*resource.GroupType, error)
	}{
		{"deleted by id", func() (*resource.GroupType, error) { return s.GetGroupType(ctx, id) }},
		{"deleted by name", func() (*resource.GroupType, error) { return s.GetGroupTypeByName(ctx, "gold") }},
		{"missing by id", func() (*resource.GroupType, error) { return s.GetGroupType(ctx, "nope") }},
	} {
		var nf *resource.NotFoundError
		if _, err := tc.get(); !errors.As(err, &nf) || nf.Kind != "GroupType" {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	gt, err := s.GetGroupType(ctx, db.DefaultCGSnapshotTypeID)
	if err != nil || gt.GroupSpecs[resource.ConsistentGroupSnapshotSpec] != "<is> True" {
		t.Errorf("seeded type %+v, %v", gt, err)
	}
}

// FuzzGroupTypeBodies sends arbitrary bodies to every group type write: whatever the body, the
// answer is Cinder's success or a client error, never a 500.
func FuzzGroupTypeBodies(f *testing.F) {
	for _, b := range []string{`{"group_type": {"name": "a", "group_specs": {"k": "v"}}}`, `{"group_type": {"name": null}}`,
		`{"group_type": {"is_public": "on", "description": ""}}`, `{"group_specs": {"k": null}}`, `{"k": "v"}`, `null`, `[]`,
		`{"group_type": {"name": "\u0000"}}`, `{"group_specs": {"a b": 1}}`, `{"group_type": {"name": "` + strings.Repeat("x", 300) + `"}}`} {
		for op := range uint8(5) {
			f.Add(op, b)
		}
	}
	e := newEnv(f)
	gold := e.createGroupType(f, `{"group_type": {"name": "gold", "group_specs": {"k": "v"}}}`)
	p := "/v3/" + testProject + "/group_types"
	ops := []struct{ method, path string }{
		{"POST", p}, {"PUT", p + "/" + gold}, {"POST", p + "/" + gold + "/group_specs"}, {"PUT", p + "/" + gold + "/group_specs/k"},
		{"PUT", p + "/nope"},
	}
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		o := ops[int(op)%len(ops)]
		rec := fuzzDo(t, e, o.method, o.path, body, map[string]string{"OpenStack-API-Version": mvGroupTypes})
		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s %s %q: %d %s", o.method, o.path, body, rec.Code, rec.Body)
		}
	})
}
