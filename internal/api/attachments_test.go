package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/volume"
)

const attachHost = "node@file"

// attachEnv is an API whose volume service is real: a volume.Manager over the local-file
// driver, served on an in-process bus, so that initialize/terminate_connection answer
// os-brick's "local" connection.
func attachEnv(t *testing.T, configure ...func(*Options)) *env {
	t.Helper()
	bus := rpc.NewLocal(logrus.New())
	t.Cleanup(func() { bus.Close() })
	conns := &RPCConnections{Transport: bus, Timeout: 5 * time.Second}
	e := newEnv(t, append([]func(*Options){func(o *Options) { o.Connections = conns }}, configure...)...)
	e.attachConns = conns
	drv := &localfile.Driver{Dir: filepath.Join(t.TempDir(), "vols"), BackendName: "file", PoolName: "file"}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := drv.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	m := &volume.Manager{Host: attachHost, Driver: drv, Store: e.store, Transport: bus, Log: logrus.New()}
	go bus.Serve(ctx, rpc.Target{Topic: rpc.TopicVolume, Server: attachHost}, m.Handle)
	return e
}

// attachedVolume creates an available volume on the local-file backend.
func (e *env) attachableVolume(multiattach bool) string {
	e.t.Helper()
	host := attachHost + "#file"
	v := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID,
		Host: host, Multiattach: multiattach}
	if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
		e.t.Fatal(err)
	}
	return v.ID
}

func decodeMap(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return m
}

func (e *env) volumeStatus(id string) (string, string) {
	e.t.Helper()
	v, err := e.store.GetVolume(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Status, v.AttachStatus
}

const connectorJSON = `{"initiator": "iqn.1993-08.org.debian:01:test", "ip": "127.0.0.1", "host": "compute-1", "multipath": false, "platform": "x86_64", "os_type": "linux"}`

func TestAttachmentFlow(t *testing.T) {
	e := attachEnv(t)
	vid := e.attachableVolume(false)
	const inst = "11111111-2222-3333-4444-555555555555"

	rec := e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27",
		body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "instance_uuid": %q}}`, vid, inst)})
	if rec.Code != http.StatusOK {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	att := decodeMap(t, rec.Body.Bytes())["attachment"].(map[string]any)
	aid := att["id"].(string)
	if att["status"] != "reserved" || att["instance"] != inst || att["attach_mode"] != "null" || att["attached_at"] != "" {
		t.Errorf("created %v", att)
	}
	if st, _ := e.volumeStatus(vid); st != "reserved" {
		t.Errorf("volume %s after reserve", st)
	}

	rec = e.do(call{method: "PUT", path: "/v3/p1/attachments/" + aid, version: "volume 3.27",
		body: `{"attachment": {"connector": ` + connectorJSON + `}}`})
	if rec.Code != http.StatusOK {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	att = decodeMap(t, rec.Body.Bytes())["attachment"].(map[string]any)
	ci := att["connection_info"].(map[string]any)
	if att["status"] != "attaching" || ci["driver_volume_type"] != "local" || ci["device_path"] == nil ||
		ci["access_mode"] != "rw" || ci["attachment_id"] != aid || ci["volume_id"] != vid {
		t.Errorf("updated %v", att)
	}

	// os-complete needs 3.44.
	if rec := e.do(call{method: "POST", path: "/v3/p1/attachments/" + aid + "/action", version: "volume 3.43", body: `{"os-complete": null}`}); rec.Code != http.StatusNotFound {
		t.Errorf("os-complete at 3.43: %d", rec.Code)
	}
	if rec := e.do(call{method: "POST", path: "/v3/p1/attachments/" + aid + "/action", version: "volume 3.44", body: `{"os-complete": null}`}); rec.Code != http.StatusNoContent {
		t.Fatalf("os-complete: %d %s", rec.Code, rec.Body)
	}
	if st, at := e.volumeStatus(vid); st != "in-use" || at != "attached" {
		t.Errorf("volume %s/%s after complete", st, at)
	}
	rec = e.do(call{method: "GET", path: "/v3/p1/volumes/" + vid, version: "volume 3.27"})
	vol := decodeMap(t, rec.Body.Bytes())["volume"].(map[string]any)
	atts := vol["attachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["attachment_id"] != aid || atts[0].(map[string]any)["server_id"] != inst ||
		atts[0].(map[string]any)["host_name"] != "compute-1" {
		t.Errorf("volume attachments %v", atts)
	}

	for _, path := range []string{"/v3/p1/attachments", "/v3/p1/attachments/detail", "/v3/p1/attachments?volume_id=" + vid, "/v3/attachments/" + aid} {
		rec := e.do(call{method: "GET", path: path, version: "volume 3.27"})
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), aid) {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := e.do(call{method: "GET", path: "/v3/p1/attachments?instance_id=22222222-2222-3333-4444-555555555555", version: "volume 3.27"}); strings.Contains(rec.Body.String(), aid) {
		t.Errorf("instance filter ignored: %s", rec.Body)
	}

	// A user (not an admin) cannot delete an attachment Nova holds (CVE-2023-2088).
	if rec := e.do(call{method: "DELETE", path: "/v3/p1/attachments/" + aid, version: "volume 3.27", header: map[string]string{"X-Roles": "member"}}); rec.Code != http.StatusConflict {
		t.Errorf("member delete: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(call{method: "DELETE", path: "/v3/p1/attachments/" + aid, version: "volume 3.27"})
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"attachments":[]}` {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if st, at := e.volumeStatus(vid); st != "available" || at != "detached" {
		t.Errorf("volume %s/%s after delete", st, at)
	}
}

