package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
)

// Non-admin callers: project p2 and p3 with the member role, and the reader role Keystone
// implies with it (rules such as volume_extension:access_types_extra_specs ask for reader).
var (
	memberP2 = map[string]string{"X-Roles": "member,reader"}
)

const (
	tokenP2 = "u2:p2"
	tokenP3 = "u3:p3"
)

// step is one request of a scenario and what it must answer.
type step struct {
	name    string
	c       call
	status  int
	fault   string // the fault message, when status is an error
	check   func(t *testing.T, o *wire.Object)
	capture func(o *wire.Object) // remembers ids for later steps
}

func runSteps(t *testing.T, e *env, steps []step) {
	t.Helper()
	for _, st := range steps {
		rec := e.do(st.c)
		if rec.Code != st.status {
			t.Fatalf("%s: %s %s = %d, want %d; body %s", st.name, st.c.method, st.c.path, rec.Code, st.status, rec.Body)
		}
		if st.fault != "" {
			if !strings.Contains(rec.Body.String(), st.fault) {
				t.Fatalf("%s: body %s, want message %q", st.name, rec.Body, st.fault)
			}
			continue
		}
		if st.check != nil || st.capture != nil {
			o := obj(t, rec)
			if st.check != nil {
				st.check(t, o)
			}
			if st.capture != nil {
				st.capture(o)
			}
		}
	}
}

