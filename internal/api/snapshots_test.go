package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

const snapHost = "host1@lvm#pool1"

// placedVolume creates a volume through the API and places it, available, on snapHost.
func (e *env) placedVolume(token string) string {
	e.t.Helper()
	id := e.createVolume(`{"volume": {"size": 1}}`, token)
	e.place(id, snapHost, resource.StatusAvailable)
	return id
}

// createSnapshot snapshots volume through the API and returns the snapshot's id.
func (e *env) createSnapshot(volumeID, extra string) string {
	e.t.Helper()
	rec := e.do(call{method: "POST", path: "/v3/p1/snapshots", body: `{"snapshot": {"volume_id": "` + volumeID + `"` + extra + `}}`})
	wantStatus(e.t, rec, http.StatusAccepted)
	return str(e.t, obj(e.t, rec), "snapshot", "id")
}

func (e *env) snapStatus(id, status string) {
	e.t.Helper()
	if err := e.store.ResetSnapshotStatus(context.Background(), id, status); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) snapshot(id string) *resource.Snapshot {
	e.t.Helper()
	sn, err := e.store.GetSnapshot(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get snapshot %s: %v", id, err)
	}
	return sn
}

// lastMessage is the one message dispatched since before, which must be method to the
// volume service of snapHost's backend; its args are decoded into args.
func (e *env) lastMessage(before int, method string, args any) {
	e.t.Helper()
	msgs := e.disp.got()[before:]
	if len(msgs) != 1 {
		e.t.Fatalf("dispatched %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Method != method || m.Server != "host1@lvm" {
		e.t.Errorf("dispatched %s to %s, want %s to host1@lvm", m.Method, m.Server, method)
	}
	if err := json.Unmarshal(m.Args, args); err != nil {
		e.t.Errorf("args %s: %v", m.Args, err)
	}
}

var memberRole = map[string]string{"X-Roles": "member"}

func TestCreateSnapshot(t *testing.T) {
	e := newEnv(t)
	vol := e.placedVolume("")

	t.Run("accepted", func(t *testing.T) {
		before := len(e.disp.got())
		rec := e.do(call{method: "POST", path: "/v3/p1/snapshots",
			body: `{"snapshot": {"volume_id": "` + vol + `", "name": " snap ", "description": "d", "metadata": {"k": "v"}}}`})
		wantStatus(t, rec, http.StatusAccepted)
		body := obj(t, rec)
		sn := member(t, body, "snapshot")
		sameKeys(t, "snapshot", keysOf(t, sn), []string{"id", "created_at", "updated_at", "name", "description", "volume_id", "status", "size", "metadata"})
		id := str(t, sn, "id")
		if str(t, sn, "name") != "snap" || str(t, sn, "status") != "creating" || str(t, sn, "volume_id") != vol {
			t.Errorf("view %s", rec.Body)
		}
		got := e.snapshot(id)
		if got.Status != resource.SnapshotCreating || got.Progress != "0%" || got.Host != snapHost || got.ProjectID != testProject || got.Metadata["k"] != "v" {
			t.Errorf("stored %+v", got)
		}
		var args rpcapi.SnapshotArgs
		e.lastMessage(before, rpcapi.CreateSnapshot, &args)
		if args.SnapshotID != id || args.VolumeID != vol {
			t.Errorf("args %+v", args)
		}
	})
	t.Run("views by microversion", func(t *testing.T) {
		for _, tt := range []struct {
			version string
			extra   []string
		}{
			{"volume 3.13", nil},
			{"volume 3.14", []string{"group_snapshot_id"}},
			{"volume 3.41", []string{"group_snapshot_id", "user_id"}},
			{"volume 3.65", []string{"group_snapshot_id", "user_id", "consumes_quota"}},
		} {
			rec := e.do(call{method: "POST", path: "/v3/p1/snapshots", version: tt.version, body: `{"snapshot": {"volume_id": "` + vol + `"}}`})
			wantStatus(t, rec, http.StatusAccepted)
			want := append([]string{"id", "created_at", "updated_at", "name", "description", "volume_id", "status", "size", "metadata"}, tt.extra...)
			sameKeys(t, tt.version, keysOf(t, member(t, obj(t, rec), "snapshot")), want)
		}
	})

	inUse := e.placedVolume("")
	if _, err := e.store.TransitionVolume(context.Background(), inUse, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusInUse}); err != nil {
		t.Fatal(err)
	}
	unplaced := e.createVolume(`{"volume": {"size": 1}}`, "")
	other := e.placedVolume("u2:p2")
	broken := e.placedVolume("")
	if _, err := e.store.TransitionVolume(context.Background(), broken, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, version string
		status              int
		msg                 string // "" for success
	}{
		{"in-use needs force", `{"snapshot": {"volume_id": "` + inUse + `"}}`, "", 400,
			"Invalid volume: Volume " + inUse + " status must be available, but current status is: in-use."},
		{"in-use with force", `{"snapshot": {"volume_id": "` + inUse + `", "force": true}}`, "", 202, ""},
		{"in-use with force string", `{"snapshot": {"volume_id": "` + inUse + `", "force": "True"}}`, "", 202, ""},
		{"in-use from 3.66", `{"snapshot": {"volume_id": "` + inUse + `"}}`, "volume 3.66", 202, ""},
		{"force false from 3.66", `{"snapshot": {"volume_id": "` + vol + `", "force": false}}`, "volume 3.66", 400, msgSnapshotInUseFlag},
		{"error volume with force", `{"snapshot": {"volume_id": "` + broken + `", "force": true}}`, "", 400,
			"Invalid volume: Volume " + broken + " status must be available, in-use, but current status is: error."},
		{"never placed", `{"snapshot": {"volume_id": "` + unplaced + `"}}`, "", 400,
			"Invalid volume: The snapshot cannot be created because volume has not been scheduled to any host."},
		{"unknown volume", `{"snapshot": {"volume_id": "00000000-0000-0000-0000-000000000009"}}`, "", 404,
			"Volume 00000000-0000-0000-0000-000000000009 could not be found."},
		{"no snapshot", `{"volume_id": "x"}`, "", 400, "'snapshot' is a required property"},
		{"snapshot and more", `{"snapshot": {"volume_id": "` + vol + `"}, "x": 1}`, "", 400, "Additional properties are not allowed ('x' was unexpected)"},
		{"no volume_id", `{"snapshot": {"name": "x"}}`, "", 400,
			"Invalid input for field/attribute snapshot. Value: {'name': 'x'}. 'volume_id' is a required property"},
		{"volume_id not a uuid", `{"snapshot": {"volume_id": "abc"}}`, "", 400,
			"Invalid input for field/attribute volume_id. Value: abc. 'abc' is not a 'uuid'"},
		{"unknown member", `{"snapshot": {"volume_id": "` + vol + `", "size": 1}}`, "", 400,
			"Invalid input for field/attribute snapshot. Value: {'volume_id': '" + vol + "', 'size': 1}. Additional properties are not allowed ('size' was unexpected)"},
		{"bad force", `{"snapshot": {"volume_id": "` + vol + `", "force": "maybe"}}`, "", 400,
			"Invalid input for field/attribute force. Value: maybe. 'maybe' is not valid under any of the given schemas"},
		{"bad metadata key", `{"snapshot": {"volume_id": "` + vol + `", "metadata": {"a*b": "v"}}}`, "", 400,
			"Invalid input for field/attribute metadata. Value: {'a*b': 'v'}. 'a*b' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"},
		{"long name", `{"snapshot": {"volume_id": "` + vol + `", "name": "` + strings.Repeat("n", 256) + `"}}`, "", 400,
			"Invalid input for field/attribute name. Value: " + strings.Repeat("n", 256) + ". '" + strings.Repeat("n", 256) + "' is too long"},
	}
	t.Run("other project's volume", func(t *testing.T) {
		wantFault(t, e.do(call{method: "POST", path: "/v3/p1/snapshots", header: memberRole, body: `{"snapshot": {"volume_id": "` + other + `"}}`}),
			404, "itemNotFound", "Volume "+other+" could not be found.")
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.disp.got())
			rec := e.do(call{method: "POST", path: "/v3/p1/snapshots", body: tt.body, version: tt.version})
			if tt.msg == "" {
				wantStatus(t, rec, tt.status)
				return
			}
			name := map[int]string{400: "badRequest", 404: "itemNotFound"}[tt.status]
			wantFault(t, rec, tt.status, name, tt.msg)
			if len(e.disp.got()) != before {
				t.Errorf("a refused create dispatched a message")
			}
		})
	}
}