func TestAttachmentErrors(t *testing.T) {
	e := attachEnv(t)
	vid := e.attachableVolume(false)
	multi := e.attachableVolume(true)
	create := func(body, version string) *httpResult {
		rec := e.do(call{method: "POST", path: "/v3/p1/attachments", version: version, body: body})
		return &httpResult{rec.Code, rec.Body.String()}
	}
	first := create(fmt.Sprintf(`{"attachment": {"volume_uuid": %q}}`, vid), "volume 3.27")
	if first.code != 200 {
		t.Fatalf("first: %v", first)
	}
	aid := decodeMap(t, []byte(first.body))["attachment"].(map[string]any)["id"].(string)
	for _, tc := range []struct {
		name, body, version string
		code                int
		want                string
	}{
		{"before 3.27", fmt.Sprintf(`{"attachment": {"volume_uuid": %q}}`, multi), "volume 3.26", 404, ""},
		{"second attachment of a non-multiattach volume", fmt.Sprintf(`{"attachment": {"volume_uuid": %q}}`, vid), "volume 3.27", 400, "not multiattach"},
		{"bad mode", fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "mode": "rx"}}`, multi), "volume 3.54", 400, "mode"},
		{"mode before 3.54", fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "mode": "ro"}}`, multi), "volume 3.53", 400, "mode"},
		{"unknown volume", `{"attachment": {"volume_uuid": "00000000-0000-0000-0000-000000000000"}}`, "volume 3.27", 404, "could not be found"},
		{"bad volume id", `{"attachment": {"volume_uuid": 5}}`, "volume 3.27", 400, "volume_uuid"},
		{"bad connector", fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "connector": "x"}}`, multi), "volume 3.27", 400, "connector"},
		{"no attachment", `{"volume": {}}`, "volume 3.27", 400, "attachment"},
		{"bad instance", fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "instance_uuid": "nope"}}`, multi), "volume 3.27", 400, "instance_uuid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := create(tc.body, tc.version)
			if got.code != tc.code || !strings.Contains(got.body, tc.want) {
				t.Errorf("%d %s, want %d %q", got.code, got.body, tc.code, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		c    call
		code int
		want string
	}{
		{"update without connector", call{method: "PUT", path: "/v3/p1/attachments/" + aid, body: `{"attachment": {}}`}, 400, "connector"},
		{"update unknown", call{method: "PUT", path: "/v3/p1/attachments/nope", body: `{"attachment": {"connector": {"host": "h"}}}`}, 404, "could not be found"},
		{"show unknown", call{method: "GET", path: "/v3/p1/attachments/nope"}, 404, "could not be found"},
		{"delete unknown", call{method: "DELETE", path: "/v3/p1/attachments/nope"}, 404, "could not be found"},
		{"unknown action", call{method: "POST", path: "/v3/p1/attachments/" + aid + "/action", body: `{"os-nope": null}`, version: "volume 3.44"}, 400, "no such action"},
		{"bad filter", call{method: "GET", path: "/v3/p1/attachments?colour=red"}, 400, "Invalid filter"},
		{"bad marker", call{method: "GET", path: "/v3/p1/attachments?marker=nope"}, 400, "Marker"},
		{"another project's", call{method: "GET", path: "/v3/p2/attachments/" + aid, token: "u2:p2", header: map[string]string{"X-Roles": "member"}}, 404, "could not be found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.version == "" {
				tc.c.version = "volume 3.27"
			}
			rec := e.do(tc.c)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("%d %s, want %d %q", rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
	// Completing, then completing again: the second is a wrong state.
	if rec := e.do(call{method: "POST", path: "/v3/p1/attachments/" + aid + "/action", version: "volume 3.44", body: `{"os-complete": {}}`}); rec.Code != 204 {
		t.Fatalf("complete: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(call{method: "POST", path: "/v3/p1/attachments/" + aid + "/action", version: "volume 3.44", body: `{"os-complete": null}`}); rec.Code != 400 {
		t.Errorf("second complete: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(call{method: "PUT", path: "/v3/p1/attachments/" + aid, version: "volume 3.27", body: `{"attachment": {"connector": {"host": "h"}}}`}); rec.Code != 400 {
		t.Errorf("update of an attached attachment: %d %s", rec.Code, rec.Body)
	}
}

type httpResult struct {
	code int
	body string
}

// TestAttachmentNoVolumeService: with no volume service answering, the update is a 503 and
// the attachment stays reserved.
func TestAttachmentNoVolumeService(t *testing.T) {
	bus := rpc.NewLocal(logrus.New())
	t.Cleanup(func() { bus.Close() })
	e := newEnv(t, func(o *Options) { o.Connections = &RPCConnections{Transport: bus, Timeout: 200 * time.Millisecond} })
	vid := e.attachableVolume(false)
	rec := e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27", body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q}}`, vid)})
	aid := decodeMap(t, rec.Body.Bytes())["attachment"].(map[string]any)["id"].(string)
	rec = e.do(call{method: "PUT", path: "/v3/p1/attachments/" + aid, version: "volume 3.27", body: `{"attachment": {"connector": ` + connectorJSON + `}}`})
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	if a, err := e.store.GetAttachment(context.Background(), aid); err != nil || a.AttachStatus != "reserved" {
		t.Errorf("attachment %+v, %v", a, err)
	}
	// Without Connections at all: 503 too.
	e2 := newEnv(t)
	vid2 := e2.attachableVolume(false)
	rec = e2.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27", body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "connector": {"host": "h"}}}`, vid2)})
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("create with connector, no volume service: %d %s", rec.Code, rec.Body)
	}
}

func TestReadonlyAttachAndQoS(t *testing.T) {
	e := attachEnv(t)
	vid := e.attachableVolume(false)
	if rec := e.do(call{method: "POST", path: "/v3/p1/volumes/" + vid + "/action", body: `{"os-update_readonly_flag": {"readonly": true}}`}); rec.Code != 202 {
		t.Fatalf("readonly: %d %s", rec.Code, rec.Body)
	}
	rec := e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.54", body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "mode": "rw"}}`, vid)})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Invalid attaching mode") {
		t.Errorf("rw of a read-only volume: %d %s", rec.Code, rec.Body)
	}
	// Front-end QoS of the volume's type go into the connection info.
	ctx := context.Background()
	q := &resource.QoSSpecs{Name: "fe", Consumer: resource.QoSConsumerFrontEnd, Specs: map[string]string{"total_iops_sec": "500"}}
	if err := e.store.CreateQoSSpecs(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AssociateQoSSpecs(ctx, q.ID, db.DefaultVolumeTypeID); err != nil {
		t.Fatal(err)
	}
	rec = e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27", body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "connector": {"host": "h"}}}`, vid)})
	if rec.Code != 200 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	att := decodeMap(t, rec.Body.Bytes())["attachment"].(map[string]any)
	ci := att["connection_info"].(map[string]any)
	qos, _ := ci["qos_specs"].(map[string]any)
	if att["attach_mode"] != "ro" || ci["access_mode"] != "ro" || qos["total_iops_sec"] != "500" {
		t.Errorf("read-only attachment %v", att)
	}
}

func TestLegacyAttachActions(t *testing.T) {
	e := attachEnv(t)
	vid := e.attachableVolume(false)
	act := func(body string, hdr map[string]string) (int, string) {
		rec := e.do(call{method: "POST", path: "/v3/p1/volumes/" + vid + "/action", body: body, header: hdr})
		return rec.Code, rec.Body.String()
	}
	wantStatus := func(step, status string) {
		t.Helper()
		if st, _ := e.volumeStatus(vid); st != status {
			t.Errorf("%s: volume %s, want %s", step, st, status)
		}
	}
	for _, body := range []string{`{"os-reserve": null}`} {
		if code, b := act(body, nil); code != 202 {
			t.Fatalf("reserve: %d %s", code, b)
		}
	}
	wantStatus("reserve", "attaching")
	if code, _ := act(`{"os-reserve": {}}`, nil); code != 400 {
		t.Errorf("second reserve: %d", code)
	}
	if code, _ := act(`{"os-unreserve": ""}`, nil); code != 202 {
		t.Errorf("unreserve: %d", code)
	}
	wantStatus("unreserve", "available")
	act(`{"os-reserve": {}}`, nil)
	code, body := act(`{"os-initialize_connection": {"connector": `+connectorJSON+`}}`, nil)
	if code != 200 || !strings.Contains(body, `"driver_volume_type":"local"`) || !strings.Contains(body, `"data"`) {
		t.Fatalf("initialize: %d %s", code, body)
	}
	if code, b := act(`{"os-initialize_connection": {}}`, nil); code != 400 {
		t.Errorf("initialize without connector: %d %s", code, b)
	}
	if code, b := act(`{"os-attach": {"instance_uuid": "11111111-2222-3333-4444-555555555555", "mountpoint": "/dev/vdb", "mode": "rw"}}`, nil); code != 202 {
		t.Fatalf("attach: %d %s", code, b)
	}
	wantStatus("attach", "in-use")
	if code, _ := act(`{"os-attach": {"mountpoint": "/dev/vdb"}}`, nil); code != 400 {
		t.Errorf("attach without target: %d", code)
	}
	if code, _ := act(`{"os-roll_detaching": null}`, nil); code != 202 {
		t.Errorf("roll_detaching of in-use: %d", code)
	}
	if code, _ := act(`{"os-begin_detaching": null}`, nil); code != 202 {
		t.Errorf("begin_detaching: %d", code)
	}
	wantStatus("begin_detaching", "detaching")
	if code, _ := act(`{"os-begin_detaching": null}`, nil); code != 400 {
		t.Errorf("begin_detaching twice: %d", code)
	}
	act(`{"os-roll_detaching": null}`, nil)
	wantStatus("roll_detaching", "in-use")
	act(`{"os-begin_detaching": null}`, nil)
	if code, b := act(`{"os-terminate_connection": {"connector": `+connectorJSON+`}}`, nil); code != 202 {
		t.Errorf("terminate: %d %s", code, b)
	}
	if code, _ := act(`{"os-detach": {"attachment_id": "nope"}}`, nil); code != 404 {
		t.Errorf("detach of an unknown attachment: %d", code)
	}
	if code, b := act(`{"os-detach": {}}`, nil); code != 202 {
		t.Fatalf("detach: %d %s", code, b)
	}
	wantStatus("detach", "available")

	// Force detach: admin only; terminates and deletes whatever the state.
	act(`{"os-reserve": {}}`, nil)
	act(`{"os-initialize_connection": {"connector": `+connectorJSON+`}}`, nil)
	if code, _ := act(`{"os-force_detach": {}}`, map[string]string{"X-Roles": "member"}); code != 403 {
		t.Errorf("member force detach: %d", code)
	}
	if code, b := act(`{"os-force_detach": {"connector": "x"}}`, nil); code != 400 {
		t.Errorf("bad connector: %d %s", code, b)
	}
	if code, b := act(`{"os-force_detach": {}}`, nil); code != 202 {
		t.Fatalf("force detach: %d %s", code, b)
	}
	wantStatus("force detach", "available")
	if code, _ := e.do(call{method: "POST", path: "/v3/p1/volumes/00000000-0000-0000-0000-000000000000/action", body: `{"os-reserve": null}`}).Code, ""; code != 404 {
		t.Errorf("reserve of an unknown volume: %d", code)
	}
}

// TestAttachmentListMarkerScope: a marker is looked up in the caller's project, so another
// project's attachment id answers exactly as an id that names nothing (issue 12, item 4);
// an admin listing every project may page from any attachment.
func TestAttachmentListMarkerScope(t *testing.T) {
	e := newEnv(t)
	vid := e.attachableVolume(false)
	rec := e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27", body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q}}`, vid)})
	wantStatus(t, rec, http.StatusOK)
	foreign := decodeMap(t, rec.Body.Bytes())["attachment"].(map[string]any)["id"].(string)
	asMember := map[string]string{"X-Roles": "member"}
	for _, tc := range []struct {
		name   string
		c      call
		status int
		want   string
	}{
		{"foreign marker", call{method: "GET", path: "/v3/p2/attachments?marker=" + foreign, token: "u2:p2", header: asMember}, 400, "Marker " + foreign + " could not be found."},
		{"random marker", call{method: "GET", path: "/v3/p2/attachments?marker=00000000-0000-0000-0000-000000000001", token: "u2:p2", header: asMember}, 400, "Marker 00000000-0000-0000-0000-000000000001 could not be found."},
		{"foreign marker, detail", call{method: "GET", path: "/v3/p2/attachments/detail?marker=" + foreign, token: "u2:p2", header: asMember}, 400, "Marker " + foreign + " could not be found."},
		{"owner's marker", call{method: "GET", path: "/v3/p1/attachments?marker=" + foreign, header: asMember}, 200, `{"attachments":[]}`},
		{"admin, all projects", call{method: "GET", path: "/v3/p2/attachments?all_tenants=1&marker=" + foreign, token: "a:p2"}, 200, `{"attachments":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.version = "volume 3.27"
			rec := e.do(tc.c)
			if tc.status != 200 {
				wantFault(t, rec, tc.status, "badRequest", tc.want)
				return
			}
			wantStatus(t, rec, tc.status)
			if got := strings.TrimSpace(rec.Body.String()); got != tc.want {
				t.Errorf("body %s, want %s", got, tc.want)
			}
		})
	}
}
