package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

func TestShowVolume(t *testing.T) {
	e := newEnv(t)
	id := e.createVolume(`{"volume": {"size": 1, "name": "sample-vol", "metadata": {"k1": "v1"}}}`, "")
	e.place(id, "host1@lvm#pool", resource.StatusAvailable)

	for _, tc := range []struct {
		version string
		keys    []string
	}{
		{"", concat(createKeys30, extensionKeys)},
		{"volume 3.27", concat(createKeys30, keys327, extensionKeys)},
		{"volume 3.70", concat(createKeys30, keys370, extensionKeys)},
	} {
		t.Run("at "+tc.version, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/volumes/" + id, version: tc.version})
			wantStatus(t, rec, http.StatusOK)
			v := member(t, obj(t, rec), "volume")
			sameKeys(t, "show", keysOf(t, v), tc.keys)
			if str(t, v, "status") != "available" || str(t, v, "os-vol-host-attr:host") != "host1@lvm#pool" ||
				str(t, v, "os-vol-tenant-attr:tenant_id") != testProject || member(t, v, "os-vol-mig-status-attr:migstat") != nil {
				t.Errorf("show %s", wire.PyRepr(v))
			}
			if ts := str(t, v, "updated_at"); !timestampPattern.MatchString(ts) {
				t.Errorf("updated_at %q", ts)
			}
		})
	}
	t.Run("host is null before scheduling", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		rec := e.do(call{method: "GET", path: "/v3/p1/volumes/" + id})
		if h := member(t, obj(t, rec), "volume", "os-vol-host-attr:host"); h != nil {
			t.Errorf("host %s", wire.PyRepr(h))
		}
	})
	t.Run("an admin sees another project's volume", func(t *testing.T) {
		other := e.createVolume(`{"volume": {"size": 1}}`, "u2:p2")
		rec := e.do(call{method: "GET", path: "/v3/p1/volumes/" + other})
		wantStatus(t, rec, http.StatusOK)
		if got := str(t, obj(t, rec), "volume", "os-vol-tenant-attr:tenant_id"); got != "p2" {
			t.Errorf("tenant %q", got)
		}
	})
}

func TestVolumeNotFound(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, id, body string }{
		{"GET", "00000000-0000-0000-0000-000000000000", ""},
		{"GET", "not-a-uuid", ""},
		{"PUT", "00000000-0000-0000-0000-000000000000", `{"volume": {"name": "x"}}`},
		{"DELETE", "00000000-0000-0000-0000-000000000000", ""},
		{"DELETE", "x'; DROP TABLE volumes; --", ""},
	} {
		t.Run(tc.method+" "+tc.id, func(t *testing.T) {
			rec := e.do(call{method: tc.method, path: "/v3/p1/volumes/" + url.PathEscape(tc.id), body: tc.body})
			wantFault(t, rec, http.StatusNotFound, "itemNotFound", "Volume "+tc.id+" could not be found.")
		})
	}
}