func TestShowAndListSnapshots(t *testing.T) {
	e := newEnv(t)
	vol := e.placedVolume("")
	a := e.createSnapshot(vol, `, "name": "a", "metadata": {"k": "v"}`)
	b := e.createSnapshot(vol, `, "name": "b"`)
	e.snapStatus(b, resource.SnapshotAvailable)
	c := e.createSnapshot(vol, `, "name": "c"`)
	otherVol := e.placedVolume("u2:p2")
	rec := e.do(call{method: "POST", path: "/v3/p2/snapshots", token: "u2:p2", body: `{"snapshot": {"volume_id": "` + otherVol + `"}}`})
	wantStatus(t, rec, http.StatusAccepted)
	d := str(t, obj(t, rec), "snapshot", "id")

	t.Run("show", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/snapshots/" + b})
		wantStatus(t, rec, http.StatusOK)
		sn := member(t, obj(t, rec), "snapshot")
		sameKeys(t, "show", keysOf(t, sn), []string{"id", "created_at", "updated_at", "name", "description", "volume_id", "status", "size", "metadata",
			"os-extended-snapshot-attributes:project_id", "os-extended-snapshot-attributes:progress"})
		if str(t, sn, "os-extended-snapshot-attributes:project_id") != testProject || str(t, sn, "status") != "available" {
			t.Errorf("show %s", rec.Body)
		}
		wantFault(t, e.do(call{method: "GET", path: "/v3/p2/snapshots/" + b, token: "u2:p2", header: memberRole}), 404, "itemNotFound", "Snapshot "+b+" could not be found.")
		wantFault(t, e.do(call{method: "GET", path: "/v3/p1/snapshots/nope"}), 404, "itemNotFound", "Snapshot nope could not be found.")
		// An admin sees any project's snapshot.
		wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/snapshots/" + d}), http.StatusOK)
	})

	list := func(t *testing.T, path, version string, hdr map[string]string) (ids []string, body *wire.Object) {
		t.Helper()
		rec := e.do(call{method: "GET", path: path, version: version, header: hdr})
		wantStatus(t, rec, http.StatusOK)
		body = obj(t, rec)
		for _, s := range member(t, body, "snapshots").([]any) {
			ids = append(ids, str(t, s, "id"))
		}
		return ids, body
	}
	for _, tt := range []struct {
		name, query, version string
		hdr                  map[string]string
		want                 []string
	}{
		{"own project, newest first", "", "", nil, []string{c, b, a}},
		{"name", "name=b", "", nil, []string{b}},
		{"display_name", "display_name=a", "", nil, []string{a}},
		{"status", "status=available", "", nil, []string{b}},
		{"volume_id", "volume_id=" + vol, "", nil, []string{c, b, a}},
		{"metadata as python dict", "metadata=" + url.QueryEscape("{'k': 'v'}"), "volume 3.22", nil, []string{a}},
		{"metadata ignored before 3.22", "metadata=" + url.QueryEscape("{'k': 'v'}"), "volume 3.21", nil, []string{c, b, a}},
		{"all tenants", "all_tenants=1", "", nil, []string{d, c, b, a}},
		{"all tenants of a project", "all_tenants=1&project_id=p2", "", nil, []string{d}},
		{"all tenants ignored for a member", "all_tenants=1", "", memberRole, []string{c, b, a}},
		{"another project for a member", "project_id=p2", "", memberRole, nil},
		{"sort by name", "sort=name:asc", "volume 3.30", nil, []string{a, b, c}},
		{"sort_key and sort_dir", "sort_key=display_name&sort_dir=asc", "", nil, []string{a, b, c}},
		{"sort two keys", "sort=status:asc,display_name:desc", "", nil, []string{b, c, a}},
		{"limit and marker", "limit=1&marker=" + c, "", nil, []string{b}},
		{"offset", "offset=1", "", nil, []string{b, a}},
		{"offset and limit", "offset=1&limit=1", "", nil, []string{b}},
		{"offset after a marker", "offset=1&marker=" + c, "", nil, []string{a}},
		{"offset past the end", "offset=3", "", nil, nil},
		{"offset for a member", "offset=2", "", memberRole, []string{a}},
		{"name~ (3.34, admin)", "name~=B", "volume 3.34", nil, []string{b}},
		{"display_name~ escapes %", "display_name~=" + url.QueryEscape("%"), "volume 3.34", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, coll := range []string{"snapshots", "snapshots/detail"} {
				got, _ := list(t, "/v3/p1/"+coll+"?"+tt.query, tt.version, tt.hdr)
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("%s?%s = %v, want %v", coll, tt.query, got, tt.want)
				}
			}
		})
	}
	t.Run("views", func(t *testing.T) {
		_, body := list(t, "/v3/p1/snapshots", "volume 3.65", nil)
		sameKeys(t, "summary", keysOf(t, member(t, body, "snapshots", 0)), []string{"id", "created_at", "updated_at", "name", "description", "volume_id", "status", "size", "metadata"})
		_, body = list(t, "/v3/p1/snapshots/detail", "volume 3.65", nil)
		sameKeys(t, "detail", keysOf(t, member(t, body, "snapshots", 0)), []string{"id", "created_at", "updated_at", "name", "description", "volume_id", "status", "size", "metadata",
			"group_snapshot_id", "user_id", "consumes_quota", "os-extended-snapshot-attributes:project_id", "os-extended-snapshot-attributes:progress"})
	})
	t.Run("pages and count", func(t *testing.T) {
		got, body := list(t, "/v3/p1/snapshots/detail?limit=2&with_count=true", "volume 3.45", nil)
		if len(got) != 2 || member(t, body, "count") != json.Number("3") {
			t.Fatalf("page %v, body %s", got, wire.PyRepr(body))
		}
		next := str(t, body, "snapshots_links", 0, "href")
		if !strings.HasPrefix(next, "http://"+testHost+"/v3/p1/snapshots/detail?") || !strings.Contains(next, "marker="+got[1]) {
			t.Errorf("next link %s", next)
		}
		rest, body := list(t, strings.Replace(next[len("http://"+testHost):], "with_count=true&", "", 1), "volume 3.45", nil)
		if strings.Join(rest, ",") != a || body.Has("snapshots_links") || body.Has("count") {
			t.Errorf("second page %v %s", rest, wire.PyRepr(body))
		}
	})
	for _, tt := range []struct {
		name, query, version string
		status               int
		msg                  string
	}{
		{"unknown marker", "marker=" + d, "", 404, "Marker " + d + " could not be found."},
		{"bad sort key", "sort=size:asc", "", 400, "Invalid input received: Invalid sort key"},
		{"name before 3.30", "sort=name", "volume 3.29", 400, "Invalid input received: Invalid sort key"},
		{"bad sort dir", "sort=status:up", "", 400, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{"sort and sort_key", "sort=status&sort_key=id", "", 400, "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter."},
		{"unknown filter", "bootable=true&zzz=1", "", 400, "Invalid filters bootable,zzz are found in query options."},
		{"with_count before 3.45", "with_count=true", "volume 3.44", 400, "Invalid filters with_count are found in query options."},
		{"negative limit", "limit=-1", "", 400, "limit param must be positive"},
		{"bad limit", "limit=x", "", 400, "limit param must be an integer"},
		{"name~ before 3.34", "name~=b", "volume 3.33", 400, "Invalid filters name~ are found in query options."},
		{"bad offset", "offset=x", "", 400, "Invalid input received: offset must be an integer"},
		{"negative offset", "offset=-1", "", 400, "Invalid input received: offset must be >= 0"},
		{"bad metadata", "metadata=k%3Dv", "volume 3.22", 400, "Invalid metadata filter k=v: Scoria filters by a dict of string keys and values, such as {'key': 'value'}."},
		{"bad all_tenants", "all_tenants=maybe", "", 400, "Value 'maybe' for 'all_tenants' is not a boolean."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := map[int]string{400: "badRequest", 404: "itemNotFound"}[tt.status]
			wantFault(t, e.do(call{method: "GET", path: "/v3/p1/snapshots?" + tt.query, version: tt.version}), tt.status, name, tt.msg)
		})
	}
	// Cinder's default resource_filters.json gives members no LIKE filter on snapshots.
	wantFault(t, e.do(call{method: "GET", path: "/v3/p1/snapshots?name~=b", version: "volume 3.34", header: memberRole}), 400, "badRequest",
		"Invalid filters name~ are found in query options.")
}

