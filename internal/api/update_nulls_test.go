package api

import (
	"net/http"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// TestUpdateSchemasAllowNull sends null for every field Cinder's request schemas
// (cinder/api/schemas/*.py) declare nullable in the bodies Scoria serves: a null is "leave
// it as it is" (or "none"), never a 400 "None is not of type …" (issue 12, item 10). What
// python-cinderclient and openstackclient send: `cinder type-update --description d T`
// and `openstack volume type set --description d T` send "name": null.
func TestUpdateSchemasAllowNull(t *testing.T) {
	e := newEnv(t)
	rec := e.do(call{method: "POST", path: "/v3/p1/types", body: `{"volume_type": {"name": "gold", "description": "fast"}}`})
	wantStatus(t, rec, http.StatusOK)
	typeID := str(t, obj(t, rec), "volume_type", "id")
	vol := e.createVolume(`{"volume": {"size": 1, "name": "v", "description": "vd"}}`, "")
	e.place(vol, snapHost, resource.StatusAvailable)
	snap := e.createSnapshot(vol, `, "name": "s", "description": "sd"`)
	e.snapStatus(snap, resource.SnapshotAvailable)
	rec = e.do(call{method: "POST", path: "/v3/p1/qos-specs", body: `{"qos_specs": {"name": "q", "read_iops_sec": "100"}}`})
	wantStatus(t, rec, http.StatusOK)
	qosID := str(t, obj(t, rec), "qos_specs", "id")

	for _, tc := range []struct {
		name   string
		c      call
		status int
		// check reads the result: path, then a member path and the value it must have.
		show string
		at   []any
		want string
	}{
		{"type: name null, description", call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": null, "description": "d"}}`},
			200, "/v3/p1/types/" + typeID, []any{"volume_type", "name"}, "gold"},
		{"type: name null, is_public", call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": null, "is_public": true}}`},
			200, "/v3/p1/types/" + typeID, []any{"volume_type", "description"}, "d"},
		{"type: description null, name", call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": "silver", "description": null}}`},
			200, "/v3/p1/types/" + typeID, []any{"volume_type", "description"}, "d"},
		{"type: name with spaces around (update_name has no format)", call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": " gold "}}`},
			200, "/v3/p1/types/" + typeID, []any{"volume_type", "name"}, " gold "},
		{"volume: name null", call{method: "PUT", path: "/v3/p1/volumes/" + vol, body: `{"volume": {"name": null, "description": "x"}}`},
			200, "/v3/p1/volumes/" + vol, []any{"volume", "description"}, "x"},
		{"volume: description null", call{method: "PUT", path: "/v3/p1/volumes/" + vol, body: `{"volume": {"description": null}}`},
			200, "", nil, ""},
		{"volume: display_name and display_description null", call{method: "PUT", path: "/v3/p1/volumes/" + vol, body: `{"volume": {"display_name": null, "display_description": null}}`},
			200, "", nil, ""},
		{"snapshot: name null", call{method: "PUT", path: "/v3/p1/snapshots/" + snap, body: `{"snapshot": {"name": null, "description": "y"}}`},
			200, "/v3/p1/snapshots/" + snap, []any{"snapshot", "description"}, "y"},
		{"snapshot: description null", call{method: "PUT", path: "/v3/p1/snapshots/" + snap, body: `{"snapshot": {"description": null}}`},
			200, "", nil, ""},
		{"snapshot: display_name and display_description null", call{method: "PUT", path: "/v3/p1/snapshots/" + snap, body: `{"snapshot": {"display_name": null, "display_description": null}}`},
			200, "", nil, ""},
		{"qos: a key set to null", call{method: "PUT", path: "/v3/p1/qos-specs/" + qosID, body: `{"qos_specs": {"write_iops_sec": null}}`},
			200, "", nil, ""},
		{"reset_status: status null", call{method: "POST", path: "/v3/p1/volumes/" + vol + "/action", body: `{"os-reset_status": {"status": null, "attach_status": "detached"}}`},
			202, "", nil, ""},
		{"transfer: name null", call{method: "POST", path: "/v3/p1/os-volume-transfer", body: `{"transfer": {"volume_id": "` + vol + `", "name": null}}`},
			202, "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.do(tc.c), tc.status)
			if tc.show == "" {
				return
			}
			if got := str(t, obj(t, e.do(call{method: "GET", path: tc.show})), tc.at...); got != tc.want {
				t.Errorf("%v = %q, want %q", tc.at, got, tc.want)
			}
		})
	}
	// Null is "keep it", so a body of nothing but nulls changes nothing and is refused as
	// Cinder refuses it; an empty name is refused by the schema (update_name's minLength).
	wantFault(t, e.do(call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": null}}`}), 400, "badRequest",
		"Specify volume type name, description, is_public or a combination thereof.")
	wantFault(t, e.do(call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": ""}}`}), 400, "badRequest",
		"Invalid input for field/attribute name. Value: . '' is too short")
	wantFault(t, e.do(call{method: "PUT", path: "/v3/p1/types/" + typeID, body: `{"volume_type": {"name": "  "}}`}), 400, "badRequest",
		"Volume type name can not be empty.")
}