func TestListVolumes(t *testing.T) {
	e := newEnv(t)
	var ids []string // newest last
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, e.createVolume(`{"volume": {"size": 1, "name": "`+name+`"}}`, ""))
	}
	other := e.createVolume(`{"volume": {"size": 2, "name": "a"}}`, "u2:p2")
	e.place(ids[0], "host1@lvm#pool", resource.StatusAvailable)

	names := func(t *testing.T, body *wire.Object) []string {
		var out []string
		for _, v := range member(t, body, "volumes").([]any) {
			out = append(out, str(t, v, "id"))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		path  string
		ver   string
		want  []string
		links bool
	}{
		{"newest first", "/v3/p1/volumes", "", []string{ids[2], ids[1], ids[0]}, false},
		{"detail", "/v3/p1/volumes/detail", "", []string{ids[2], ids[1], ids[0]}, false},
		{"by name", "/v3/p1/volumes?name=b", "", []string{ids[1]}, false},
		{"by legacy display_name", "/v3/p1/volumes?display_name=b", "", []string{ids[1]}, false},
		{"by status", "/v3/p1/volumes/detail?status=available", "", []string{ids[0]}, false},
		{"all projects", "/v3/p1/volumes?all_tenants=1", "", []string{other, ids[2], ids[1], ids[0]}, false},
		{"all projects, by name", "/v3/p1/volumes?all_tenants=True&name=a", "", []string{other, ids[0]}, false},
		{"all_tenants=0 as cinderclient sends it", "/v3/p1/volumes?all_tenants=0", "", []string{ids[2], ids[1], ids[0]}, false},
		{"one project of all", "/v3/p1/volumes?all_tenants=1&project_id=p2", "", []string{other}, false},
		{"another project without all_tenants is ignored", "/v3/p1/volumes?project_id=p2", "", []string{ids[2], ids[1], ids[0]}, false},
		{"first page", "/v3/p1/volumes?limit=2", "", []string{ids[2], ids[1]}, true},
		{"last page", "/v3/p1/volumes?limit=2&marker=" + ids[1], "", []string{ids[0]}, false},
		{"limit 0", "/v3/p1/volumes?limit=0", "", nil, false},
		{"default sort spelled out", "/v3/p1/volumes?sort=created_at:desc,id:desc", "", []string{ids[2], ids[1], ids[0]}, false},
		{"legacy sort", "/v3/p1/volumes?sort_key=created_at&sort_dir=desc", "", []string{ids[2], ids[1], ids[0]}, false},
		{"sort without direction", "/v3/p1/volumes?sort=created_at", "", []string{ids[2], ids[1], ids[0]}, false},
		{"project-less URL", "/v3/volumes", "volume 3.67", []string{ids[2], ids[1], ids[0]}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: tc.path, version: tc.ver})
			wantStatus(t, rec, http.StatusOK)
			body := obj(t, rec)
			if got := names(t, body); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
			if body.Has("volumes_links") != tc.links {
				t.Errorf("volumes_links present %v, want %v: %s", body.Has("volumes_links"), tc.links, rec.Body)
			}
		})
	}

	t.Run("summary entries", func(t *testing.T) {
		body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes"}))
		v := member(t, body, "volumes", 0)
		sameKeys(t, "summary", keysOf(t, v), []string{"id", "name", "links"})
		sameKeys(t, "list", keysOf(t, body), []string{"volumes"})
	})
	t.Run("detail entries", func(t *testing.T) {
		body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/detail", version: "volume 3.70"}))
		sameKeys(t, "detail", keysOf(t, member(t, body, "volumes", 0)), concat(createKeys30, keys370, extensionKeys))
	})
	t.Run("next link", func(t *testing.T) {
		body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/detail?limit=2&status=creating&sort=created_at:desc"}))
		sameKeys(t, "link", keysOf(t, member(t, body, "volumes_links", 0)), []string{"rel", "href"})
		want := "http://example.com/v3/p1/volumes/detail?limit=2&status=creating&sort=created_at%3Adesc&marker=" + ids[1]
		if got := str(t, body, "volumes_links", 0, "href"); got != want {
			t.Errorf("next\n got: %s\nwant: %s", got, want)
		}
	})
	t.Run("a page as long as the maximum", func(t *testing.T) {
		e2 := newEnv(t, func(o *Options) { o.MaxLimit = 2 })
		e2.createVolume(`{"volume": {"size": 1}}`, "")
		e2.createVolume(`{"volume": {"size": 1}}`, "")
		e2.createVolume(`{"volume": {"size": 1}}`, "")
		body := obj(t, e2.do(call{method: "GET", path: "/v3/p1/volumes?limit=50"}))
		if n := len(member(t, body, "volumes").([]any)); n != 2 || !body.Has("volumes_links") {
			t.Errorf("%d volumes, links %v", n, body.Has("volumes_links"))
		}
	})
	t.Run("with_count", func(t *testing.T) {
		body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes?limit=1&with_count=true", version: "volume 3.45"}))
		if got := member(t, body, "count"); got != json.Number("3") {
			t.Errorf("count %s", wire.PyRepr(got))
		}
		sameKeys(t, "list with count", keysOf(t, body), []string{"volumes", "volumes_links", "count"})
	})

	for _, tc := range []struct {
		name, path, ver string
		status          int
		message         string
	}{
		{"limit not a number", "/v3/p1/volumes?limit=x", "", 400, "limit param must be an integer"},
		{"negative limit", "/v3/p1/volumes?limit=-1", "", 400, "limit param must be positive"},
		{"unknown sort key", "/v3/p1/volumes?sort=colour:asc", "", 400, "Invalid input received: Invalid sort key"},
		{"empty sort", "/v3/p1/volumes?sort=", "", 400, "Invalid input received: Invalid sort key"},
		{"unknown sort direction", "/v3/p1/volumes?sort_dir=up", "", 400, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."},
		{"sort and sort_key", "/v3/p1/volumes?sort=created_at&sort_key=id", "", 400, "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter."},

		{"all_tenants not a boolean", "/v3/p1/volumes?all_tenants=maybe", "", 400, "Value 'maybe' for 'all_tenants' is not a boolean."},
		{"unknown marker", "/v3/p1/volumes?marker=00000000-0000-0000-0000-000000000000", "", 404, "Volume 00000000-0000-0000-0000-000000000000 could not be found."},
		{"marker of another project", "/v3/p1/volumes?marker=" + other, "", 404, "Volume " + other + " could not be found."},
		{"marker not a uuid", "/v3/p1/volumes?marker=zzz", "", 404, "Volume zzz could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: tc.path, version: tc.ver})
			name := "badRequest"
			if tc.status == 404 {
				name = "itemNotFound"
			}
			wantFault(t, rec, tc.status, name, tc.message)
		})
	}
}