func TestUpdateSnapshot(t *testing.T) {
	e := newEnv(t)
	id := e.createSnapshot(e.placedVolume(""), `, "name": "old", "description": "d"`)
	path := "/v3/p1/snapshots/" + id
	for _, tt := range []struct {
		name, body         string
		wantName, wantDesc string
	}{
		{"name", `{"snapshot": {"name": " new "}}`, "new", "d"},
		{"legacy keys", `{"snapshot": {"display_name": "dn", "display_description": "dd"}}`, "dn", "dd"},
		{"description wins over the legacy key", `{"snapshot": {"description": "x", "display_description": "y"}}`, "dn", "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(call{method: "PUT", path: path, body: tt.body})
			wantStatus(t, rec, http.StatusOK)
			sn := e.snapshot(id)
			if sn.Name != tt.wantName || sn.Description != tt.wantDesc || str(t, obj(t, rec), "snapshot", "name") != tt.wantName {
				t.Errorf("stored %q %q, answered %s", sn.Name, sn.Description, rec.Body)
			}
		})
	}
	wantFault(t, e.do(call{method: "PUT", path: path, body: `{"snapshot": {}}`}), 400, "badRequest",
		"Invalid input for field/attribute snapshot. Value: {}. {} is not valid under any of the given schemas")
	wantFault(t, e.do(call{method: "PUT", path: path, body: `{"snapshot": {"status": "x"}}`}), 400, "badRequest",
		"Invalid input for field/attribute snapshot. Value: {'status': 'x'}. Additional properties are not allowed ('status' was unexpected)")
	wantFault(t, e.do(call{method: "PUT", path: path, body: ``}), 400, "badRequest", "None is not of type 'object'")
	wantFault(t, e.do(call{method: "PUT", path: "/v3/p1/snapshots/nope", body: `{"snapshot": {"name": "x"}}`}), 404, "itemNotFound", "Snapshot nope could not be found.")
	wantFault(t, e.do(call{method: "PUT", path: "/v3/p2/snapshots/" + id, token: "u2:p2", header: memberRole, body: `{"snapshot": {"name": "x"}}`}), 404, "itemNotFound", "Snapshot "+id+" could not be found.")
}

