package api

import (
	"net/http"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// availableVolume creates a volume of size GiB through the API and makes it available.
func (e *env) availableVolume(size string, token string) string {
	e.t.Helper()
	id := e.createVolume(`{"volume": {"size": `+size+`}}`, token)
	e.place(id, "h@b#p", resource.StatusAvailable)
	return id
}

func TestTransferLifecycle(t *testing.T) {
	for _, col := range []struct{ path, version string }{{"os-volume-transfer", ""}, {"volume-transfers", "volume 3.57"}} {
		t.Run(col.path, func(t *testing.T) {
			e := newEnv(t)
			vol := e.availableVolume("2", "")
			base := "/v3/p1/" + col.path

			rec := e.do(call{method: "POST", path: base, version: col.version, body: `{"transfer": {"volume_id": "` + vol + `", "name": " gift "}}`})
			wantStatus(t, rec, http.StatusAccepted)
			body := obj(t, rec)
			want := []string{"id", "created_at", "name", "volume_id", "auth_key", "links"}
			if col.version != "" {
				want = []string{"id", "created_at", "name", "volume_id", "auth_key", "no_snapshots", "destination_project_id", "source_project_id", "accepted", "links"}
			}
			sameKeys(t, "transfer", keysOf(t, member(t, body, "transfer")), want)
			id, key := str(t, body, "transfer", "id"), str(t, body, "transfer", "auth_key")
			if str(t, body, "transfer", "name") != "gift" || len(key) != 16 {
				t.Errorf("transfer %s", rec.Body)
			}
			if got := e.volume(vol).Status; got != resource.StatusAwaitingTransfer {
				t.Errorf("volume %s, want awaiting-transfer", got)
			}

			rec = e.do(call{method: "GET", path: base + "/" + id, version: col.version})
			wantStatus(t, rec, http.StatusOK)
			if _, has := obj(t, rec).Vals["transfer"].(*wire.Object).Vals["auth_key"]; has {
				t.Errorf("show reveals the auth key: %s", rec.Body)
			}
			rec = e.do(call{method: "GET", path: base, version: col.version})
			sameKeys(t, "summary", keysOf(t, member(t, obj(t, rec), "transfers", 0)), []string{"id", "name", "volume_id", "links"})
			wantStatus(t, e.do(call{method: "GET", path: base + "/detail", version: col.version}), http.StatusOK)

			// Another project: cannot see it, cannot accept with a wrong key, is over quota.
			other := "u2:p2"
			wantFault(t, e.do(call{method: "GET", path: "/v3/p2/" + col.path + "/" + id, token: other, version: col.version, header: memberOfP1}),
				404, "itemNotFound", "Transfer "+id+" could not be found.")
			wantFault(t, e.do(call{method: "POST", path: "/v3/p2/" + col.path + "/" + id + "/accept", token: other, version: col.version,
				body: `{"accept": {"auth_key": "nope"}}`}), 400, "badRequest", "Invalid auth key: Attempt to transfer "+id+" with invalid auth key.")
			wantStatus(t, e.do(call{method: "PUT", path: "/v3/p1/os-quota-sets/p2", body: `{"quota_set": {"volumes": 0}}`}), http.StatusOK)
			wantFault(t, e.do(call{method: "POST", path: "/v3/p2/" + col.path + "/" + id + "/accept", token: other, version: col.version,
				body: `{"accept": {"auth_key": "` + key + `"}}`}), 413, "overLimit", "Maximum number of volumes allowed (0) exceeded for quota 'volumes'.")
			if got := e.volume(vol); got.ProjectID != "p1" || got.Status != resource.StatusAwaitingTransfer {
				t.Errorf("after refused accepts: project %s status %s", got.ProjectID, got.Status)
			}
			wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/os-quota-sets/p2"}), http.StatusOK)

			rec = e.do(call{method: "POST", path: "/v3/p2/" + col.path + "/" + id + "/accept", token: other, version: col.version,
				body: `{"accept": {"auth_key": "` + key + `"}}`})
			wantStatus(t, rec, http.StatusAccepted)
			sameKeys(t, "accept", keysOf(t, member(t, obj(t, rec), "transfer")), []string{"id", "name", "volume_id", "links"})
			if got := e.volume(vol); got.ProjectID != "p2" || got.UserID != "u2" || got.Status != resource.StatusAvailable {
				t.Errorf("after accept: project %s user %s status %s", got.ProjectID, got.UserID, got.Status)
			}
			rec = e.do(call{method: "GET", path: "/v3/p2/limits", token: other})
			if got := num(t, obj(t, rec), "limits", "absolute", "totalGigabytesUsed"); got != "2" {
				t.Errorf("p2 gigabytes used %s, want 2", got)
			}
			wantFault(t, e.do(call{method: "GET", path: base + "/" + id, version: col.version}), 404, "itemNotFound", "Transfer "+id+" could not be found.")
		})
	}
}

func TestTransferRefusals(t *testing.T) {
	e := newEnv(t)
	vol := e.availableVolume("1", "")
	busy := e.createVolume(`{"volume": {"size": 1}}`, "")
	tests := []struct {
		name, path, version, body string
		status                    int
		fault, msg                string
	}{
		{"volume not available", "/v3/p1/os-volume-transfer", "", `{"transfer": {"volume_id": "` + busy + `"}}`,
			400, "badRequest", "Invalid volume: status must be available"},
		{"unknown volume", "/v3/p1/os-volume-transfer", "", `{"transfer": {"volume_id": "00000000-0000-0000-0000-000000000000"}}`,
			404, "itemNotFound", "Volume 00000000-0000-0000-0000-000000000000 could not be found."},
		{"no transfer", "/v3/p1/os-volume-transfer", "", `{}`, 400, "badRequest", "'transfer' is a required property"},
		{"no volume_id", "/v3/p1/os-volume-transfer", "", `{"transfer": {"name": "x"}}`, 400, "badRequest",
			"Invalid input for field/attribute transfer. Value: {'name': 'x'}. 'volume_id' is a required property"},
		{"no_snapshots before 3.55", "/v3/p1/os-volume-transfer", "volume 3.54", `{"transfer": {"volume_id": "` + vol + `", "no_snapshots": true}}`,
			400, "badRequest", "Invalid input for field/attribute transfer. Value: {'volume_id': '" + vol + "', 'no_snapshots': True}. Additional properties are not allowed ('no_snapshots' was unexpected)"},
		{"unknown transfer", "/v3/p1/os-volume-transfer/nope/accept", "", `{"accept": {"auth_key": "k"}}`,
			404, "itemNotFound", "Transfer nope could not be found."},
		{"no auth_key", "/v3/p1/os-volume-transfer/nope/accept", "", `{"accept": {}}`,
			400, "badRequest", "Invalid input for field/attribute accept. Value: {}. 'auth_key' is a required property"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFault(t, e.do(call{method: "POST", path: tt.path, version: tt.version, body: tt.body}), tt.status, tt.fault, tt.msg)
		})
	}
	// volume-transfers does not exist before 3.55.
	wantStatus(t, e.do(call{method: "GET", path: "/v3/p1/volume-transfers", version: "volume 3.54"}), http.StatusNotFound)
	// Another project's volume is not found; deleting another project's transfer neither.
	wantFault(t, e.do(call{method: "POST", path: "/v3/p2/os-volume-transfer", token: "u2:p2", header: memberOfP1,
		body: `{"transfer": {"volume_id": "` + vol + `"}}`}), 404, "itemNotFound", "Volume "+vol+" could not be found.")
	rec := e.do(call{method: "POST", path: "/v3/p1/os-volume-transfer", body: `{"transfer": {"volume_id": "` + vol + `"}}`})
	wantStatus(t, rec, http.StatusAccepted)
	id := str(t, obj(t, rec), "transfer", "id")
	wantFault(t, e.do(call{method: "DELETE", path: "/v3/p2/os-volume-transfer/" + id, token: "u2:p2", header: memberOfP1}),
		404, "itemNotFound", "Transfer "+id+" could not be found.")
	wantStatus(t, e.do(call{method: "DELETE", path: "/v3/p1/os-volume-transfer/" + id}), http.StatusAccepted)
	if got := e.volume(vol).Status; got != resource.StatusAvailable {
		t.Errorf("volume %s after the transfer's delete, want available", got)
	}
}