func TestVolumeSummary(t *testing.T) {
	e := newEnv(t)
	e.createVolume(`{"volume": {"size": 1, "metadata": {"k": "v1"}}}`, "")
	e.createVolume(`{"volume": {"size": 2, "metadata": {"k": "v2", "x": "y"}}}`, "")
	e.createVolume(`{"volume": {"size": 4}}`, "u2:p2")
	for _, tc := range []struct {
		name, path, ver, want string
	}{
		{"3.12", "/v3/p1/volumes/summary", "volume 3.12", "{'volume-summary': {'total_count': 2, 'total_size': 3}}"},
		{"3.36 metadata", "/v3/p1/volumes/summary", "volume 3.36", "{'volume-summary': {'total_count': 2, 'total_size': 3, 'metadata': {'k': ['v1', 'v2'], 'x': ['y']}}}"},
		{"all projects", "/v3/p1/volumes/summary?all_tenants=1", "volume 3.12", "{'volume-summary': {'total_count': 3, 'total_size': 7}}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: tc.path, version: tc.ver})
			wantStatus(t, rec, http.StatusOK)
			var v any = obj(t, rec)
			if tc.ver == "volume 3.36" { // map order is not JSON order; compare sorted
				md := member(t, v, "volume-summary", "metadata").(*wire.Object)
				sortKeys(md)
			}
			if got := wire.PyRepr(v); got != tc.want {
				t.Errorf("summary\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
	t.Run("before 3.12", func(t *testing.T) {
		wantFault(t, e.do(call{method: "GET", path: "/v3/p1/volumes/summary"}), http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	})
}

func sortKeys(o *wire.Object) {
	for i := range o.Keys {
		for j := i + 1; j < len(o.Keys); j++ {
			if o.Keys[j] < o.Keys[i] {
				o.Keys[i], o.Keys[j] = o.Keys[j], o.Keys[i]
			}
		}
	}
}

func TestUpdateVolume(t *testing.T) {
	e := newEnv(t)
	id := e.createVolume(`{"volume": {"size": 1, "name": "n0", "description": "d0", "metadata": {"a": "1"}}}`, "")
	put := func(body, version string) *wire.Object {
		t.Helper()
		rec := e.do(call{method: "PUT", path: "/v3/p1/volumes/" + id, body: body, version: version})
		wantStatus(t, rec, http.StatusOK)
		return obj(t, rec)
	}

	t.Run("name, description, metadata", func(t *testing.T) {
		body := put(`{"volume": {"name": " n1 ", "description": "d1", "metadata": {"b": "2"}}}`, "")
		v := member(t, body, "volume")
		sameKeys(t, "update", keysOf(t, v), createKeys30)
		if str(t, v, "name") != "n1" || str(t, v, "description") != "d1" || wire.PyRepr(member(t, v, "metadata")) != "{'b': '2'}" {
			t.Errorf("answer %s", wire.PyRepr(v))
		}
		if !timestampPattern.MatchString(str(t, v, "updated_at")) {
			t.Errorf("updated_at %s", wire.PyRepr(member(t, v, "updated_at")))
		}
		stored := e.volume(id)
		if stored.Name != "n1" || stored.Description != "d1" || len(stored.Metadata) != 1 || stored.Metadata["b"] != "2" {
			t.Errorf("stored %+v", stored)
		}
	})
	t.Run("legacy names", func(t *testing.T) {
		put(`{"volume": {"display_name": "n2", "display_description": null}}`, "")
		if stored := e.volume(id); stored.Name != "n2" || stored.Description != "" || stored.Metadata["b"] != "2" {
			t.Errorf("stored %+v", stored)
		}
	})
	t.Run("metadata cleared", func(t *testing.T) {
		v := member(t, put(`{"volume": {"metadata": {}}}`, "volume 3.53"), "volume")
		if wire.PyRepr(member(t, v, "metadata")) != "{}" || len(e.volume(id).Metadata) != 0 {
			t.Errorf("metadata %s", wire.PyRepr(member(t, v, "metadata")))
		}
	})
	t.Run("nothing to change before 3.53", func(t *testing.T) {
		if got := str(t, put(`{"volume": {}}`, ""), "volume", "name"); got != "n2" {
			t.Errorf("name %q", got)
		}
	})
	for _, tc := range []struct {
		name, body, version, message string
	}{
		{"nothing to change at 3.53", `{"volume": {}}`, "volume 3.53", "Invalid input for field/attribute volume. Value: {}. {} is not valid under any of the given schemas"},
		{"no body", ``, "", "None is not of type 'object'"},
		{"no volume", `{"name": "x"}`, "", "'volume' is a required property"},
		{"unexpected member", `{"volume": {}, "name": "x"}`, "", "Additional properties are not allowed ('name' was unexpected)"},
		{"size is not updatable", `{"volume": {"size": 2}}`, "", "Invalid input for field/attribute volume. Value: {'size': 2}. Additional properties are not allowed ('size' was unexpected)"},
		{"metadata null", `{"volume": {"metadata": null}}`, "", "Invalid input for field/attribute metadata. Value: None. None is not of type 'object'"},
		{"name too long", `{"volume": {"name": "` + strings.Repeat("é", 256) + `"}}`, "", "Invalid input received: name has 256 characters, more than 255."},
		{"malformed", `{"volume": {`, "", "Malformed request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "PUT", path: "/v3/p1/volumes/" + id, body: tc.body, version: tc.version})
			wantFault(t, rec, http.StatusBadRequest, "badRequest", tc.message)
			if stored := e.volume(id); stored.Name != "n2" {
				t.Errorf("a refused update changed the volume: %+v", stored)
			}
		})
	}
}

func TestDeleteVolume(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)

	t.Run("owned by a volume service", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		e.place(id, "host1@lvm#pool1", resource.StatusAvailable)
		before := len(e.disp.got())
		rec := e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id})
		wantStatus(t, rec, http.StatusAccepted)
		if rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "0" {
			t.Errorf("body %q", rec.Body)
		}
		if got := e.volume(id).Status; got != resource.StatusDeleting {
			t.Errorf("status %q, want deleting", got)
		}
		msgs := e.disp.got()[before:]
		if len(msgs) != 1 {
			t.Fatalf("dispatched %d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if m.Topic != rpc.TopicVolume || m.Server != "host1@lvm" || m.Method != rpcapi.DeleteVolume {
			t.Errorf("dispatched %+v", m)
		}
		if target := (rpc.Target{Topic: m.Topic, Server: m.Server}).String(); target != "scoria-volume.host1@lvm" {
			t.Errorf("target %s", target)
		}
		var args rpcapi.DeleteVolumeArgs
		if err := json.Unmarshal(m.Args, &args); err != nil || args.VolumeID != id {
			t.Errorf("args %s (%v)", m.Args, err)
		}
		// Deleting again finds it deleting: refused, nothing sent.
		rec = e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id})
		wantFault(t, rec, http.StatusBadRequest, "badRequest", wire.MsgDeleteState)
		if n := len(e.disp.got()) - before; n != 1 {
			t.Errorf("dispatched %d messages in all, want 1", n)
		}
	})
	t.Run("creating", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		before := len(e.disp.got())
		rec := e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id})
		wantFault(t, rec, http.StatusBadRequest, "badRequest",
			"Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
		if got := e.volume(id).Status; got != resource.StatusCreating {
			t.Errorf("status %q", got)
		}
		if len(e.disp.got()) != before {
			t.Error("a refused delete dispatched a message")
		}
	})
	t.Run("scheduling failed", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		if _, err := e.store.TransitionVolume(ctx, id, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
			t.Fatal(err)
		}
		before := len(e.disp.got())
		wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?cascade=true"}), http.StatusAccepted)
		wantFault(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + id}), http.StatusNotFound, "itemNotFound", "Volume "+id+" could not be found.")
		if len(e.disp.got()) != before {
			t.Error("deleting a volume without host dispatched a message")
		}
	})
	t.Run("in use", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		e.place(id, "host1@lvm#pool1", resource.StatusInUse)
		// Attached, as Cinder's force delete checks it: the status alone refuses nothing.
		if err := e.store.ResetVolumeState(ctx, id, resource.VolumeReset{AttachStatus: resource.AttachAttached}); err != nil {
			t.Fatal(err)
		}
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?force=true", version: "volume 3.23"}),
			http.StatusBadRequest, "badRequest", wire.MsgForceDeleteState)
	})
	t.Run("force is ignored before 3.23", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?force=true", version: "volume 3.22"}),
			http.StatusBadRequest, "badRequest", wire.MsgDeleteState)
	})
	t.Run("force, not yet scheduled", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?force=True", version: "volume 3.23"}), http.StatusAccepted)
		wantFault(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + id}), http.StatusNotFound, "itemNotFound", "Volume "+id+" could not be found.")
	})
	t.Run("force, stuck deleting", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		e.place(id, "host2@lvm#p", resource.StatusDeleting)
		before := len(e.disp.got())
		wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?force=1", version: "volume latest"}), http.StatusAccepted)
		if msgs := e.disp.got()[before:]; len(msgs) != 1 || msgs[0].Server != "host2@lvm" {
			t.Errorf("dispatched %+v", msgs)
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?cascade=maybe"}),
			http.StatusBadRequest, "badRequest", "Value 'maybe' for 'cascade' is not a boolean.")
		wantFault(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?force=maybe", version: "volume 3.23"}),
			http.StatusBadRequest, "badRequest", "Value 'maybe' for 'force' is not a boolean.")
	})
}