func TestDeleteSnapshot(t *testing.T) {
	e := newEnv(t)
	vol := e.placedVolume("")
	t.Run("available", func(t *testing.T) {
		id := e.createSnapshot(vol, "")
		e.snapStatus(id, resource.SnapshotAvailable)
		before := len(e.disp.got())
		rec := e.do(call{method: "DELETE", path: "/v3/p1/snapshots/" + id})
		wantStatus(t, rec, http.StatusAccepted)
		if got := e.snapshot(id).Status; got != resource.SnapshotDeleting {
			t.Errorf("status %s", got)
		}
		var args rpcapi.SnapshotArgs
		e.lastMessage(before, rpcapi.DeleteSnapshot, &args)
		if args.SnapshotID != id || args.VolumeID != vol {
			t.Errorf("args %+v", args)
		}
	})
	for _, st := range []string{resource.SnapshotCreating, resource.SnapshotDeleting, resource.SnapshotErrorDeleting} {
		t.Run("refused in "+st, func(t *testing.T) {
			id := e.createSnapshot(vol, "")
			e.snapStatus(id, st)
			wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/snapshots/" + id}), 400, "badRequest",
				"Invalid snapshot: Snapshot status must be available or error and must not be part of a group.")
		})
	}
	t.Run("held by no backend", func(t *testing.T) {
		id := e.createSnapshot(vol, "")
		e.snapStatus(id, resource.SnapshotError)
		if _, err := e.raw.Exec("UPDATE snapshots SET host = NULL WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		before := len(e.disp.got())
		wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/snapshots/" + id}), http.StatusAccepted)
		if _, err := e.store.GetSnapshot(context.Background(), id); err == nil {
			t.Errorf("still there")
		}
		if len(e.disp.got()) != before {
			t.Errorf("dispatched a message")
		}
	})
	wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/snapshots/nope"}), 404, "itemNotFound", "Snapshot nope could not be found.")
}

