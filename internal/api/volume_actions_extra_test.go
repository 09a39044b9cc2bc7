package api

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/volume"
	"github.com/scoria/scoria/pkg/driver"
)

func TestVolumeAdminAndFlagActions(t *testing.T) {
	e := newEnv(t)
	avail := e.createVolume(`{"volume": {"size": 1}}`, "")
	e.place(avail, "host@b#p", resource.StatusAvailable)
	creating := e.createVolume(`{"volume": {"size": 1}}`, "")
	maint := e.createVolume(`{"volume": {"size": 1}}`, "")
	e.setState(maint, resource.StatusMaintenance)
	theirs := e.createVolume(`{"volume": {"size": 1}}`, "u2:p2")
	const missing = "00000000-0000-0000-0000-000000000000"

	for _, tc := range []struct {
		name, id, body string
		headers        map[string]string
		status         int
		fault, message string
	}{
		{"reset: null", avail, `{"os-reset_status": null}`, nil, 400, "badRequest", "Invalid input for field/attribute os-reset_status. Value: None. None is not of type 'object'"},
		{"reset: empty string", avail, `{"os-reset_status": ""}`, nil, 400, "badRequest", "Invalid input for field/attribute os-reset_status. Value: . '' is not of type 'object'"},
		{"reset: nothing to set", avail, `{"os-reset_status": {}}`, nil, 400, "badRequest", "Must specify 'status', 'attach_status' or 'migration_status' for update."},
		{"reset: bad status", avail, `{"os-reset_status": {"status": "fine"}}`, nil, 400, "badRequest", "Volume status: fine is invalid, valid statuses are: " + pyTuple(volumeStatuses) + "."},
		{"reset: bad attach status", avail, `{"os-reset_status": {"attach_status": "glued"}}`, nil, 400, "badRequest", "Volume attach status: glued is invalid, valid statuses are: ['attached', 'detached']."},
		{"reset: bad migration status", avail, `{"os-reset_status": {"migration_status": "gone"}}`, nil, 400, "badRequest", "Volume migration status: gone is invalid, valid statuses are: ('migrating', 'error', 'success', 'completing', 'none', 'starting')."},
		{"reset: status not a string", avail, `{"os-reset_status": {"status": 1}}`, nil, 400, "badRequest", "Invalid input for field/attribute status. Value: 1. 1 is not of type 'string', 'null'"},
		{"reset: extra member", avail, `{"os-reset_status": {"status": "error", "why": "x"}}`, nil, 400, "badRequest", "Invalid input for field/attribute os-reset_status. Value: {'status': 'error', 'why': 'x'}. Additional properties are not allowed ('why' was unexpected)"},
		{"reset: member", avail, `{"os-reset_status": {"status": "error"}}`, nonAdmin, 403, "forbidden", "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed."},
		{"reset: unknown volume", missing, `{"os-reset_status": {"status": "error"}}`, nil, 404, "itemNotFound", "Volume " + missing + " could not be found."},
		{"force delete: member", avail, `{"os-force_delete": null}`, nonAdmin, 403, "forbidden", "Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be performed."},
		{"force delete: another project's volume, member", theirs, `{"os-force_delete": {}}`, nonAdmin, 404, "itemNotFound", "Volume " + theirs + " could not be found."},
		{"bootable: null", avail, `{"os-set_bootable": null}`, nil, 400, "badRequest", "Invalid input for field/attribute os-set_bootable. Value: None. None is not of type 'object'"},
		{"bootable: missing", avail, `{"os-set_bootable": {}}`, nil, 400, "badRequest", "Invalid input for field/attribute os-set_bootable. Value: {}. 'bootable' is a required property"},
		{"bootable: not a boolean", avail, `{"os-set_bootable": {"bootable": "maybe"}}`, nil, 400, "badRequest", "Invalid input for field/attribute bootable. Value: maybe. 'maybe' is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']"},
		{"bootable: number", avail, `{"os-set_bootable": {"bootable": 1}}`, nil, 400, "badRequest", "Invalid input for field/attribute bootable. Value: 1. 1 is not of type 'boolean', 'string'"},
		{"bootable: maintenance", maint, `{"os-set_bootable": {"bootable": true}}`, nil, 400, "badRequest", "Invalid volume: The volume cannot be updated during maintenance."},
		{"readonly: empty", avail, `{"os-update_readonly_flag": ""}`, nil, 400, "badRequest", "Invalid input for field/attribute os-update_readonly_flag. Value: . '' is not of type 'object'"},
		{"readonly: not available", creating, `{"os-update_readonly_flag": {"readonly": true}}`, nil, 400, "badRequest", "Invalid volume: Volume " + creating + " status must be available to update readonly flag, but current status is: creating."},
		{"readonly: another project's volume", theirs, `{"os-update_readonly_flag": {"readonly": true}}`, nonAdmin, 404, "itemNotFound", "Volume " + theirs + " could not be found."},
		{"image metadata: no metadata", avail, `{"os-set_image_metadata": {}}`, nil, 400, "badRequest", "Invalid input for field/attribute os-set_image_metadata. Value: {}. 'metadata' is a required property"},
		{"image metadata: bad value", avail, `{"os-set_image_metadata": {"metadata": {"k": 1}}}`, nil, 400, "badRequest", "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"},
		{"image metadata: maintenance", maint, `{"os-set_image_metadata": {"metadata": {"k": "v"}}}`, nil, 400, "badRequest", "Invalid volume: Updating volume metadata is not allowed for volumes in maintenance status."},
		{"unset image metadata: null", avail, `{"os-unset_image_metadata": null}`, nil, 400, "badRequest", "Invalid input for field/attribute os-unset_image_metadata. Value: None. None is not of type 'object'"},
		{"unset image metadata: empty key", avail, `{"os-unset_image_metadata": {"key": ""}}`, nil, 400, "badRequest", "Invalid input for field/attribute key. Value: . '' is too short"},
		{"unset image metadata: missing key", avail, `{"os-unset_image_metadata": {"key": "nope"}}`, nil, 404, "itemNotFound", "Glance metadata for volume/snapshot " + avail + " cannot be found."},
		{"show image metadata: unknown volume", missing, `{"os-show_image_metadata": null}`, nil, 404, "itemNotFound", "Volume " + missing + " could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFault(t, e.action(tc.id, tc.body, tc.headers), tc.status, tc.fault, tc.message)
		})
	}

	t.Run("reset status and attach status", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		wantStatus(t, e.action(id, `{"os-reset_status": {"status": "ERROR", "attach_status": "attached", "migration_status": "none"}}`, nil), http.StatusAccepted)
		v := e.volume(id)
		if v.Status != "error" || v.AttachStatus != "attached" {
			t.Errorf("status %s, attach status %s", v.Status, v.AttachStatus)
		}
	})
	for _, body := range []string{`null`, `{}`, `""`} {
		t.Run("force delete with "+body, func(t *testing.T) {
			id := e.createVolume(`{"volume": {"size": 1}}`, "")
			e.setState(id, resource.StatusError)
			wantStatus(t, e.action(id, `{"os-force_delete": `+body+`}`, nil), http.StatusAccepted)
			wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + id}), http.StatusNotFound)
		})
		t.Run("show image metadata with "+body, func(t *testing.T) {
			rec := e.action(avail, `{"os-show_image_metadata": `+body+`}`, nil)
			wantStatus(t, rec, http.StatusOK)
			member(t, obj(t, rec), "metadata")
		})
	}
	t.Run("bootable shows", func(t *testing.T) {
		for _, tc := range []struct{ arg, want string }{{`true`, "true"}, {`"off"`, "false"}, {`"YES"`, "true"}} {
			rec := e.action(avail, `{"os-set_bootable": {"bootable": `+tc.arg+`}}`, nonAdmin)
			wantStatus(t, rec, http.StatusOK)
			if rec.Body.Len() != 0 {
				t.Errorf("body %q", rec.Body)
			}
			if got := str(t, obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + avail})), "volume", "bootable"); got != tc.want {
				t.Errorf("bootable %s after %s, want %s", got, tc.arg, tc.want)
			}
		}
	})
	t.Run("readonly shows in metadata", func(t *testing.T) {
		for _, tc := range []struct{ arg, want string }{{`true`, "True"}, {`"false"`, "False"}} {
			wantStatus(t, e.action(avail, `{"os-update_readonly_flag": {"readonly": `+tc.arg+`}}`, nonAdmin), http.StatusAccepted)
			body := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + avail}))
			if got := str(t, body, "volume", "metadata", "readonly"); got != tc.want {
				t.Errorf("readonly %s, want %s", got, tc.want)
			}
			// Not among the user metadata of GET …/metadata.
			if obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + avail + "/metadata"})).Vals["metadata"].(*wire.Object).Has("readonly") {
				t.Error("readonly listed as user metadata")
			}
		}
	})
	t.Run("image metadata round trip", func(t *testing.T) {
		rec := e.action(avail, `{"os-set_image_metadata": {"metadata": {"os_distro": "debian", "min_ram": "512"}}}`, nonAdmin)
		wantStatus(t, rec, http.StatusOK)
		if got := str(t, obj(t, rec), "metadata", "os_distro"); got != "debian" {
			t.Errorf("os_distro %q", got)
		}
		show := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + avail}))
		if got := str(t, show, "volume", "volume_image_metadata", "min_ram"); got != "512" {
			t.Errorf("volume_image_metadata.min_ram %q", got)
		}
		detail := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/detail"}))
		for _, v := range member(t, detail, "volumes").([]any) {
			if !v.(*wire.Object).Has("volume_image_metadata") {
				t.Errorf("volume %s of the detail list has no volume_image_metadata", str(t, v, "id"))
			}
		}
		wantStatus(t, e.action(avail, `{"os-unset_image_metadata": {"key": "min_ram"}}`, nil), http.StatusOK)
		rec = e.action(avail, `{"os-show_image_metadata": null}`, nil)
		if keys := keysOf(t, member(t, obj(t, rec), "metadata")); len(keys) != 1 || keys[0] != "os_distro" {
			t.Errorf("image metadata keys %v", keys)
		}
		if obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + creating})).Vals["volume"].(*wire.Object).Has("volume_image_metadata") {
			t.Error("a volume without image metadata shows volume_image_metadata")
		}
	})
}