func TestVolumeTypesCRUD(t *testing.T) {
	e := newEnv(t)
	var id string
	p := "/v3/" + testProject
	runSteps(t, e, []step{
		{name: "create", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "gold", "description": "fast", "os-volume-type-access:is_public": true, "extra_specs": {"volume_backend_name": "b1", "multiattach": "<is> True"}}}`},
			status: 200, check: func(t *testing.T, o *wire.Object) {
				sameKeys(t, "create", keysOf(t, member(t, o, "volume_type")), []string{"id", "name", "is_public", "extra_specs", "description", "os-volume-type-access:is_public"})
				if str(t, o, "volume_type", "extra_specs", "volume_backend_name") != "b1" {
					t.Errorf("extra specs not kept: %v", wire.PyRepr(o))
				}
			}, capture: func(o *wire.Object) { id = str(t, o, "volume_type", "id") }},
		{name: "duplicate name", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "gold"}}`}, status: 409, fault: "Volume Type gold already exists."},
		{name: "no name", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {}}`}, status: 400, fault: "'name' is a required property"},
		{name: "extra property", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "x", "foo": 1}}`}, status: 400, fault: "Additional properties are not allowed"},
		{name: "bad is_public", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "x", "os-volume-type-access:is_public": "maybe"}}`}, status: 400},
		{name: "bad spec key", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "x", "extra_specs": {"a*b": "1"}}}`}, status: 400, fault: "does not match any of the regexes"},
		{name: "member create", c: call{method: "POST", path: "/v3/p2/types", token: tokenP2, header: memberP2, body: `{"volume_type": {"name": "x"}}`}, status: 403, fault: "volume_extension:type_create"},
	})
	runSteps(t, e, []step{
		{name: "show admin", c: call{method: "GET", path: p + "/types/" + id}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "show", keysOf(t, member(t, o, "volume_type")), []string{"id", "name", "is_public", "description", "extra_specs", "qos_specs_id", "os-volume-type-access:is_public"})
		}},
		{name: "show member sees user-visible specs only", c: call{method: "GET", path: "/v3/p2/types/" + id, token: tokenP2, header: memberP2}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "member show", keysOf(t, member(t, o, "volume_type")), []string{"id", "name", "is_public", "description", "extra_specs", "os-volume-type-access:is_public"})
			sameKeys(t, "member specs", keysOf(t, member(t, o, "volume_type", "extra_specs")), []string{"multiattach"})
		}},
		{name: "show unknown", c: call{method: "GET", path: p + "/types/00000000-0000-0000-0000-000000000000"}, status: 404, fault: "Volume type 00000000-0000-0000-0000-000000000000 could not be found."},
		{name: "show default", c: call{method: "GET", path: p + "/types/default"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "volume_type", "name") != "__DEFAULT__" {
				t.Errorf("default type %s", wire.PyRepr(o))
			}
		}},
		{name: "update", c: call{method: "PUT", path: p + "/types/" + id, body: `{"volume_type": {"name": "platinum", "description": "faster"}}`}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "volume_type", "name") != "platinum" || str(t, o, "volume_type", "description") != "faster" {
				t.Errorf("update answer %s", wire.PyRepr(o))
			}
		}},
		{name: "update to taken name", c: call{method: "PUT", path: p + "/types/" + id, body: `{"volume_type": {"name": "__DEFAULT__"}}`}, status: 409},
		{name: "update nothing", c: call{method: "PUT", path: p + "/types/" + id, body: `{"volume_type": {}}`}, status: 400, fault: "Specify volume type name, description, is_public or a combination thereof."},
		{name: "update empty name", c: call{method: "PUT", path: p + "/types/" + id, body: `{"volume_type": {"name": ""}}`}, status: 400, fault: "Invalid input for field/attribute name. Value: . '' is too short"},
		{name: "update unknown", c: call{method: "PUT", path: p + "/types/00000000-0000-0000-0000-000000000000", body: `{"volume_type": {"description": "x"}}`}, status: 404},
		{name: "member update", c: call{method: "PUT", path: "/v3/p2/types/" + id, token: tokenP2, header: memberP2, body: `{"volume_type": {"description": "x"}}`}, status: 403},
	})

	// In use: refused; once the volume is gone, deleted, and the name is free again.
	vol := e.createVolume(`{"volume": {"size": 1, "volume_type": "platinum"}}`, "")
	runSteps(t, e, []step{
		{name: "delete in use", c: call{method: "DELETE", path: p + "/types/" + id}, status: 400, fault: "Target volume type is still in use."},
		{name: "spec change in use", c: call{method: "POST", path: p + "/types/" + id + "/extra_specs", body: `{"extra_specs": {"k": "v"}}`}, status: 400, fault: "Volume Type is currently in use."},
	})
	if err := e.store.DestroyVolume(t.Context(), vol, []string{"creating"}); err != nil {
		t.Fatal(err)
	}
	runSteps(t, e, []step{
		{name: "member delete", c: call{method: "DELETE", path: "/v3/p2/types/" + id, token: tokenP2, header: memberP2}, status: 403},
		{name: "delete", c: call{method: "DELETE", path: p + "/types/" + id}, status: 202},
		{name: "delete again", c: call{method: "DELETE", path: p + "/types/" + id}, status: 404},
		{name: "delete default", c: call{method: "DELETE", path: p + "/types/644d43d8-9530-4dc1-9e32-21ba29eaf806"}, status: 400, fault: "is a default volume type and cannot be deleted."},
		{name: "name free again", c: call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "platinum"}}`}, status: 200},
	})
}

func TestVolumeTypeList(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject
	for _, b := range []string{
		`{"volume_type": {"name": "pub"}}`,
		`{"volume_type": {"name": "priv", "os-volume-type-access:is_public": false}}`,
		`{"volume_type": {"name": "priv2", "os-volume-type-access:is_public": "False"}}`,
	} {
		wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: b}), 200)
	}
	priv := typeID(t, e, "priv")
	wantStatus(t, e.do(call{method: "POST", path: p + "/types/" + priv + "/action", body: `{"addProjectAccess": {"project": "p2"}}`}), 202)

	names := func(c call) string {
		rec := e.do(c)
		wantStatus(t, rec, 200)
		var out []string
		for _, v := range member(t, obj(t, rec), "volume_types").([]any) {
			out = append(out, str(t, v, "name"))
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		name string
		c    call
		want string
	}{
		{"admin default: public", call{method: "GET", path: p + "/types"}, "pub,__DEFAULT__"},
		{"admin all", call{method: "GET", path: p + "/types?is_public=None"}, "priv2,priv,pub,__DEFAULT__"},
		{"admin private", call{method: "GET", path: p + "/types?is_public=false"}, "priv2,priv"},
		{"admin sorted by name", call{method: "GET", path: p + "/types?is_public=none&sort=name:asc"}, "__DEFAULT__,priv,priv2,pub"},
		{"admin limit", call{method: "GET", path: p + "/types?is_public=none&sort_key=name&sort_dir=asc&limit=2"}, "__DEFAULT__,priv"},
		{"member with access", call{method: "GET", path: "/v3/p2/types", token: tokenP2, header: memberP2}, "priv,pub,__DEFAULT__"},
		{"member is_public ignored", call{method: "GET", path: "/v3/p2/types?is_public=false", token: tokenP2, header: memberP2}, "priv,pub,__DEFAULT__"},
		{"member without access", call{method: "GET", path: "/v3/p3/types", token: tokenP3, header: memberP2}, "pub,__DEFAULT__"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.c); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	marker := typeID(t, e, "priv")
	if got := names(call{method: "GET", path: p + "/types?is_public=none&sort=name:asc&marker=" + marker}); got != "priv2,pub" {
		t.Errorf("after marker: %s", got)
	}
	wantStatus(t, e.do(call{method: "GET", path: p + "/types?is_public=maybe"}), 400)
	wantStatus(t, e.do(call{method: "GET", path: p + "/types?limit=x"}), 400)
	wantStatus(t, e.do(call{method: "GET", path: p + "/types?sort=bogus"}), 400)
}

// typeID finds a type by name through the store.
func typeID(t *testing.T, e *env, name string) string {
	t.Helper()
	vt, err := e.store.GetVolumeTypeByName(t.Context(), name)
	if err != nil {
		t.Fatalf("type %s: %v", name, err)
	}
	return vt.ID
}

func TestPrivateTypeAccess(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject
	wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "secret", "os-volume-type-access:is_public": false}}`}), 200)
	wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "open"}}`}), 200)
	id, open := typeID(t, e, "secret"), typeID(t, e, "open")
	act := p + "/types/" + id + "/action"
	runSteps(t, e, []step{
		{name: "p2 cannot see", c: call{method: "GET", path: "/v3/p2/types/" + id, token: tokenP2, header: memberP2}, status: 404, fault: "Volume type " + id + " could not be found."},
		{name: "p2 cannot create by name", c: call{method: "POST", path: "/v3/p2/volumes", token: tokenP2, header: memberP2, body: `{"volume": {"size": 1, "volume_type": "secret"}}`}, status: 404, fault: "Volume type with name secret could not be found."},
		{name: "p2 cannot create by id", c: call{method: "POST", path: "/v3/p2/volumes", token: tokenP2, header: memberP2, body: `{"volume": {"size": 1, "volume_type": "` + id + `"}}`}, status: 404},
		{name: "access list empty", c: call{method: "GET", path: p + "/types/" + id + "/os-volume-type-access"}, status: 200},
		{name: "member add", c: call{method: "POST", path: "/v3/p2/types/" + id + "/action", token: tokenP2, header: memberP2, body: `{"addProjectAccess": {"project": "p2"}}`}, status: 403},
		{name: "add", c: call{method: "POST", path: act, body: `{"addProjectAccess": {"project": "p2"}}`}, status: 202},
		{name: "add again", c: call{method: "POST", path: act, body: `{"addProjectAccess": {"project": "p2"}}`}, status: 409, fault: "combination already exists."},
		{name: "add to public", c: call{method: "POST", path: p + "/types/" + open + "/action", body: `{"addProjectAccess": {"project": "p2"}}`}, status: 400, fault: "Type access modification is not applicable to public volume type."},
		{name: "add unknown type", c: call{method: "POST", path: p + "/types/00000000-0000-0000-0000-000000000000/action", body: `{"addProjectAccess": {"project": "p2"}}`}, status: 404},
		{name: "add without project", c: call{method: "POST", path: act, body: `{"addProjectAccess": {}}`}, status: 400},
		{name: "unknown action", c: call{method: "POST", path: act, body: `{"frobnicate": {}}`}, status: 400, fault: "There is no such action: frobnicate"},
		{name: "access list", c: call{method: "GET", path: p + "/types/" + id + "/os-volume-type-access"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "volume_type_access", 0, "project_id") != "p2" || str(t, o, "volume_type_access", 0, "volume_type_id") != id {
				t.Errorf("access list %s", wire.PyRepr(o))
			}
		}},
		{name: "access list public", c: call{method: "GET", path: p + "/types/" + open + "/os-volume-type-access"}, status: 404, fault: "Access list not available for public volume types."},
		{name: "access list member", c: call{method: "GET", path: "/v3/p2/types/" + id + "/os-volume-type-access", token: tokenP2, header: memberP2}, status: 403},
		{name: "p2 sees", c: call{method: "GET", path: "/v3/p2/types/" + id, token: tokenP2, header: memberP2}, status: 200},
		{name: "p2 creates", c: call{method: "POST", path: "/v3/p2/volumes", token: tokenP2, header: memberP2, body: `{"volume": {"size": 1, "volume_type": "secret"}}`}, status: 202},
		{name: "remove", c: call{method: "POST", path: act, body: `{"removeProjectAccess": {"project": "p2"}}`}, status: 202},
		{name: "remove again", c: call{method: "POST", path: act, body: `{"removeProjectAccess": {"project": "p2"}}`}, status: 404, fault: "Volume type access not found for"},
		{name: "p2 cannot see again", c: call{method: "GET", path: "/v3/p2/types/" + id + "/extra_specs", token: tokenP2, header: memberP2}, status: 404},
	})
}

func TestExtraSpecs(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject
	wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "t"}}`}), 200)
	id := typeID(t, e, "t")
	es := p + "/types/" + id + "/extra_specs"
	runSteps(t, e, []step{
		{name: "set", c: call{method: "POST", path: es, body: `{"extra_specs": {"volume_backend_name": "b1", "multiattach": "<is> True"}}`}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "set answer", keysOf(t, member(t, o, "extra_specs")), []string{"multiattach", "volume_backend_name"})
		}},
		{name: "set missing body key", c: call{method: "POST", path: es, body: `{"specs": {}}`}, status: 400},
		{name: "set space in key", c: call{method: "POST", path: es, body: `{"extra_specs": {"a b": "1"}}`}, status: 400},
		{name: "set long value", c: call{method: "POST", path: es, body: `{"extra_specs": {"a": "` + strings.Repeat("x", 256) + `"}}`}, status: 400, fault: "is too long"},
		{name: "cacheable with multiattach", c: call{method: "POST", path: es, body: `{"extra_specs": {"cacheable": "<is> True"}}`}, status: 400, fault: "cacheable cannot be set with multiattach."},
		{name: "member set", c: call{method: "POST", path: "/v3/p2/types/" + id + "/extra_specs", token: tokenP2, header: memberP2, body: `{"extra_specs": {"a": "1"}}`}, status: 403},
		{name: "unknown type", c: call{method: "POST", path: p + "/types/00000000-0000-0000-0000-000000000000/extra_specs", body: `{"extra_specs": {"a": "1"}}`}, status: 404},
		{name: "list", c: call{method: "GET", path: es}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "list", keysOf(t, member(t, o, "extra_specs")), []string{"multiattach", "volume_backend_name"})
		}},
		{name: "member list", c: call{method: "GET", path: "/v3/p2/types/" + id + "/extra_specs", token: tokenP2, header: memberP2}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "member list", keysOf(t, member(t, o, "extra_specs")), []string{"multiattach"})
		}},
		{name: "show", c: call{method: "GET", path: es + "/volume_backend_name"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "volume_backend_name") != "b1" {
				t.Errorf("show %s", wire.PyRepr(o))
			}
		}},
		{name: "member show sensitive", c: call{method: "GET", path: "/v3/p2/types/" + id + "/extra_specs/volume_backend_name", token: tokenP2, header: memberP2}, status: 404},
		{name: "show missing", c: call{method: "GET", path: es + "/nope"}, status: 404, fault: "has no extra specs with key nope."},
		{name: "update", c: call{method: "PUT", path: es + "/volume_backend_name", body: `{"volume_backend_name": "b2"}`}, status: 200},
		{name: "update mismatch", c: call{method: "PUT", path: es + "/volume_backend_name", body: `{"other": "b2"}`}, status: 400, fault: "Request body and URI mismatch"},
		{name: "update two keys", c: call{method: "PUT", path: es + "/a", body: `{"a": "1", "b": "2"}`}, status: 400, fault: "has too many properties"},
		{name: "update empty", c: call{method: "PUT", path: es + "/a", body: `{}`}, status: 400, fault: "does not have enough properties"},
		{name: "member update", c: call{method: "PUT", path: "/v3/p2/types/" + id + "/extra_specs/a", token: tokenP2, header: memberP2, body: `{"a": "1"}`}, status: 403},
		{name: "delete", c: call{method: "DELETE", path: es + "/volume_backend_name"}, status: 202},
		{name: "delete missing", c: call{method: "DELETE", path: es + "/volume_backend_name"}, status: 404},
		{name: "member delete", c: call{method: "DELETE", path: "/v3/p2/types/" + id + "/extra_specs/multiattach", token: tokenP2, header: memberP2}, status: 403},
	})
	got, err := e.store.GetVolumeType(t.Context(), id)
	if err != nil || len(got.ExtraSpecs) != 1 || got.ExtraSpecs["multiattach"] != "<is> True" {
		t.Errorf("stored specs %v, %v", got, err)
	}
}