func TestSnapshotMetadata(t *testing.T) {
	e := newEnv(t)
	id := e.createSnapshot(e.placedVolume(""), `, "metadata": {"a": "1", "b": "2"}`)
	base := "/v3/p1/snapshots/" + id + "/metadata"
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string // the answer's body, or the fault message
	}{
		{"show", "GET", base, "", 200, `{"metadata":{"a":"1","b":"2"}}`},
		{"merge", "POST", base, `{"metadata": {"b": "3", "c": "4"}}`, 200, `{"metadata":{"a":"1","b":"3","c":"4"}}`},
		{"replace", "PUT", base, `{"metadata": {"z": "9"}}`, 200, `{"metadata":{"z":"9"}}`},
		{"set one", "PUT", base + "/y", `{"meta": {"y": "8"}}`, 200, `{"meta":{"y":"8"}}`},
		{"show one", "GET", base + "/y", "", 200, `{"meta":{"y":"8"}}`},
		{"all after set one", "GET", base, "", 200, `{"metadata":{"y":"8","z":"9"}}`},
		{"delete one", "DELETE", base + "/y", "", 200, ""},
		{"show deleted", "GET", base + "/y", "", 404, "Snapshot " + id + " has no metadata with key y."},
		{"delete deleted", "DELETE", base + "/y", "", 404, "Snapshot " + id + " has no metadata with key y."},
		{"URI mismatch", "PUT", base + "/y", `{"meta": {"x": "8"}}`, 400, "Request body and URI mismatch"},
		{"too many", "PUT", base + "/y", `{"meta": {"y": "8", "x": "1"}}`, 400, "Request body contains too many items"},
		{"no metadata member", "POST", base, `{"meta": {"a": "1"}}`, 400, "'metadata' is a required property"},
		{"key too long", "POST", base, `{"metadata": {"` + strings.Repeat("k", 256) + `": "v"}}`, 400,
			"Invalid input for field/attribute metadata. Value: {'" + strings.Repeat("k", 256) + "': 'v'}. '" + strings.Repeat("k", 256) + "' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"},
		{"value too long", "PUT", base, `{"metadata": {"k": "` + strings.Repeat("v", 256) + `"}}`, 400,
			"Invalid input for field/attribute k. Value: " + strings.Repeat("v", 256) + ". '" + strings.Repeat("v", 256) + "' is too long"},
		{"value not a string", "POST", base, `{"metadata": {"k": 1}}`, 400, "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"},
		{"unknown snapshot", "GET", "/v3/p1/snapshots/nope/metadata", "", 404, "Snapshot nope could not be found."},
		{"unknown snapshot merge", "POST", "/v3/p1/snapshots/nope/metadata", `{"metadata": {}}`, 404, "Snapshot nope could not be found."},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(call{method: tt.method, path: tt.path, body: tt.body})
			if tt.status >= 400 {
				wantFault(t, rec, tt.status, map[int]string{400: "badRequest", 404: "itemNotFound"}[tt.status], tt.want)
				return
			}
			wantStatus(t, rec, tt.status)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body %s, want %s", got, tt.want)
			}
		})
	}
	if got := e.snapshot(id).Metadata; len(got) != 1 || got["z"] != "9" {
		t.Errorf("metadata after refusals: %v", got)
	}
}

