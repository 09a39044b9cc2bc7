package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

const (
	mvGS      = "volume 3.14"
	mvGSReset = "volume 3.19"
	mvGSPages = "volume 3.29"
	mvGSProj  = "volume 3.58"
)

// groupOf inserts, with SQL (the group API is H2's), a group type named typeName, a group of
// project on host of that type, and volumes of it in statuses; it returns the group's id.
func (e *env) groupOf(project, host, typeName string, statuses ...string) string {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	typeID, group := uuid.NewString(), uuid.NewString()
	exec := func(q string, args ...any) {
		if _, err := e.raw.ExecContext(ctx, q, args...); err != nil {
			e.t.Fatal(err)
		}
	}
	if typeName == resource.DefaultCGSnapshotTypeName {
		typeID = db.DefaultCGSnapshotTypeID // seeded by migration 00015
	} else {
		exec("INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)", typeID, typeName+"-"+typeID[:6], now)
	}
	var hostArg any
	if host != "" {
		hostArg = host
	}
	exec("INSERT INTO `groups` (id, project_id, user_id, name, availability_zone, host, group_type_id, status, created_at, deleted) VALUES (?, ?, 'u', 'g', 'nova', ?, ?, 'available', ?, 0)",
		group, project, hostArg, typeID, now)
	for _, st := range statuses {
		v := &resource.Volume{ProjectID: project, UserID: "u", Size: 1, Status: st, AttachStatus: resource.AttachDetached,
			AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID, Host: "node1@file#file", Metadata: map[string]string{}}
		if _, err := e.store.CreateVolume(ctx, v); err != nil {
			e.t.Fatal(err)
		}
		exec("UPDATE volumes SET group_id = ? WHERE id = ?", group, v.ID)
	}
	return group
}

