package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

func (e *env) cgCall(method, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(call{method: method, path: "/v3/p1" + path, body: body, header: asMember})
}

// createCG creates a consistency group through the API and returns its id.
func (e *env) createCG(body string) string {
	e.t.Helper()
	rec := e.cgCall("POST", "/consistencygroups", body)
	wantStatus(e.t, rec, http.StatusAccepted)
	return str(e.t, obj(e.t, rec), "consistencygroup", "id")
}

// cgCast is the one message dispatched since before: method to server ("" the scheduler).
func cgCast(t *testing.T, e *env, before int, method, server string) rpcapi.GroupArgs {
	t.Helper()
	msgs := e.disp.got()[before:]
	if len(msgs) != 1 || msgs[0].Method != method || msgs[0].Server != server {
		t.Fatalf("dispatched %+v, want one %s to %q", msgs, method, server)
	}
	var args rpcapi.GroupArgs
	if err := json.Unmarshal(msgs[0].Args, &args); err != nil {
		t.Fatal(err)
	}
	return args
}

// TestCGCreateShowList: a CG is a group of default_cgsnapshot_type, made with the scheduler's
// create_group cast, shown in Cinder's CG views, and refused by the generic group API.
func TestCGCreateShowList(t *testing.T) {
	e := newEnv(t)
	missing := uuid.NewString()
	for _, c := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no body", ``, 400, ""},
		{"not an object", `[]`, 400, ""},
		{"no consistencygroup", `{"group": {}}`, 400, "'consistencygroup' is a required property"},
		{"consistencygroup not an object", `{"consistencygroup": "x"}`, 400, "is not of type 'object'"},
		{"no volume_types", `{"consistencygroup": {"name": "cg"}}`, 400, "volume_types must be provided to create consistency group cg."},
		{"empty volume_types", `{"consistencygroup": {"volume_types": ""}}`, 400, "volume_types must be provided to create consistency group None."},
		{"volume_types a list", `{"consistencygroup": {"volume_types": ["__DEFAULT__"]}}`, 400, "volume_types must be provided"},
		{"name too long", `{"consistencygroup": {"volume_types": "__DEFAULT__", "name": "` + strings.Repeat("n", 256) + `"}}`, 400, "is too long"},
		{"name a number", `{"consistencygroup": {"volume_types": "__DEFAULT__", "name": 5}}`, 400, "is not of type"},
		{"availability_zone a number", `{"consistencygroup": {"volume_types": "__DEFAULT__", "availability_zone": 5}}`, 400, "is not of type 'string'"},
		{"unknown zone", `{"consistencygroup": {"volume_types": "__DEFAULT__", "availability_zone": "mars"}}`, 400, "Availability zone 'mars' is invalid."},
		{"unknown volume type", `{"consistencygroup": {"volume_types": "nope"}}`, 404, "Volume type with name nope could not be found."},
		{"unknown volume type id", `{"consistencygroup": {"volume_types": "` + missing + `"}}`, 404, "Volume type " + missing + " could not be found."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.cgCall("POST", "/consistencygroups", c.body)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
		})
	}

	before := len(e.disp.got())
	rec := e.cgCall("POST", "/consistencygroups", `{"consistencygroup": {"name": " cg1 ", "description": "d", "volume_types": "__DEFAULT__,", "availability_zone": "nova", "extra": 1}}`)
	wantStatus(t, rec, http.StatusAccepted)
	body := obj(t, rec)
	sameKeys(t, "create", keysOf(t, member(t, body, "consistencygroup")), []string{"id", "name"})
	id := str(t, body, "consistencygroup", "id")
	args := cgCast(t, e, before, rpcapi.CreateGroup, "")
	g := e.group(id)
	if args.GroupID != id || g.GroupTypeID != db.DefaultCGSnapshotTypeID || g.Name != "cg1" || len(g.VolumeTypeIDs) != 1 || g.VolumeTypeIDs[0] != db.DefaultVolumeTypeID {
		t.Fatalf("create_group %+v, group %+v", args, g)
	}

	rec = e.cgCall("GET", "/consistencygroups/"+id, "")
	wantStatus(t, rec, http.StatusOK)
	body = obj(t, rec)
	sameKeys(t, "show", keysOf(t, member(t, body, "consistencygroup")),
		[]string{"id", "status", "availability_zone", "created_at", "name", "description", "volume_types"})
	if got := str(t, body, "consistencygroup", "volume_types", 0); got != db.DefaultVolumeTypeID {
		t.Errorf("volume_types[0] %q", got)
	}
	// The generic group API refuses it (Cinder's rule); the CG API lists plain groups too.
	wantFault(t, e.do(call{method: "GET", path: "/v3/p1/groups/" + id, version: mv313}), http.StatusBadRequest, "badRequest",
		"Group_type "+db.DefaultCGSnapshotTypeID+" is reserved for migrating CGs to groups. Migrated group can only be operated by CG APIs.")
	e.addGroupType("gt1", nil)
	plain := e.createGroup(`{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
	for _, path := range []string{"/consistencygroups", "/consistencygroups/detail", "/consistencygroups?limit=1"} {
		rec = e.cgCall("GET", path, "")
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		list := member(t, body, "consistencygroups").([]any)
		ids := map[string]bool{}
		for i := range list {
			ids[str(t, body, "consistencygroups", i, "id")] = true
		}
		want := 2
		if strings.Contains(path, "limit=1") {
			want = 1
			if !strings.Contains(rec.Body.String(), `"consistencygroup_links"`) {
				t.Errorf("%s: no consistencygroup_links in %s", path, rec.Body)
			}
		} else if !ids[id] || !ids[plain] {
			t.Errorf("%s: %s, want %s and %s", path, rec.Body, id, plain)
		}
		if len(list) != want {
			t.Errorf("%s: %d items, want %d", path, len(list), want)
		}
	}
	// A volume made into it with consistencygroup_id (Cinder's volume create: the group).
	rec = e.cgCall("POST", "/volumes", `{"volume": {"size": 1, "consistencygroup_id": "`+id+`"}}`)
	wantStatus(t, rec, http.StatusAccepted)
	if v := e.volume(str(t, obj(t, rec), "volume", "id")); v.GroupID != id {
		t.Errorf("volume made with consistencygroup_id is in group %q, want %s", v.GroupID, id)
	}
	rec = e.cgCall("POST", "/volumes", `{"volume": {"size": 1, "consistencygroup_id": "`+missing+`"}}`)
	wantFault(t, rec, http.StatusNotFound, "itemNotFound", "Group "+missing+" could not be found.")
	wantStatus(t, e.cgCall("GET", "/consistencygroups?sort=nope", ""), http.StatusBadRequest)
	rec = e.cgCall("GET", "/consistencygroups/"+missing, "")
	wantFault(t, rec, http.StatusNotFound, "itemNotFound", "Group "+missing+" could not be found.")
}

// TestCGUpdateDelete: the groups' update and delete under the CG bodies.
func TestCGUpdateDelete(t *testing.T) {
	e := newEnv(t)
	id := e.createCG(`{"consistencygroup": {"name": "cg1", "volume_types": "__DEFAULT__"}}`)
	e.placeGroup(id, resource.GroupStatusAvailable)
	in := e.memberVolume(id)
	free := e.memberVolume("")
	put := func(gid, body string) *httptest.ResponseRecorder {
		return e.cgCall("PUT", "/consistencygroups/"+gid+"/update", body)
	}
	missing := uuid.NewString()
	for _, c := range []struct {
		name, id, body string
		status         int
		msg            string
	}{
		{"no consistencygroup", id, `{}`, 400, "'consistencygroup' is a required property"},
		{"all empty", id, `{"consistencygroup": {"name": "", "add_volumes": null}}`, 400, "Name, description, add_volumes, and remove_volumes can not be all empty in the request body."},
		{"add_volumes a list", id, `{"consistencygroup": {"add_volumes": ["` + free + `"]}}`, 400, "is not of type 'string'"},
		{"same name only", id, `{"consistencygroup": {"name": "cg1"}}`, 400, "because no valid name, description, add_volumes, or remove_volumes were provided."},
		{"add and remove one volume", id, `{"consistencygroup": {"add_volumes": "` + free + `", "remove_volumes": "` + free + `"}}`, 400, "are in both add and remove volume list"},
		{"remove a volume not in it", id, `{"consistencygroup": {"remove_volumes": "` + free + `"}}`, 400, "because it is not in the group."},
		{"missing group", missing, `{"consistencygroup": {"name": "x"}}`, 404, "Group " + missing + " could not be found."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := put(c.id, c.body)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
			if g := e.group(id); g.Status != resource.GroupStatusAvailable || g.Name != "cg1" {
				t.Errorf("a refused update changed the group: %+v", g)
			}
		})
	}
	wantStatus(t, put(id, `{"consistencygroup": {"name": "cg2"}}`), http.StatusAccepted)
	if g := e.group(id); g.Name != "cg2" {
		t.Errorf("name %q, want cg2", g.Name)
	}
	// PUT on the member is the same update (python-cinderclient's consisgroup-update).
	wantStatus(t, e.cgCall("PUT", "/consistencygroups/"+id, `{"consistencygroup": {"name": "cg3"}}`), http.StatusAccepted)
	wantStatus(t, e.cgCall("PUT", "/consistencygroups/"+id, `{"consistencygroup": {}}`), http.StatusBadRequest)
	if g := e.group(id); g.Name != "cg3" {
		t.Errorf("name %q, want cg3", g.Name)
	}
	before := len(e.disp.got())
	wantStatus(t, put(id, `{"consistencygroup": {"add_volumes": "`+free+`"}}`), http.StatusAccepted)
	var up rpcapi.UpdateGroupArgs
	e.lastMessage(before, rpcapi.UpdateGroup, &up)
	if len(up.AddVolumes) != 1 || up.AddVolumes[0] != free {
		t.Errorf("update_group %+v", up)
	}
	if err := e.store.ResetGroupStatus(context.Background(), id, resource.GroupStatusAvailable); err != nil {
		t.Fatal(err)
	}

	del := func(gid, body string) *httptest.ResponseRecorder {
		return e.cgCall("POST", "/consistencygroups/"+gid+"/delete", body)
	}
	for _, c := range []struct {
		name, id, body string
		status         int
		msg            string
	}{
		{"force not a boolean", id, `{"consistencygroup": {"force": "maybe"}}`, 400, "is not valid under any of the given schemas"},
		{"other member", id, `{"x": 1}`, 400, "is not valid under any of the given schemas"},
		{"a list", id, `[]`, 400, "is not valid under any of the given schemas"},
		{"with volumes, no force", id, `{"consistencygroup": {"force": false}}`, 400, "Invalid Group: Group " + id + " still contains volumes. The delete-volumes flag is required to delete it."},
		{"with volumes, empty body", id, `{}`, 400, "still contains volumes"},
		{"missing group", missing, ``, 404, "Group " + missing + " could not be found."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := del(c.id, c.body)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
			if g := e.group(id); g.Status != resource.GroupStatusAvailable {
				t.Errorf("group is %s after a refused delete", g.Status)
			}
		})
	}
	before = len(e.disp.got())
	wantStatus(t, del(id, `{"consistencygroup": {"force": true}}`), http.StatusAccepted)
	var args rpcapi.GroupArgs
	e.lastMessage(before, rpcapi.DeleteGroup, &args)
	if args.GroupID != id || e.group(id).Status != resource.GroupStatusDeleting || e.volume(in).Status != resource.StatusDeleting {
		t.Errorf("args %+v, group %s, volume %s", args, e.group(id).Status, e.volume(in).Status)
	}
	// An unplaced CG goes at once, without a body (python-cinderclient's force=False sends one).
	unplaced := e.createCG(`{"consistencygroup": {"volume_types": "__DEFAULT__"}}`)
	wantStatus(t, e.cgCall("DELETE", "/consistencygroups/"+unplaced, ""), http.StatusAccepted)
	if _, err := e.store.GetGroup(context.Background(), unplaced); err == nil {
		t.Error("unplaced CG still there")
	}
}

// TestCGCreateFromSource: create_from_src copies a CG or a cgsnapshot with the groups'
// create-from-src, onto the source's backend.
func TestCGCreateFromSource(t *testing.T) {
	e := newEnv(t)
	src := e.groupOf("p1", "node1@file#file", resource.DefaultCGSnapshotTypeName, resource.StatusAvailable)
	empty := e.groupOf("p1", "node1@file#file", resource.DefaultCGSnapshotTypeName)
	missing := uuid.NewString()
	post := func(body string) *httptest.ResponseRecorder {
		return e.cgCall("POST", "/consistencygroups/create_from_src", body)
	}
	for _, c := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no member", `{"consistencygroup": {}}`, 400, "'consistencygroup-from-src' is a required property"},
		{"no source", `{"consistencygroup-from-src": {"name": "x"}}`, 400, "Either 'cgsnapshot_id' or 'source_cgid' must be provided to create consistency group x from source."},
		{"both", fmt.Sprintf(`{"consistencygroup-from-src": {"source_cgid": %q, "cgsnapshot_id": %q}}`, src, missing), 400, "Cannot provide both 'cgsnapshot_id' and 'source_cgid' to create consistency group None from source."},
		{"source_cgid a number", `{"consistencygroup-from-src": {"source_cgid": 5}}`, 400, "is not of type 'string'"},
		{"missing source", fmt.Sprintf(`{"consistencygroup-from-src": {"source_cgid": %q}}`, missing), 404, "Group " + missing + " could not be found."},
		{"missing cgsnapshot", fmt.Sprintf(`{"consistencygroup-from-src": {"cgsnapshot_id": %q}}`, missing), 404, "GroupSnapshot " + missing + " could not be found."},
		{"empty source", fmt.Sprintf(`{"consistencygroup-from-src": {"source_cgid": %q}}`, empty), 400, "Invalid Group: Source Group is empty. No group will be created."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := post(c.body)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
		})
	}
	total := 100.0 // the copies claim capacity on the source's pool
	if err := e.store.UpsertPool(context.Background(), resource.PoolCapacity{Name: "node1@file#file", Backend: "node1@file",
		TotalGB: &total, Ratio: 1, ReportedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	before := len(e.disp.got())
	rec := post(fmt.Sprintf(`{"consistencygroup-from-src": {"name": "copy", "source_cgid": %q, "cgsnapshot_id": null, "description": null}}`, src))
	wantStatus(t, rec, http.StatusAccepted)
	body := obj(t, rec)
	sameKeys(t, "create_from_src", keysOf(t, member(t, body, "consistencygroup")), []string{"id", "name"})
	id := str(t, body, "consistencygroup", "id")
	args := cgCast(t, e, before, rpcapi.CreateGroup, "node1@file")
	g := e.group(id)
	if args.GroupID != id || g.GroupTypeID != db.DefaultCGSnapshotTypeID || g.SourceGroupID != src || g.Host != "node1@file#file" {
		t.Errorf("create_group %+v, group %+v", args, g)
	}
	if vols, _ := e.store.ListGroupVolumes(context.Background(), id); len(vols) != 1 || vols[0].SourceVolID == "" {
		t.Errorf("members %+v, want one clone", vols)
	}
}