func TestSnapshotActions(t *testing.T) {
	e := newEnv(t)
	vol := e.placedVolume("")
	id := e.createSnapshot(vol, "")
	path := "/v3/p1/snapshots/" + id + "/action"
	steps := []struct {
		name, body string
		hdr        map[string]string
		status     int
		msg        string
		after      string // the snapshot's status afterwards
	}{
		{"progress while creating", `{"os-update_snapshot_status": {"status": "creating", "progress": "50%"}}`, memberRole, 202, "", "creating"},
		{"bad progress", `{"os-update_snapshot_status": {"status": "creating", "progress": "150%"}}`, nil, 400, "progress must be an integer percentage", "creating"},
		{"progress without %", `{"os-update_snapshot_status": {"status": "creating", "progress": "50"}}`, nil, 400, "progress must be an integer percentage", "creating"},
		{"creating to deleting", `{"os-update_snapshot_status": {"status": "deleting"}}`, nil, 400, "Provided snapshot status deleting not allowed for snapshot with status creating.", "creating"},
		{"no status", `{"os-update_snapshot_status": {}}`, nil, 400, "Invalid input for field/attribute os-update_snapshot_status. Value: {}. 'status' is a required property", "creating"},
		{"creating to available", `{"os-update_snapshot_status": {"status": "available"}}`, nil, 202, "", "available"},
		{"available is final", `{"os-update_snapshot_status": {"status": "error"}}`, nil, 400, "Snapshot status available not allowed for update_snapshot_status", "available"},
		{"reset by a member", `{"os-reset_status": {"status": "error"}}`, memberRole, 403, "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.", "available"},
		{"reset to an unknown status", `{"os-reset_status": {"status": "broken"}}`, nil, 400, "Invalid input for field/attribute status. Value: broken. 'broken' is not a 'snapshot_status'", "available"},
		{"reset without status", `{"os-reset_status": {}}`, nil, 400, "Invalid input for field/attribute os-reset_status. Value: {}. 'status' is a required property", "available"},
		{"reset", `{"os-reset_status": {"status": "ERROR_deleting"}}`, nil, 202, "", "error_deleting"},
		{"force delete by a member", `{"os-force_delete": {}}`, memberRole, 403, "Policy doesn't allow volume_extension:snapshot_admin_actions:force_delete to be performed.", "error_deleting"},
		{"unknown action", `{"os-unknown": {}}`, nil, 400, "There is no such action: os-unknown", "error_deleting"},
		{"two actions", `{"os-reset_status": {"status": "error"}, "os-force_delete": null}`, nil, 400, wire.MsgMalformedBody, "error_deleting"},
		{"force delete", `{"os-force_delete": null}`, nil, 202, "", "deleting"},
		{"deleting to error_deleting", `{"os-update_snapshot_status": {"status": "error_deleting"}}`, nil, 202, "", "error_deleting"},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: path, body: tt.body, header: tt.hdr})
			if tt.msg != "" {
				wantFault(t, rec, tt.status, map[int]string{400: "badRequest", 403: "forbidden"}[tt.status], tt.msg)
			} else {
				wantStatus(t, rec, tt.status)
			}
			if got := e.snapshot(id).Status; got != tt.after {
				t.Errorf("status %s, want %s", got, tt.after)
			}
		})
	}
	if got := e.snapshot(id).Progress; got != "50%" {
		t.Errorf("progress %q, want the last one reported (Cinder does not set it)", got)
	}
	wantFault(t, e.do(call{method: "POST", path: "/v3/p1/snapshots/nope/action", body: `{"os-reset_status": {"status": "error"}}`}), 404, "itemNotFound", "Snapshot nope could not be found.")
}