// castsOf returns the messages of method the API cast (through the real outbox relay).
func castsOf(e *env, method string) []resource.OutboxMessage {
	var out []resource.OutboxMessage
	for _, m := range e.disp.got() {
		if m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

func (e *env) gsCall(method, path, version, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(call{method: method, path: "/v3/" + testProject + path, version: version, body: body})
}

func TestGroupSnapshotCreateShowListDelete(t *testing.T) {
	e := newEnv(t)
	group := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable, resource.StatusInUse)

	rec := e.gsCall("POST", "/group_snapshots", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q, "name": " gs1 ", "description": "d"}}`, group))
	wantStatus(t, rec, http.StatusAccepted)
	body := obj(t, rec)
	sameKeys(t, "create", keysOf(t, member(t, body, "group_snapshot")), []string{"id", "name", "group_type_id"})
	id := str(t, body, "group_snapshot", "id")
	if got := str(t, body, "group_snapshot", "name"); got != "gs1" {
		t.Fatalf("name %q, want the stripped gs1", got)
	}

	// The cast went to the group's backend, in the same transaction as the rows.
	msgs := castsOf(e, rpcapi.CreateGroupSnapshot)
	var args rpcapi.GroupSnapshotArgs
	if err := json.Unmarshal(msgs[0].Args, &args); err != nil || args.GroupSnapshotID != id || msgs[0].Server != "node1@file" {
		t.Fatalf("cast %+v (%v)", msgs[0], err)
	}
	members, err := e.store.ListGroupSnapshotMembers(context.Background(), id)
	if err != nil || len(members) != 2 {
		t.Fatalf("members %v, %v", members, err)
	}

	// Show and the detail list: the detailed view; the summary list: id and name.
	rec = e.gsCall("GET", "/group_snapshots/"+id, mvGS, "")
	wantStatus(t, rec, http.StatusOK)
	sameKeys(t, "show", keysOf(t, member(t, obj(t, rec), "group_snapshot")),
		[]string{"id", "group_id", "group_type_id", "status", "created_at", "name", "description"})
	rec = e.gsCall("GET", "/group_snapshots/"+id, mvGSProj, "")
	if got := str(t, obj(t, rec), "group_snapshot", "project_id"); got != testProject {
		t.Fatalf("project_id at 3.58: %q", got)
	}
	rec = e.gsCall("GET", "/group_snapshots", mvGS, "")
	wantStatus(t, rec, http.StatusOK)
	sameKeys(t, "summary", keysOf(t, member(t, obj(t, rec), "group_snapshots", 0)), []string{"id", "name"})
	rec = e.gsCall("GET", "/group_snapshots/detail", mvGS, "")
	if got := str(t, obj(t, rec), "group_snapshots", 0, "status"); got != "creating" {
		t.Fatalf("detail status %q", got)
	}

	// The member snapshots show their group snapshot from 3.14, and cannot be deleted alone.
	rec = e.gsCall("GET", "/snapshots/"+members[0].ID, mvGS, "")
	if got := str(t, obj(t, rec), "snapshot", "group_snapshot_id"); got != id {
		t.Fatalf("member's group_snapshot_id %q, want %s", got, id)
	}
	if err := e.store.FinishGroupSnapshot(context.Background(), id, nil, nil); err != nil {
		t.Fatal(err)
	}
	rec = e.gsCall("DELETE", "/snapshots/"+members[0].ID, "", "")
	wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid snapshot: Snapshot status must be available or error and must not be part of a group.")

	// Delete: the group snapshot and its members to deleting, with the cast.
	rec = e.gsCall("DELETE", "/group_snapshots/"+id, mvGS, "")
	wantStatus(t, rec, http.StatusAccepted)
	if n := len(castsOf(e, rpcapi.DeleteGroupSnapshot)); n != 1 {
		t.Fatalf("%d delete_group_snapshot casts, want 1", n)
	}
	gs, _ := e.store.GetGroupSnapshot(context.Background(), id)
	sn, _ := e.store.GetSnapshot(context.Background(), members[1].ID)
	if gs.Status != "deleting" || sn.Status != "deleting" {
		t.Fatalf("after delete: %s, member %s", gs.Status, sn.Status)
	}
	rec = e.gsCall("DELETE", "/group_snapshots/"+id, mvGS, "")
	wantFault(t, rec, http.StatusBadRequest, "badRequest",
		"Invalid group snapshot: GroupSnapshot status must be available or error, and no Group can be currently using it as source for its creation.")
}

func TestGroupSnapshotCreateRefused(t *testing.T) {
	e := newEnv(t)
	ok := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable)
	errVol := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable, resource.StatusError)
	maint := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusMaintenance)
	unplaced := e.groupOf(testProject, "", "gt")
	cg := e.groupOf(testProject, "node1@file#file", resource.DefaultCGSnapshotTypeName, resource.StatusAvailable)
	cgType, _ := e.store.GetGroup(context.Background(), cg)
	other := e.groupOf("p2", "node1@file#file", "gt", resource.StatusAvailable)
	missing := uuid.NewString()

	tests := []struct {
		name, version, body string
		status              int
		fault, message      string
	}{
		{"below 3.14", "volume 3.13", fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, ok), 404, "itemNotFound", "The resource could not be found."},
		{"no body", mvGS, ``, 400, "badRequest", "None is not of type 'object'"},
		{"not an object", mvGS, `[]`, 400, "badRequest", "[] is not of type 'object'"},
		{"no group_snapshot", mvGS, `{}`, 400, "badRequest", "'group_snapshot' is a required property"},
		{"no group_id", mvGS, `{"group_snapshot": {"name": "x"}}`, 400, "badRequest",
			"Invalid input for field/attribute group_snapshot. Value: {'name': 'x'}. 'group_id' is a required property"},
		{"group_id not a uuid", mvGS, `{"group_snapshot": {"group_id": "abc"}}`, 400, "badRequest",
			"Invalid input for field/attribute group_id. Value: abc. 'abc' is not a 'uuid'"},
		{"group_id a number", mvGS, `{"group_snapshot": {"group_id": 1}}`, 400, "badRequest",
			"Invalid input for field/attribute group_id. Value: 1. 1 is not of type 'string'"},
		{"name too long", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q, "name": %q}}`, ok, strings.Repeat("n", 256)), 400, "badRequest", ""},
		{"extra key", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q, "force": true}}`, ok), 400, "badRequest", ""},
		{"missing group", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, missing), 404, "itemNotFound", "Group " + missing + " could not be found."},
		{"another project's group", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, other), 404, "itemNotFound", "Group " + other + " could not be found."},
		{"volume in error", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, errVol), 400, "badRequest",
			"Invalid volume: The snapshot cannot be created when the volume is in error status."},
		{"volume in maintenance", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, maint), 400, "badRequest",
			"Invalid volume: The snapshot cannot be created when the volume is in maintenance mode."},
		{"group not placed", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, unplaced), 400, "badRequest",
			"Invalid group: Group " + unplaced + " has not been placed on a backend yet."},
		{"cgsnapshot type", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, cg), 400, "badRequest",
			"Group_type " + cgType.GroupTypeID + " is reserved for migrating CGs to groups. Migrated group snapshots can only be operated by CG snapshot APIs."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before int
			if err := e.raw.QueryRow("SELECT COUNT(*) FROM group_snapshots").Scan(&before); err != nil {
				t.Fatal(err)
			}
			rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/group_snapshots", version: tt.version, body: tt.body, token: testUser + ":" + testProject,
				header: map[string]string{"X-Roles": "member"}})
			if tt.message == "" {
				wantStatus(t, rec, tt.status)
			} else {
				wantFault(t, rec, tt.status, tt.fault, tt.message)
			}
			var after int
			if err := e.raw.QueryRow("SELECT COUNT(*) FROM group_snapshots").Scan(&after); err != nil || after != before {
				t.Fatalf("a refused create left a row (%d → %d, %v)", before, after, err)
			}
		})
	}
}

func TestGroupSnapshotOverQuota(t *testing.T) {
	e := newEnv(t)
	group := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable, resource.StatusAvailable)
	if _, err := e.store.UpdateProjectQuotas(context.Background(), testProject, map[string]int64{resource.QuotaSnapshots: 1}); err != nil {
		t.Fatal(err)
	}
	rec := e.gsCall("POST", "/group_snapshots", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, group))
	wantStatus(t, rec, http.StatusRequestEntityTooLarge)
}

func TestGroupSnapshotListFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	g1 := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable)
	g2 := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable)
	mk := func(group, name string) string {
		rec := e.gsCall("POST", "/group_snapshots", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q, "name": %q}}`, group, name))
		wantStatus(t, rec, http.StatusAccepted)
		time.Sleep(2 * time.Millisecond)
		return str(t, obj(t, rec), "group_snapshot", "id")
	}
	a, b, c := mk(g1, "a"), mk(g1, "b"), mk(g2, "c")
	ids := func(rec *httptest.ResponseRecorder) []string {
		wantStatus(t, rec, http.StatusOK)
		var out []string
		for _, gs := range member(t, obj(t, rec), "group_snapshots").([]any) {
			out = append(out, str(t, gs, "id"))
		}
		return out
	}
	tests := []struct {
		name, version, query string
		want                 []string
		status               int
	}{
		{"all", mvGSPages, "", []string{c, b, a}, 200},
		{"group_id", mvGSPages, "?group_id=" + g1, []string{b, a}, 200},
		{"name", mvGSPages, "?name=c", []string{c}, 200},
		{"status", mvGSPages, "?status=available", nil, 200},
		{"limit", mvGSPages, "?limit=2", []string{c, b}, 200},
		{"marker", mvGSPages, "?marker=" + c, []string{b, a}, 200},
		{"sort by name asc", mvGSPages, "?sort=name:asc", []string{a, b, c}, 200},
		{"name~ at 3.34", "volume 3.34", "?name~=b", []string{b}, 200},
		{"another project", mvGSPages, "?project_id=p9", nil, 200},
		{"filters ignored before 3.29", mvGS, "?group_id=" + g1 + "&bogus=1", []string{c, b, a}, 200},
		{"unknown filter", mvGSPages, "?bogus=1", nil, 400},
		{"bad sort key", mvGSPages, "?sort=nope", nil, 400},
		{"bad sort dir", mvGSPages, "?sort=name:up", nil, 400},
		{"bad limit", mvGSPages, "?limit=-1", nil, 400},
		{"bad marker", mvGSPages, "?marker=" + uuid.NewString(), nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.gsCall("GET", "/group_snapshots"+tt.query, tt.version, "")
			if tt.status != 200 {
				wantStatus(t, rec, tt.status)
				return
			}
			if got := ids(rec); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	rec := e.gsCall("GET", "/group_snapshots/detail?limit=1", mvGSPages, "")
	if href := str(t, obj(t, rec), "group_snapshot_links", 0, "href"); !strings.Contains(href, "/group_snapshots?limit=1&marker="+c) {
		t.Fatalf("next link %s", href)
	}
}

func TestGroupSnapshotResetStatus(t *testing.T) {
	e := newEnv(t)
	group := e.groupOf(testProject, "node1@file#file", "gt", resource.StatusAvailable)
	rec := e.gsCall("POST", "/group_snapshots", mvGS, fmt.Sprintf(`{"group_snapshot": {"group_id": %q}}`, group))
	id := str(t, obj(t, rec), "group_snapshot", "id")
	tests := []struct {
		name, version, body string
		status              int
		message             string
	}{
		{"below 3.19", mvGS, `{"reset_status": {"status": "error"}}`, 404, "The resource could not be found."},
		{"unknown action", mvGSReset, `{"os-reset_status": {"status": "error"}}`, 400, "There is no such action: os-reset_status"},
		{"no status", mvGSReset, `{"reset_status": {}}`, 400, "Invalid input for field/attribute reset_status. Value: {}. 'status' is a required property"},
		{"bad status", mvGSReset, `{"reset_status": {"status": "nope"}}`, 400, "Invalid input for field/attribute status. Value: nope. 'nope' is not a 'group_snapshot_status'"},
		{"extra key", mvGSReset, `{"reset_status": {"status": "error", "x": 1}}`, 400, ""},
		{"ok", mvGSReset, `{"reset_status": {"status": "ERROR"}}`, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.gsCall("POST", "/group_snapshots/"+id+"/action", tt.version, tt.body)
			if tt.message != "" {
				wantFault(t, rec, tt.status, map[int]string{400: "badRequest", 404: "itemNotFound"}[tt.status], tt.message)
				return
			}
			wantStatus(t, rec, tt.status)
		})
	}
	if gs, _ := e.store.GetGroupSnapshot(context.Background(), id); gs.Status != "error" {
		t.Fatalf("status %s after reset, want error", gs.Status)
	}
	// A member may not reset: admin_api.
	rec = e.do(call{method: "POST", path: "/v3/" + testProject + "/group_snapshots/" + id + "/action", version: mvGSReset,
		body: `{"reset_status": {"status": "available"}}`, header: map[string]string{"X-Roles": "member"}})
	wantStatus(t, rec, http.StatusForbidden)
	rec = e.gsCall("POST", "/group_snapshots/"+uuid.NewString()+"/action", mvGSReset, `{"reset_status": {"status": "error"}}`)
	wantStatus(t, rec, http.StatusNotFound)
}