func TestVolumeMetadataEndpoints(t *testing.T) {
	e := newEnv(t)
	id := e.createVolume(`{"volume": {"size": 1, "metadata": {"a": "1", "b": "2"}}}`, "")
	maint := e.createVolume(`{"volume": {"size": 1, "metadata": {"a": "1"}}}`, "")
	e.setState(maint, resource.StatusMaintenance)
	theirs := e.createVolume(`{"volume": {"size": 1}}`, "u2:p2")
	base := "/v3/p1/volumes/" + id + "/metadata"
	metadata := func(t *testing.T) map[string]string {
		md := map[string]string{}
		o := member(t, obj(t, e.do(call{method: "GET", path: base})), "metadata").(*wire.Object)
		for _, k := range o.Keys {
			md[k] = o.Vals[k].(string)
		}
		return md
	}

	steps := []struct {
		name, method, path, body string
		status                   int
		want                     map[string]string
	}{
		{"merge", "POST", base, `{"metadata": {"b": "3", "c": "4"}}`, 200, map[string]string{"a": "1", "b": "3", "c": "4"}},
		{"set one", "PUT", base + "/a", `{"meta": {"a": "9"}}`, 200, map[string]string{"a": "9", "b": "3", "c": "4"}},
		{"delete one", "DELETE", base + "/c", ``, 200, map[string]string{"a": "9", "b": "3"}},
		{"replace all", "PUT", base, `{"metadata": {"z": "0"}}`, 200, map[string]string{"z": "0"}},
		{"replace with null clears", "PUT", base, `{"metadata": null}`, 200, map[string]string{}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			wantStatus(t, e.do(call{method: st.method, path: st.path, body: st.body}), st.status)
			got := metadata(t)
			if len(got) != len(st.want) {
				t.Fatalf("metadata %v, want %v", got, st.want)
			}
			for k, v := range st.want {
				if got[k] != v {
					t.Errorf("metadata %v, want %v", got, st.want)
				}
			}
		})
	}
	wantStatus(t, e.do(call{method: "PUT", path: base + "/k", body: `{"meta": {"k": "v"}}`}), 200)
	t.Run("show one", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: base + "/k"})
		wantStatus(t, rec, 200)
		if got := str(t, obj(t, rec), "meta", "k"); got != "v" {
			t.Errorf("meta.k %q", got)
		}
	})

	for _, tc := range []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		fault, message           string
	}{
		{"show missing key", "GET", base + "/nope", "", nil, 404, "itemNotFound", "Volume " + id + " has no metadata with key nope."},
		{"delete missing key", "DELETE", base + "/nope", "", nil, 404, "itemNotFound", "Volume " + id + " has no metadata with key nope."},
		{"URI mismatch", "PUT", base + "/k", `{"meta": {"j": "v"}}`, nil, 400, "badRequest", "Request body and URI mismatch"},
		{"too many items", "PUT", base + "/k", `{"meta": {"k": "v", "j": "w"}}`, nil, 400, "badRequest", "Request body contains too many items"},
		{"no metadata member", "POST", base, `{"meta": {"k": "v"}}`, nil, 400, "badRequest", "'metadata' is a required property"},
		{"bad key", "POST", base, `{"metadata": {"k*": "v"}}`, nil, 400, "badRequest", "Invalid input for field/attribute metadata. Value: {'k*': 'v'}. 'k*' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"},
		{"value too long", "POST", base, `{"metadata": {"k": "` + string(make([]byte, 0)) + longString(256) + `"}}`, nil, 400, "badRequest", "Invalid input for field/attribute k. Value: " + longString(256) + ". '" + longString(256) + "' is too long"},
		{"no body", "PUT", base, ``, nil, 400, "badRequest", "None is not of type 'object'"},
		{"maintenance", "POST", "/v3/p1/volumes/" + maint + "/metadata", `{"metadata": {"k": "v"}}`, nil, 400, "badRequest", "Invalid volume: Updating volume metadata is not allowed for volumes in maintenance status."},
		{"maintenance delete", "DELETE", "/v3/p1/volumes/" + maint + "/metadata/a", ``, nil, 400, "badRequest", "Invalid volume: Deleting volume metadata is not allowed for volumes in maintenance status."},
		{"another project's volume", "GET", "/v3/p1/volumes/" + theirs + "/metadata", "", nonAdmin, 404, "itemNotFound", "Volume " + theirs + " could not be found."},
		{"another project's volume, write", "POST", "/v3/p1/volumes/" + theirs + "/metadata", `{"metadata": {}}`, nonAdmin, 404, "itemNotFound", "Volume " + theirs + " could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFault(t, e.do(call{method: tc.method, path: tc.path, body: tc.body, header: tc.headers}), tc.status, tc.fault, tc.message)
		})
	}
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

