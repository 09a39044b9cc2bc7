package api

import (
	"context"
	"encoding/json"
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

const (
	mv313     = "volume 3.13"
	mv314     = "volume 3.14"
	mv320     = "volume 3.20"
	mv325     = "volume 3.25"
	mv338     = "volume 3.38"
	mv358     = "volume 3.58"
	groupHost = "host1@lvm#pool1"
)

// addGroupType makes a group type by SQL (group types are another area's API).
func (e *env) addGroupType(name string, specs map[string]string) string {
	e.t.Helper()
	if name == resource.DefaultCGSnapshotTypeName {
		return db.DefaultCGSnapshotTypeID // seeded by migration 00015
	}
	id := uuid.NewString()
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	if _, err := e.raw.Exec(`INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)`, id, name, now); err != nil {
		e.t.Fatal(err)
	}
	for k, v := range specs {
		if _, err := e.raw.Exec("INSERT INTO group_type_specs (group_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)", id, k, v, now); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

// createGroup creates a group through the API and returns its id.
func (e *env) createGroup(body string) string {
	e.t.Helper()
	rec := e.do(call{method: "POST", path: "/v3/p1/groups", body: body, version: mv313})
	wantStatus(e.t, rec, http.StatusAccepted)
	return str(e.t, obj(e.t, rec), "group", "id")
}

// placeGroup does what the scheduler and the volume service would: a host and a status.
func (e *env) placeGroup(id, status string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.PlaceGroup(ctx, id, groupHost); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ResetGroupStatus(ctx, id, status); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) group(id string) *resource.Group {
	e.t.Helper()
	g, err := e.store.GetGroup(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get group %s: %v", id, err)
	}
	return g
}

// memberVolume creates an available volume of the default type on groupHost, in group (""
// for none), straight through the store.
func (e *env) memberVolume(group string) string {
	e.t.Helper()
	v := &resource.Volume{ProjectID: "p1", UserID: "u1", Size: 1, Status: resource.StatusAvailable, AttachStatus: resource.AttachDetached,
		AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID, Host: groupHost, GroupID: group, Metadata: map[string]string{}}
	if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
		e.t.Fatal(err)
	}
	return v.ID
}

func TestGroupListEmptyForHorizon(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, path, version string
		status              int
		body                string
	}{
		{"detail at 3.58, as Horizon asks", "/v3/p1/groups/detail", mv358, 200, `{"groups":[]}`},
		{"detail at 3.13", "/v3/p1/groups/detail", mv313, 200, `{"groups":[]}`},
		{"summary", "/v3/p1/groups", mv313, 200, `{"groups":[]}`},
		{"project-less URL (3.67)", "/v3/groups/detail", "volume 3.67", 200, `{"groups":[]}`},
		{"before 3.13", "/v3/p1/groups/detail", "volume 3.12", 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: c.path, version: c.version, header: asMember})
			wantStatus(t, rec, c.status)
			if c.body != "" && strings.TrimSpace(rec.Body.String()) != c.body {
				t.Errorf("body %s, want %s", rec.Body, c.body)
			}
		})
	}
}