func TestDefaultTypes(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject
	const mv = "volume 3.62"
	wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "pdef"}}`}), 200)
	id := typeID(t, e, "pdef")
	runSteps(t, e, []step{
		{name: "before 3.62", c: call{method: "GET", path: p + "/default-types", version: "volume 3.61"}, status: 404, fault: "API version 3.61 is not supported on this method."},
		{name: "get unset", c: call{method: "GET", path: p + "/default-types/p2", version: mv}, status: 404, fault: "Default type for project p2 not found."},
		{name: "set by name", c: call{method: "PUT", path: p + "/default-types/p2", version: mv, body: `{"default_type": {"volume_type": "pdef"}}`}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "default_type", "project_id") != "p2" || str(t, o, "default_type", "volume_type_id") != id {
				t.Errorf("set answer %s", wire.PyRepr(o))
			}
		}},
		{name: "set unknown type", c: call{method: "PUT", path: p + "/default-types/p2", version: mv, body: `{"default_type": {"volume_type": "nope"}}`}, status: 400, fault: "Volume type with name nope could not be found."},
		{name: "set bad body", c: call{method: "PUT", path: p + "/default-types/p2", version: mv, body: `{"default_type": {}}`}, status: 400},
		{name: "member set", c: call{method: "PUT", path: "/v3/p2/default-types/p2", token: tokenP2, header: memberP2, version: mv, body: `{"default_type": {"volume_type": "pdef"}}`}, status: 403},
		{name: "member list", c: call{method: "GET", path: "/v3/p2/default-types", token: tokenP2, header: memberP2, version: mv}, status: 403},
		{name: "get", c: call{method: "GET", path: p + "/default-types/p2", version: mv}, status: 200},
		{name: "list", c: call{method: "GET", path: p + "/default-types", version: mv}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if n := len(member(t, o, "default_types").([]any)); n != 1 {
				t.Errorf("list %s", wire.PyRepr(o))
			}
		}},
		{name: "type in use as default", c: call{method: "DELETE", path: p + "/types/" + id}, status: 400, fault: "is a default volume type and cannot be deleted."},
		{name: "p2 default shows", c: call{method: "GET", path: "/v3/p2/types/default", token: tokenP2, header: memberP2}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "volume_type", "name") != "pdef" {
				t.Errorf("p2 default %s", wire.PyRepr(o))
			}
		}},
	})
	v := e.createVolume(`{"volume": {"size": 1}}`, tokenP2)
	if got := e.volume(v).VolumeTypeName; got != "pdef" {
		t.Errorf("p2's volume has type %s, want its default pdef", got)
	}
	if got := e.volume(e.createVolume(`{"volume": {"size": 1}}`, "")).VolumeTypeName; got != "__DEFAULT__" {
		t.Errorf("p1's volume has type %s, want __DEFAULT__", got)
	}
	runSteps(t, e, []step{
		{name: "unset", c: call{method: "DELETE", path: p + "/default-types/p2", version: mv}, status: 204},
		{name: "unset again", c: call{method: "DELETE", path: p + "/default-types/p2", version: mv}, status: 204},
		{name: "gone", c: call{method: "GET", path: p + "/default-types/p2", version: mv}, status: 404},
	})
	if got := e.volume(e.createVolume(`{"volume": {"size": 1}}`, tokenP2)).VolumeTypeName; got != "__DEFAULT__" {
		t.Errorf("after unset p2's volume has type %s", got)
	}
}

func TestDefaultVolumeTypeOption(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DefaultVolumeType = "conf-default" })
	e.addVolumeType("11111111-2222-3333-4444-555555555555", "conf-default")
	if got := e.volume(e.createVolume(`{"volume": {"size": 1}}`, "")).VolumeTypeName; got != "conf-default" {
		t.Errorf("volume type %s, want conf-default", got)
	}
	wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/types/11111111-2222-3333-4444-555555555555"}), 400, "badRequest",
		"The volume type 11111111-2222-3333-4444-555555555555 is a default volume type and cannot be deleted.")
}

func TestQoSSpecs(t *testing.T) {
	e := newEnv(t)
	p := "/v3/" + testProject
	wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "t"}}`}), 200)
	wantStatus(t, e.do(call{method: "POST", path: p + "/types", body: `{"volume_type": {"name": "t2"}}`}), 200)
	tid, t2 := typeID(t, e, "t"), typeID(t, e, "t2")
	var id, other string
	runSteps(t, e, []step{
		{name: "create", c: call{method: "POST", path: p + "/qos-specs", body: `{"qos_specs": {"name": "q1", "consumer": "front-end", "total_iops_sec": "100"}}`}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "qos_specs", "consumer") != "front-end" || str(t, o, "qos_specs", "specs", "total_iops_sec") != "100" {
				t.Errorf("create %s", wire.PyRepr(o))
			}
			if _, ok := member(t, o, "links").([]any); !ok {
				t.Errorf("no links: %s", wire.PyRepr(o))
			}
		}, capture: func(o *wire.Object) { id = str(t, o, "qos_specs", "id") }},
		{name: "create default consumer", c: call{method: "POST", path: p + "/qos-specs", body: `{"qos_specs": {"name": "q2"}}`}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "qos_specs", "consumer") != "back-end" {
				t.Errorf("consumer %s", wire.PyRepr(o))
			}
		}, capture: func(o *wire.Object) { other = str(t, o, "qos_specs", "id") }},
		{name: "create duplicate", c: call{method: "POST", path: p + "/qos-specs", body: `{"qos_specs": {"name": "q1"}}`}, status: 409, fault: "QoS Specs q1 already exists."},
		{name: "create bad consumer", c: call{method: "POST", path: p + "/qos-specs", body: `{"qos_specs": {"name": "q3", "consumer": "middle"}}`}, status: 400, fault: "Valid consumer of QoS specs are"},
		{name: "create no name", c: call{method: "POST", path: p + "/qos-specs", body: `{"qos_specs": {}}`}, status: 400},
		{name: "create blank name", c: call{method: "POST", path: p + "/qos-specs", body: `{"qos_specs": {"name": "  "}}`}, status: 400},
		{name: "member create", c: call{method: "POST", path: "/v3/p2/qos-specs", token: tokenP2, header: memberP2, body: `{"qos_specs": {"name": "q9"}}`}, status: 403},
		{name: "member list", c: call{method: "GET", path: "/v3/p2/qos-specs", token: tokenP2, header: memberP2}, status: 403},
	})
	runSteps(t, e, []step{
		{name: "list", c: call{method: "GET", path: p + "/qos-specs"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if n := len(member(t, o, "qos_specs").([]any)); n != 2 {
				t.Errorf("list %s", wire.PyRepr(o))
			}
		}},
		{name: "show unknown", c: call{method: "GET", path: p + "/qos-specs/nope"}, status: 404, fault: "No such QoS spec nope."},
		{name: "update", c: call{method: "PUT", path: p + "/qos-specs/" + id, body: `{"qos_specs": {"read_iops_sec": "50", "consumer": "both"}}`}, status: 200},
		{name: "update bad consumer", c: call{method: "PUT", path: p + "/qos-specs/" + id, body: `{"qos_specs": {"consumer": "x"}}`}, status: 400},
		{name: "update unknown", c: call{method: "PUT", path: p + "/qos-specs/nope", body: `{"qos_specs": {"a": "1"}}`}, status: 404},
		{name: "show", c: call{method: "GET", path: p + "/qos-specs/" + id}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "qos_specs", "consumer") != "both" || str(t, o, "qos_specs", "specs", "read_iops_sec") != "50" {
				t.Errorf("show %s", wire.PyRepr(o))
			}
		}},
		{name: "delete keys", c: call{method: "PUT", path: p + "/qos-specs/" + id + "/delete_keys", body: `{"keys": ["read_iops_sec"]}`}, status: 202},
		{name: "delete missing key", c: call{method: "PUT", path: p + "/qos-specs/" + id + "/delete_keys", body: `{"keys": ["read_iops_sec"]}`}, status: 400, fault: "has no spec with key read_iops_sec."},
		{name: "delete keys bad body", c: call{method: "PUT", path: p + "/qos-specs/" + id + "/delete_keys", body: `{"keys": "x"}`}, status: 400},
		{name: "associate without type", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associate"}, status: 400, fault: "Volume Type id must not be None."},
		{name: "associate unknown type", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associate?vol_type_id=nope"}, status: 404, fault: "Volume type nope could not be found."},
		{name: "associate", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associate?vol_type_id=" + tid}, status: 202},
		{name: "associate again", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associate?vol_type_id=" + tid}, status: 202},
		{name: "associate t2", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associate?vol_type_id=" + t2}, status: 202},
		{name: "associate other", c: call{method: "GET", path: p + "/qos-specs/" + other + "/associate?vol_type_id=" + tid}, status: 400, fault: "is already associated with another qos specs: " + id},
		{name: "associations", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associations"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "qos_associations", 0, "association_type") != "volume_type" || str(t, o, "qos_associations", 0, "id") != tid {
				t.Errorf("associations %s", wire.PyRepr(o))
			}
		}},
		{name: "type shows qos", c: call{method: "GET", path: p + "/types/" + tid}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if str(t, o, "volume_type", "qos_specs_id") != id {
				t.Errorf("type %s", wire.PyRepr(o))
			}
		}},
		{name: "delete in use", c: call{method: "DELETE", path: p + "/qos-specs/" + id}, status: 400, fault: "Qos specs still in use."},
		{name: "disassociate", c: call{method: "GET", path: p + "/qos-specs/" + id + "/disassociate?vol_type_id=" + t2}, status: 202},
		{name: "disassociate without type", c: call{method: "GET", path: p + "/qos-specs/" + id + "/disassociate"}, status: 400},
		{name: "member associate", c: call{method: "GET", path: "/v3/p2/qos-specs/" + id + "/associate?vol_type_id=" + t2, token: tokenP2, header: memberP2}, status: 403},
	})
	q, err := e.store.GetVolumeTypeQoSSpecs(t.Context(), tid)
	if err != nil || q == nil || q.ID != id || !q.FrontEnd() {
		t.Fatalf("type's qos specs %+v, %v", q, err)
	}
	if q, err := e.store.GetVolumeTypeQoSSpecs(t.Context(), t2); err != nil || q != nil {
		t.Fatalf("t2's qos specs %+v, %v", q, err)
	}
	runSteps(t, e, []step{
		{name: "disassociate all", c: call{method: "GET", path: p + "/qos-specs/" + id + "/disassociate_all"}, status: 202},
		{name: "associate again", c: call{method: "GET", path: p + "/qos-specs/" + id + "/associate?vol_type_id=" + tid}, status: 202},
		{name: "force delete", c: call{method: "DELETE", path: p + "/qos-specs/" + id + "?force=True"}, status: 202},
		{name: "gone", c: call{method: "GET", path: p + "/qos-specs/" + id}, status: 404},
		{name: "type without qos", c: call{method: "GET", path: p + "/types/" + tid}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if member(t, o, "volume_type", "qos_specs_id") != nil {
				t.Errorf("type %s", wire.PyRepr(o))
			}
		}},
		{name: "delete unknown", c: call{method: "DELETE", path: p + "/qos-specs/" + id}, status: 404},
	})
}

func TestExtensions(t *testing.T) {
	e := newEnv(t)
	rec := e.do(call{method: "GET", path: "/v3/p2/extensions", token: tokenP2, header: memberP2})
	wantStatus(t, rec, http.StatusOK)
	names := map[string]bool{}
	for _, x := range member(t, obj(t, rec), "extensions").([]any) {
		sameKeys(t, "extension", keysOf(t, x), []string{"alias", "description", "links", "name", "namespace", "updated"})
		names[str(t, x, "name")] = true
	}
	for _, want := range []string{"AvailabilityZones", "Services", "TypesManage", "TypesExtraSpecs", "VolumeTypeAccess", "Qos_specs_manage", "Scheduler_stats", "Capabilities", "VolumeTypeEncryption"} {
		if !names[want] {
			t.Errorf("extension %s missing from %v", want, names)
		}
	}
}