// TestCGSnapshots: Cinder Zed's cgsnapshots extension over group snapshots, at any
// microversion, listing every group snapshot (those of default_cgsnapshot_type too).
func TestCGSnapshots(t *testing.T) {
	e := newEnv(t)
	cg := e.groupOf(testProject, "node1@file#file", resource.DefaultCGSnapshotTypeName, resource.StatusAvailable)
	missing := uuid.NewString()
	refused := []struct {
		name, body string
		status     int
		message    string
	}{
		{"no cgsnapshot", `{}`, 400, "Missing required element 'cgsnapshot' in request body."},
		{"no consistencygroup_id", `{"cgsnapshot": {"name": "x"}}`, 400, "'consistencygroup_id' must be specified"},
		{"name too long", fmt.Sprintf(`{"cgsnapshot": {"consistencygroup_id": %q, "name": %q}}`, cg, strings.Repeat("n", 256)), 400, ""},
		{"missing group", fmt.Sprintf(`{"cgsnapshot": {"consistencygroup_id": %q}}`, missing), 404, "Group " + missing + " could not be found."},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.gsCall("POST", "/cgsnapshots", "", tt.body)
			if tt.message == "" {
				wantStatus(t, rec, tt.status)
				return
			}
			wantFault(t, rec, tt.status, map[int]string{400: "badRequest", 404: "itemNotFound"}[tt.status], tt.message)
		})
	}

	rec := e.gsCall("POST", "/cgsnapshots", "", fmt.Sprintf(`{"cgsnapshot": {"consistencygroup_id": %q, "name": "cg1"}}`, cg))
	wantStatus(t, rec, http.StatusAccepted)
	body := obj(t, rec)
	sameKeys(t, "create", keysOf(t, member(t, body, "cgsnapshot")), []string{"id", "name"})
	id := str(t, body, "cgsnapshot", "id")

	rec = e.gsCall("GET", "/cgsnapshots/"+id, "", "")
	wantStatus(t, rec, http.StatusOK)
	body = obj(t, rec)
	sameKeys(t, "show", keysOf(t, member(t, body, "cgsnapshot")), []string{"id", "consistencygroup_id", "status", "created_at", "name", "description"})
	if got := str(t, body, "cgsnapshot", "consistencygroup_id"); got != cg {
		t.Fatalf("consistencygroup_id %q, want %s", got, cg)
	}
	// The group snapshot API refuses it (default_cgsnapshot_type), the cgsnapshot API lists it.
	wantStatus(t, e.gsCall("GET", "/group_snapshots/"+id, mvGS, ""), http.StatusBadRequest)
	for _, path := range []string{"/cgsnapshots", "/cgsnapshots/detail"} {
		rec = e.gsCall("GET", path, "", "")
		if got := str(t, obj(t, rec), "cgsnapshots", 0, "id"); got != id {
			t.Fatalf("%s: first id %q, want %s", path, got, id)
		}
	}
	rec = e.gsCall("GET", "/cgsnapshots?offset=1", "", "")
	if n := len(member(t, obj(t, rec), "cgsnapshots").([]any)); n != 0 {
		t.Fatalf("offset=1 listed %d", n)
	}
	wantStatus(t, e.gsCall("GET", "/cgsnapshots?limit=x", "", ""), http.StatusBadRequest)
	wantFault(t, e.gsCall("GET", "/cgsnapshots/"+missing, "", ""), http.StatusNotFound, "itemNotFound", "GroupSnapshot "+missing+" could not be found.")

	if err := e.store.FinishGroupSnapshot(context.Background(), id, nil, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.gsCall("DELETE", "/cgsnapshots/"+id, "", ""), http.StatusAccepted)
	if gs, _ := e.store.GetGroupSnapshot(context.Background(), id); gs.Status != "deleting" {
		t.Fatalf("after delete: %s", gs.Status)
	}
	wantStatus(t, e.gsCall("DELETE", "/cgsnapshots/"+id, "", ""), http.StatusBadRequest)
}