func TestCreateGroup(t *testing.T) {
	e := newEnv(t)
	gt := e.addGroupType("gt1", nil)
	e.addGroupType(resource.DefaultCGSnapshotTypeName, nil)

	t.Run("accepted, by names", func(t *testing.T) {
		before := len(e.disp.got())
		rec := e.do(call{method: "POST", path: "/v3/p1/groups", version: mv313,
			body: `{"group": {"name": " g1 ", "description": "d", "group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`})
		wantStatus(t, rec, http.StatusAccepted)
		body := obj(t, rec)
		sameKeys(t, "group", keysOf(t, member(t, body, "group")), []string{"id", "name"})
		id := str(t, body, "group", "id")
		g := e.group(id)
		if g.Name != "g1" || g.GroupTypeID != gt || len(g.VolumeTypeIDs) != 1 || g.VolumeTypeIDs[0] != db.DefaultVolumeTypeID ||
			g.Status != resource.GroupStatusCreating || g.AvailabilityZone != "nova" {
			t.Errorf("group = %+v", g)
		}
		msgs := e.disp.got()[before:]
		if len(msgs) != 1 || msgs[0].Method != rpcapi.CreateGroup || msgs[0].Topic != "scoria-scheduler" {
			t.Fatalf("dispatched %+v, want create_group to the scheduler", msgs)
		}
		// The groups quota shows the group, as Cinder's quota set does.
		rec = e.do(call{method: "GET", path: "/v3/p1/os-quota-sets/p1?usage=true"})
		wantStatus(t, rec, http.StatusOK)
		var qs struct {
			QuotaSet map[string]json.RawMessage `json:"quota_set"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &qs); err != nil {
			t.Fatal(err)
		}
		if got := string(qs.QuotaSet["groups"]); !strings.Contains(got, `"in_use":1`) || !strings.Contains(got, `"limit":10`) {
			t.Errorf("quota set groups = %s, want limit 10 and in_use 1", got)
		}
	})

	for _, c := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no group_type", `{"group": {"volume_types": ["__DEFAULT__"]}}`, 400, "'group_type' is a required property"},
		{"no volume_types", `{"group": {"group_type": "gt1"}}`, 400, "'volume_types' is a required property"},
		{"empty volume_types", `{"group": {"group_type": "gt1", "volume_types": []}}`, 400, "[] is too short"},
		{"repeated volume type", `{"group": {"group_type": "gt1", "volume_types": ["a", "a"]}}`, 400, "has non-unique elements"},
		{"volume_types not a list", `{"group": {"group_type": "gt1", "volume_types": "x"}}`, 400, "is not of type 'array'"},
		{"empty group_type", `{"group": {"group_type": " ", "volume_types": ["__DEFAULT__"]}}`, 400, "is not a 'group_type'"},
		{"unknown member", `{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"], "size": 1}}`, 400, "Additional properties are not allowed ('size' was unexpected)"},
		{"not an object", `{"group": 5}`, 400, "5 is not of type 'object'"},
		{"no group", `{}`, 400, "'group' is a required property"},
		{"unknown group type name", `{"group": {"group_type": "nope", "volume_types": ["__DEFAULT__"]}}`, 404, "Group type with name nope could not be found."},
		{"unknown group type id", `{"group": {"group_type": "11111111-2222-3333-4444-555555555555", "volume_types": ["__DEFAULT__"]}}`, 404, "Group type 11111111-2222-3333-4444-555555555555 could not be found."},
		{"unknown volume type", `{"group": {"group_type": "gt1", "volume_types": ["nope"]}}`, 404, "Volume type with name nope could not be found."},
		{"reserved type", `{"group": {"group_type": "default_cgsnapshot_type", "volume_types": ["__DEFAULT__"]}}`, 400, "is reserved for migrating CGs to groups"},
		{"unknown zone", `{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"], "availability_zone": "az9"}}`, 400, "Invalid input received: Availability zone 'az9' is invalid."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/groups", version: mv313, body: c.body})
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
		})
	}

	t.Run("over quota", func(t *testing.T) {
		if _, err := e.store.UpdateProjectQuotas(context.Background(), "p1", map[string]int64{resource.QuotaGroups: 1}); err != nil {
			t.Fatal(err)
		}
		defer e.store.DeleteProjectQuotas(context.Background(), "p1")
		rec := e.do(call{method: "POST", path: "/v3/p1/groups", version: mv313, body: `{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`})
		wantFault(t, rec, http.StatusRequestEntityTooLarge, "overLimit", "Maximum number of groups allowed (1) exceeded")
	})
}

func TestShowAndListGroups(t *testing.T) {
	e := newEnv(t)
	e.addGroupType("gt1", nil)
	id := e.createGroup(`{"group": {"name": "g1", "group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
	e.placeGroup(id, resource.GroupStatusAvailable)
	vol := e.memberVolume(id)
	other := e.createGroup(`{"group": {"name": "g2", "group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)

	base := []string{"id", "status", "availability_zone", "created_at", "name", "description", "group_type", "volume_types"}
	for _, c := range []struct {
		name, path, version string
		header              map[string]string
		keys                []string
	}{
		{"3.13", "/v3/p1/groups/" + id, mv313, asMember, base},
		{"3.14", "/v3/p1/groups/" + id, mv314, asMember, append(base[:8:8], "group_snapshot_id", "source_group_id")},
		{"3.25 list_volume", "/v3/p1/groups/" + id + "?list_volume=True", mv325, asMember, append(base[:8:8], "group_snapshot_id", "source_group_id", "volumes")},
		{"3.38", "/v3/p1/groups/" + id, mv338, asMember, append(base[:8:8], "group_snapshot_id", "source_group_id", "replication_status")},
		{"3.58 member", "/v3/p1/groups/" + id, mv358, asMember, append(base[:8:8], "group_snapshot_id", "source_group_id", "replication_status")},
		{"3.58 admin", "/v3/p1/groups/" + id, mv358, nil, append(base[:8:8], "group_snapshot_id", "source_group_id", "replication_status", "project_id")},
	} {
		t.Run("show "+c.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: c.path, version: c.version, header: c.header})
			wantStatus(t, rec, http.StatusOK)
			sameKeys(t, "group", keysOf(t, member(t, obj(t, rec), "group")), c.keys)
		})
	}
	rec := e.do(call{method: "GET", path: "/v3/p1/groups/" + id + "?list_volume=true", version: mv325})
	var shown struct {
		Group struct {
			Volumes     []string `json:"volumes"`
			VolumeTypes []string `json:"volume_types"`
			GroupType   string   `json:"group_type"`
			Status      string   `json:"status"`
		} `json:"group"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown.Group.Volumes) != 1 || shown.Group.Volumes[0] != vol || shown.Group.Status != "available" ||
		len(shown.Group.VolumeTypes) != 1 || shown.Group.VolumeTypes[0] != db.DefaultVolumeTypeID {
		t.Errorf("show = %+v", shown.Group)
	}

	for _, c := range []struct {
		name, path, version string
		header              map[string]string
		status              int
		want                []string // ids in order
		links               bool
	}{
		{"summary, newest first", "/v3/p1/groups", mv313, asMember, 200, []string{other, id}, false},
		{"limit 1 links the next page", "/v3/p1/groups?limit=1", mv313, asMember, 200, []string{other}, true},
		{"marker", "/v3/p1/groups?marker=" + other, mv313, asMember, 200, []string{id}, false},
		{"sort by name", "/v3/p1/groups/detail?sort=name:asc", mv313, asMember, 200, []string{id, other}, false},
		{"name filter", "/v3/p1/groups/detail?name=g2", mv358, asMember, 200, []string{other}, false},
		{"member filter refused from 3.33", "/v3/p1/groups/detail?status=available", mv358, asMember, 400, nil, false},
		{"admin filters by status", "/v3/p1/groups/detail?status=available", mv358, nil, 200, []string{id}, false},
		{"admin filter on no column matches nothing", "/v3/p1/groups/detail?bogus=1", mv358, nil, 200, []string{}, false},
		{"bad sort key", "/v3/p1/groups?sort=bogus", mv313, asMember, 400, nil, false},
		{"bad limit", "/v3/p1/groups?limit=x", mv313, asMember, 400, nil, false},
		{"unknown marker", "/v3/p1/groups?marker=" + uuid.NewString(), mv313, asMember, 404, nil, false},
		{"another project sees nothing", "/v3/p2/groups/detail", mv313, nil, 200, []string{}, false},
	} {
		t.Run("list "+c.name, func(t *testing.T) {
			call := call{method: "GET", path: c.path, version: c.version, header: c.header}
			if strings.HasPrefix(c.path, "/v3/p2") {
				call.token = "u2:p2"
			}
			rec := e.do(call)
			wantStatus(t, rec, c.status)
			if c.status != 200 {
				return
			}
			var out struct {
				Groups []struct{ ID string } `json:"groups"`
				Links  []link                `json:"group_links"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, g := range out.Groups {
				got = append(got, g.ID)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("ids %v, want %v", got, c.want)
			}
			if (len(out.Links) > 0) != c.links {
				t.Errorf("links %v, want links: %v", out.Links, c.links)
			}
		})
	}
	// Another project's group is not found.
	rec = e.do(call{method: "GET", path: "/v3/p2/groups/" + id, version: mv313, token: "u2:p2", header: asMember})
	wantFault(t, rec, http.StatusNotFound, "itemNotFound", "Group "+id+" could not be found.")
}