func TestDeleteVolumeWithSnapshots(t *testing.T) {
	e := newEnv(t)
	t.Run("refused without cascade", func(t *testing.T) {
		vol := e.placedVolume("")
		sn := e.createSnapshot(vol, "")
		e.snapStatus(sn, resource.SnapshotAvailable)
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + vol}), 400, "badRequest", wire.MsgDeleteState)
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + vol + "?force=true", version: "volume 3.23"}), 400, "badRequest", wire.MsgForceDeleteState)
		if e.volume(vol).Status != resource.StatusAvailable {
			t.Errorf("volume moved")
		}
	})
	t.Run("cascade", func(t *testing.T) {
		vol := e.placedVolume("")
		a, b := e.createSnapshot(vol, ""), e.createSnapshot(vol, "")
		e.snapStatus(a, resource.SnapshotAvailable)
		e.snapStatus(b, resource.SnapshotError)
		before := len(e.disp.got())
		wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + vol + "?cascade=true"}), http.StatusAccepted)
		var args rpcapi.DeleteVolumeArgs
		e.lastMessage(before, rpcapi.DeleteVolume, &args)
		if e.volume(vol).Status != resource.StatusDeleting || e.snapshot(a).Status != resource.SnapshotDeleting || e.snapshot(b).Status != resource.SnapshotDeleting {
			t.Errorf("volume %s, snapshots %s %s", e.volume(vol).Status, e.snapshot(a).Status, e.snapshot(b).Status)
		}
	})
	t.Run("cascade refused by a creating snapshot", func(t *testing.T) {
		vol := e.placedVolume("")
		a, b := e.createSnapshot(vol, ""), e.createSnapshot(vol, "")
		e.snapStatus(a, resource.SnapshotAvailable)
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + vol + "?cascade=true"}), 400, "badRequest", wire.MsgDeleteState)
		if e.volume(vol).Status != resource.StatusAvailable || e.snapshot(a).Status != resource.SnapshotAvailable || e.snapshot(b).Status != resource.SnapshotCreating {
			t.Errorf("a refused cascade changed something")
		}
		// Forced (admin, 3.23), it takes any snapshot.
		wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + vol + "?cascade=true&force=true", version: "volume 3.23"}), http.StatusAccepted)
		if e.snapshot(b).Status != resource.SnapshotDeleting {
			t.Errorf("snapshot %s", e.snapshot(b).Status)
		}
	})
	wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + e.placedVolume("") + "?cascade=maybe"}), 400, "badRequest", "Value 'maybe' for 'cascade' is not a boolean.")
}