// TestForceDeleteWhateverStatus: os-force_delete (and DELETE ?force=true from 3.23) deletes a
// volume in any status, as Cinder's force delete checks none: what an operator uses to clean
// up after a failure (issue 12, item 9). The volume service's delete then removes the storage
// and gives the quota back once. What still refuses it is Cinder's: being attached, a live
// attachment, a snapshot.
func TestForceDeleteWhateverStatus(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	drv := &localfile.Driver{Dir: filepath.Join(t.TempDir(), "vols"), BackendName: "file", PoolName: "file"}
	if err := drv.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	// The real volume service of host node@file; its handler is called with each delete_volume.
	m := &volume.Manager{Host: "node@file", Driver: drv, Store: e.store, Log: logrus.New()}
	placed := func(t *testing.T, status string) string {
		t.Helper()
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		e.place(id, "node@file#file", resource.StatusAvailable)
		if _, err := drv.Create(ctx, driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: 1, Pool: "file"}); err != nil {
			t.Fatal(err)
		}
		e.setState(id, status)
		return id
	}
	deleteOnService := func(t *testing.T, id string, before int) {
		t.Helper()
		msgs := e.disp.got()[before:]
		if len(msgs) != 1 || msgs[0].Method != rpcapi.DeleteVolume || msgs[0].Server != "node@file" {
			t.Fatalf("dispatched %+v, want one delete_volume to node@file", msgs)
		}
		if got := e.volume(id).Status; got != resource.StatusDeleting {
			t.Fatalf("status %s after the force delete, want deleting", got)
		}
		if err := m.DeleteVolume(reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID()}), id); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + id}), http.StatusNotFound)
		if ok, err := drv.Exists(ctx, driver.Volume{ID: id, Name: driver.StorageName(id)}); err != nil || ok {
			t.Errorf("volume file exists %v (%v) after the delete", ok, err)
		}
	}
	statuses := append(slices.Clone(volumeStatuses), resource.StatusReverting)
	for _, status := range statuses {
		t.Run("os-force_delete from "+status, func(t *testing.T) {
			id := placed(t, status)
			before := len(e.disp.got())
			wantStatus(t, e.action(id, `{"os-force_delete": {}}`, nil), http.StatusAccepted)
			deleteOnService(t, id, before)
		})
	}
	for _, status := range []string{resource.StatusAttaching, resource.StatusMaintenance, resource.StatusInUse} {
		t.Run("DELETE ?force=true from "+status, func(t *testing.T) {
			id := placed(t, status)
			before := len(e.disp.got())
			wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/volumes/" + id + "?force=true", version: "volume 3.23"}), http.StatusAccepted)
			deleteOnService(t, id, before)
		})
		t.Run("unplaced, from "+status, func(t *testing.T) {
			id := e.createVolume(`{"volume": {"size": 1}}`, "")
			e.setState(id, status)
			wantStatus(t, e.action(id, `{"os-force_delete": null}`, nil), http.StatusAccepted)
			wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + id}), http.StatusNotFound)
		})
	}
	t.Run("a transfer goes with its volume", func(t *testing.T) {
		id := placed(t, resource.StatusAvailable)
		rec := e.do(call{method: "POST", path: "/v3/p1/os-volume-transfer", body: `{"transfer": {"volume_id": "` + id + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		transfer := str(t, obj(t, rec), "transfer", "id")
		before := len(e.disp.got())
		wantStatus(t, e.action(id, `{"os-force_delete": {}}`, nil), http.StatusAccepted)
		deleteOnService(t, id, before)
		wantFault(t, e.do(call{method: "GET", path: "/v3/p1/os-volume-transfer/" + transfer}), 404, "itemNotFound", "Transfer "+transfer+" could not be found.")
	})
	if got := e.quotaUsage(); got != "volumes=0/0 gigabytes=0/0" {
		t.Errorf("quota usage %s after every volume was deleted, want none", got)
	}

	t.Run("refused", func(t *testing.T) {
		attached := placed(t, resource.StatusInUse)
		if err := e.store.ResetVolumeState(ctx, attached, resource.VolumeReset{AttachStatus: resource.AttachAttached}); err != nil {
			t.Fatal(err)
		}
		reserved := placed(t, resource.StatusAvailable)
		wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27",
			body: `{"attachment": {"volume_uuid": "` + reserved + `"}}`}), http.StatusOK)
		e.setState(reserved, resource.StatusMaintenance) // an admin reset it; the attachment is still there
		snapped := placed(t, resource.StatusAvailable)
		e.createSnapshot(snapped, "")
		e.setState(snapped, resource.StatusMaintenance)
		for _, tc := range []struct{ name, id, status string }{
			{"attached", attached, resource.StatusInUse},
			{"with an attachment", reserved, resource.StatusMaintenance},
			{"with a snapshot", snapped, resource.StatusMaintenance},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(e.disp.got())
				wantFault(t, e.action(tc.id, `{"os-force_delete": {}}`, nil), 400, "badRequest", wire.MsgForceDeleteState)
				if got := e.volume(tc.id).Status; got != tc.status || len(e.disp.got()) != before {
					t.Errorf("status %s and %d messages after a refused force delete, want %s and none", got, len(e.disp.got())-before, tc.status)
				}
			})
		}
	})
}