func TestUpdateGroup(t *testing.T) {
	e := newEnv(t)
	e.addGroupType("gt1", nil)
	other := uuid.NewString()
	e.addVolumeType(other, "other")
	id := e.createGroup(`{"group": {"name": "g1", "group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
	e.placeGroup(id, resource.GroupStatusAvailable)
	in := e.memberVolume(id)
	free := e.memberVolume("")
	wrongType := e.memberVolume("")
	if _, err := e.raw.Exec("UPDATE volumes SET volume_type_id = ? WHERE id = ?", other, wrongType); err != nil {
		t.Fatal(err)
	}
	elsewhere := e.memberVolume("")
	if _, err := e.raw.Exec("UPDATE volumes SET host = 'host2@lvm#pool1' WHERE id = ?", elsewhere); err != nil {
		t.Fatal(err)
	}
	put := func(body string) *httptest.ResponseRecorder {
		return e.do(call{method: "PUT", path: "/v3/p1/groups/" + id, version: mv313, body: body, header: asMember})
	}
	for _, c := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"empty", `{"group": {}}`, 400, "is not valid under any of the given schemas"},
		{"unknown member", `{"group": {"size": 1}}`, 400, "Additional properties are not allowed"},
		{"same name only", `{"group": {"name": "g1"}}`, 400, "Invalid Group: Cannot update group " + id + " because no valid name, description, add_volumes, or remove_volumes were provided."},
		{"add and remove one volume", `{"group": {"add_volumes": "` + free + `", "remove_volumes": "` + free + `"}}`, 400, "are in both add and remove volume list"},
		{"add an unknown volume", `{"group": {"add_volumes": "` + uuid.NewString() + `"}}`, 400, "because volume cannot be found."},
		{"add a volume of another type", `{"group": {"add_volumes": "` + wrongType + `"}}`, 400, "is not supported by the group."},
		{"add a volume of another backend", `{"group": {"add_volumes": "` + elsewhere + `"}}`, 400, "Invalid volume: Volume is not local to this node."},
		{"remove a volume not in it", `{"group": {"remove_volumes": "` + free + `"}}`, 400, "because it is not in the group."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := put(c.body)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
			if g := e.group(id); g.Status != resource.GroupStatusAvailable || g.Name != "g1" {
				t.Errorf("a refused update changed the group: %+v", g)
			}
		})
	}
	t.Run("rename", func(t *testing.T) {
		wantStatus(t, put(`{"group": {"name": "g2", "description": "dd"}}`), http.StatusAccepted)
		if g := e.group(id); g.Name != "g2" || g.Description != "dd" || g.Status != resource.GroupStatusAvailable {
			t.Errorf("group = %+v", g)
		}
	})
	t.Run("add and remove", func(t *testing.T) {
		before := len(e.disp.got())
		wantStatus(t, put(`{"group": {"add_volumes": "`+free+`,`+in+`,", "remove_volumes": ""}}`), http.StatusAccepted)
		if g := e.group(id); g.Status != resource.GroupStatusUpdating {
			t.Errorf("status %s, want updating", g.Status)
		}
		var args rpcapi.UpdateGroupArgs
		e.lastMessage(before, rpcapi.UpdateGroup, &args)
		if len(args.AddVolumes) != 1 || args.AddVolumes[0] != free || len(args.RemoveVolumes) != 0 {
			t.Errorf("update_group args %+v: the member already in is not added again", args)
		}
		rec := put(`{"group": {"remove_volumes": "` + in + `"}}`)
		wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid Group: Group status must be available.")
	})
}

func TestDeleteAndResetGroup(t *testing.T) {
	e := newEnv(t)
	e.addGroupType("gt1", nil)
	action := func(id, version, body string, header map[string]string) *httptest.ResponseRecorder {
		return e.do(call{method: "POST", path: "/v3/p1/groups/" + id + "/action", version: version, body: body, header: header})
	}
	t.Run("unplaced: gone at once, quota back", func(t *testing.T) {
		id := e.createGroup(`{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
		wantStatus(t, action(id, mv313, `{"delete": {}}`, asMember), http.StatusAccepted)
		if _, err := e.store.GetGroup(context.Background(), id); err == nil {
			t.Error("group still there")
		}
		qs, _ := e.store.ProjectQuotas(context.Background(), "p1")
		if q, _ := qs.Get(resource.QuotaGroups); q.InUse != 0 {
			t.Errorf("groups in use %d, want 0", q.InUse)
		}
	})
	id := e.createGroup(`{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
	e.placeGroup(id, resource.GroupStatusAvailable)
	vol := e.memberVolume(id)
	for _, c := range []struct {
		name, version, body string
		header              map[string]string
		status              int
		msg                 string
	}{
		{"with volumes, no flag", mv313, `{"delete": {}}`, asMember, 400, "Invalid Group: Group " + id + " still contains volumes. The delete-volumes flag is required to delete it."},
		{"bad flag", mv313, `{"delete": {"delete-volumes": "maybe"}}`, asMember, 400, "is not one of"},
		{"unknown member", mv313, `{"delete": {"force": true}}`, asMember, 400, "Additional properties are not allowed"},
		{"unknown action", mv313, `{"explode": {}}`, asMember, 400, "There is no such action: explode"},
		{"reset_status before 3.20", "volume 3.19", `{"reset_status": {"status": "error"}}`, nil, 404, ""},
		{"reset_status by a member", mv320, `{"reset_status": {"status": "error"}}`, asMember, 403, "Policy doesn't allow group:reset_status to be performed."},
		{"reset_status to nonsense", mv320, `{"reset_status": {"status": "fine"}}`, nil, 400, "'fine' is not a 'group_status'"},
		{"replication of a plain type", mv338, `{"enable_replication": {}}`, asMember, 400, "Invalid group type: Group " + id + " is not a replication group type."},
		{"replication targets", mv338, `{"list_replication_targets": {}}`, asMember, 400, "is not a replication group type."},
		{"replication before 3.38", "volume 3.37", `{"failover_replication": {}}`, asMember, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := action(id, c.version, c.body, c.header)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
			if g := e.group(id); g.Status != resource.GroupStatusAvailable {
				t.Errorf("group is %s after a refused action", g.Status)
			}
		})
	}
	t.Run("a member volume is not deleted alone", func(t *testing.T) {
		rec := e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + vol, header: asMember})
		wantStatus(t, rec, http.StatusBadRequest)
	})
	t.Run("reset_status", func(t *testing.T) {
		wantStatus(t, action(id, mv320, `{"reset_status": {"status": "ERROR"}}`, nil), http.StatusAccepted)
		if g := e.group(id); g.Status != resource.GroupStatusError {
			t.Errorf("status %s, want error", g.Status)
		}
	})
	t.Run("delete with volumes", func(t *testing.T) {
		before := len(e.disp.got())
		wantStatus(t, action(id, mv313, `{"delete": {"delete-volumes": true}}`, asMember), http.StatusAccepted)
		var args rpcapi.GroupArgs
		e.lastMessage(before, rpcapi.DeleteGroup, &args)
		if args.GroupID != id || e.group(id).Status != resource.GroupStatusDeleting || e.volume(vol).Status != resource.StatusDeleting {
			t.Errorf("args %+v, group %s, volume %s", args, e.group(id).Status, e.volume(vol).Status)
		}
	})
}

func TestCreateGroupFromSourceAndVolumesInGroups(t *testing.T) {
	e := newEnv(t)
	e.addGroupType("gt1", nil)
	other := uuid.NewString()
	e.addVolumeType(other, "other")
	e.groupPool(100) // the clones claim capacity there
	src := e.createGroup(`{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
	e.placeGroup(src, resource.GroupStatusAvailable)
	empty := e.createGroup(`{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
	e.placeGroup(empty, resource.GroupStatusAvailable)

	t.Run("volume into a group", func(t *testing.T) {
		rec := e.do(call{method: "POST", path: "/v3/p1/volumes", version: mv313, body: `{"volume": {"size": 1, "group_id": "` + src + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		if g := str(t, obj(t, rec), "volume", "group_id"); g != src {
			t.Errorf("group_id %q", g)
		}
		rec = e.do(call{method: "POST", path: "/v3/p1/volumes", version: mv313, body: `{"volume": {"size": 1, "volume_type": "other", "group_id": "` + src + `"}}`})
		wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid input received: Invalid volume_type provided: other (requested type must be supported by this group).")
		rec = e.do(call{method: "POST", path: "/v3/p1/volumes", version: mv313, body: `{"volume": {"size": 1, "group_id": "` + uuid.NewString() + `"}}`})
		wantStatus(t, rec, http.StatusNotFound)
		rec = e.do(call{method: "GET", path: "/v3/p1/volumes/detail?group_id=" + src, version: "volume 3.10"})
		var out struct{ Volumes []struct{ ID string } }
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if len(out.Volumes) != 1 {
			t.Errorf("volumes of the group: %s", rec.Body)
		}
	})
	// The volume created above is the source's member; make it available there.
	members, _ := e.store.ListGroupVolumes(context.Background(), src)
	e.place(members[0].ID, groupHost, resource.StatusAvailable)

	for _, c := range []struct {
		name, version, body string
		status              int
		msg                 string
	}{
		{"before 3.14", mv313, `{"create-from-src": {"source_group_id": "` + src + `"}}`, 404, ""},
		{"both sources", mv314, `{"create-from-src": {"source_group_id": "` + src + `", "group_snapshot_id": "` + src + `"}}`, 400, "is valid under each of"},
		{"no source", mv314, `{"create-from-src": {"name": "x"}}`, 400, "is not valid under any of the given schemas"},
		{"not a uuid", mv314, `{"create-from-src": {"source_group_id": "x"}}`, 400, "'x' is not a 'uuid'"},
		{"empty source", mv314, `{"create-from-src": {"source_group_id": "` + empty + `"}}`, 400, "Invalid Group: Source Group is empty. No group will be created."},
		{"unknown group snapshot", mv314, `{"create-from-src": {"group_snapshot_id": "` + empty + `"}}`, 404, "GroupSnapshot " + empty + " could not be found."},
		{"unknown action", mv314, `{"create": {}}`, 400, "There is no such action: create"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/groups/action", version: c.version, body: c.body})
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.msg) {
				t.Errorf("body %s, want it to contain %q", rec.Body, c.msg)
			}
		})
	}
	t.Run("clone of a group", func(t *testing.T) {
		before := len(e.disp.got())
		rec := e.do(call{method: "POST", path: "/v3/p1/groups/action", version: mv314, body: `{"create-from-src": {"name": "copy", "source_group_id": "` + src + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		id := str(t, obj(t, rec), "group", "id")
		g := e.group(id)
		if g.SourceGroupID != src || g.Host != groupHost || g.Status != resource.GroupStatusCreating {
			t.Errorf("group = %+v", g)
		}
		vols, _ := e.store.ListGroupVolumes(context.Background(), id)
		if len(vols) != 1 || vols[0].SourceVolID != members[0].ID || vols[0].Status != resource.StatusCreating || vols[0].Host != groupHost {
			t.Errorf("members = %+v", vols)
		}
		var args rpcapi.GroupArgs
		e.lastMessage(before, rpcapi.CreateGroup, &args)
		if args.GroupID != id {
			t.Errorf("args %+v", args)
		}
	})
}