func TestRevertVolume(t *testing.T) {
	e := newEnv(t)
	const v340 = "volume 3.40"
	revert := func(vol, body, version string) *httptest.ResponseRecorder {
		return e.do(call{method: "POST", path: "/v3/p1/volumes/" + vol + "/action", body: body, version: version})
	}
	t.Run("accepted", func(t *testing.T) {
		vol := e.placedVolume("")
		old := e.createSnapshot(vol, "")
		e.snapStatus(old, resource.SnapshotAvailable)
		latest := e.createSnapshot(vol, "")
		e.snapStatus(latest, resource.SnapshotAvailable)
		wantFault(t, revert(vol, `{"revert": {"snapshot_id": "`+old+`"}}`, v340), 400, "badRequest",
			"Specified snapshot "+old+" is None or not the latest one of volume "+vol+".")
		wantFault(t, revert(vol, `{"revert": {}}`, v340), 400, "badRequest",
			"Specified snapshot None is None or not the latest one of volume "+vol+".")
		wantFault(t, revert(vol, `{"revert": {"snapshot_id": "`+latest+`"}}`, "volume 3.39"), 404, "itemNotFound",
			"API version 3.39 is not supported on this method.")
		before := len(e.disp.got())
		rec := revert(vol, `{"revert": {"snapshot_id": "`+latest+`"}}`, v340)
		wantStatus(t, rec, http.StatusAccepted)
		var args rpcapi.RevertArgs
		e.lastMessage(before, rpcapi.RevertToSnapshot, &args)
		if args.VolumeID != vol || args.SnapshotID != latest {
			t.Errorf("args %+v", args)
		}
		if e.volume(vol).Status != resource.StatusReverting || e.snapshot(latest).Status != resource.SnapshotRestoring {
			t.Errorf("volume %s, snapshot %s", e.volume(vol).Status, e.snapshot(latest).Status)
		}
		// A second revert finds the volume reverting.
		wantFault(t, revert(vol, `{"revert": {"snapshot_id": "`+latest+`"}}`, v340), 409, "conflictingRequest",
			"Invalid volume: Can't revert volume "+vol+" to its latest snapshot "+latest+". Volume's status must be 'available'.")
	})
	t.Run("snapshot not available", func(t *testing.T) {
		vol := e.placedVolume("")
		sn := e.createSnapshot(vol, "")
		wantFault(t, revert(vol, `{"revert": {"snapshot_id": "`+sn+`"}}`, v340), 409, "conflictingRequest",
			"Invalid snapshot: Can't revert volume "+vol+" to its latest snapshot "+sn+". Snapshot's status must be 'available'.")
	})
	t.Run("size differs", func(t *testing.T) {
		vol := e.placedVolume("")
		sn := e.createSnapshot(vol, "")
		e.snapStatus(sn, resource.SnapshotAvailable)
		if _, err := e.raw.Exec("UPDATE volumes SET size = 2 WHERE id = ?", vol); err != nil {
			t.Fatal(err)
		}
		wantFault(t, revert(vol, `{"revert": {"snapshot_id": "`+sn+`"}}`, v340), 400, "badRequest",
			"Can't revert volume "+vol+" to its latest snapshot "+sn+". The volume size must be equal to the snapshot size.")
	})
	t.Run("no snapshots", func(t *testing.T) {
		vol := e.placedVolume("")
		wantFault(t, revert(vol, `{"revert": {"snapshot_id": "`+vol+`"}}`, v340), 400, "badRequest", "Volume "+vol+" doesn't have any snapshots.")
	})
	t.Run("bad requests", func(t *testing.T) {
		vol := e.placedVolume("")
		wantFault(t, revert(vol, `{"revert": "x"}`, v340), 400, "badRequest", "Invalid input for field/attribute revert. Value: x. 'x' is not of type 'object'")
		wantFault(t, revert("00000000-0000-0000-0000-000000000009", `{"revert": {"snapshot_id": "x"}}`, v340), 404, "itemNotFound",
			"Volume 00000000-0000-0000-0000-000000000009 could not be found.")
	})
}
