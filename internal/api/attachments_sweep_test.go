package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
)

func TestAttachmentSweep(t *testing.T) {
	e := attachEnv(t)
	ctx := context.Background()
	create := func(vid, extra string) string {
		rec := e.do(call{method: "POST", path: "/v3/p1/attachments", version: "volume 3.27",
			body: fmt.Sprintf(`{"attachment": {"volume_uuid": %q%s}}`, vid, extra)})
		if rec.Code != 200 {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		return decodeMap(t, rec.Body.Bytes())["attachment"].(map[string]any)["id"].(string)
	}
	connected := e.attachableVolume(false)
	connectedAtt := create(connected, `, "instance_uuid": "11111111-2222-3333-4444-555555555555", "connector": {"host": "h"}`)
	novaReserved := e.attachableVolume(false)
	novaAtt := create(novaReserved, `, "instance_uuid": "11111111-2222-3333-4444-555555555555"`)
	orphan := e.attachableVolume(false)
	create(orphan, "")
	detaching := e.attachableVolume(false)
	if rec := e.do(call{method: "POST", path: "/v3/p1/volumes/" + detaching + "/action", body: `{"os-attach": {"host_name": "h"}}`}); rec.Code != 202 {
		t.Fatalf("attach: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(call{method: "POST", path: "/v3/p1/volumes/" + detaching + "/action", body: `{"os-begin_detaching": {}}`}); rec.Code != 202 {
		t.Fatalf("begin detaching: %d %s", rec.Code, rec.Body)
	}

	// Nothing is old enough yet.
	sw := &AttachmentSweeper{Store: e.store, Connections: nil, Log: logrus.New(), Age: time.Minute}
	if a, v := sw.Sweep(ctx); a != 0 || v != 0 {
		t.Errorf("fresh sweep resolved %d attachments, %d volumes", a, v)
	}
	// Without a volume service the connected attachment cannot be checked: it stays.
	sw.Now = func() time.Time { return time.Now().Add(time.Hour) }
	sw.Connections = &RPCConnections{Transport: rpc.NewLocal(logrus.New()), Timeout: 100 * time.Millisecond}
	sw.Sweep(ctx)
	if a, err := e.store.GetAttachment(ctx, connectedAtt); err != nil || a.AttachStatus != resource.AttachDetaching {
		t.Errorf("with no volume service: attachment %+v, %v", a, err)
	}
	// With the volume service: everything stale is resolved, Nova's reservation kept.
	sw.Connections = e.attachConns
	sw.Sweep(ctx)
	for _, tc := range []struct{ id, status string }{
		{connected, "available"}, {novaReserved, "reserved"}, {orphan, "available"}, {detaching, "in-use"},
	} {
		if st, _ := e.volumeStatus(tc.id); st != tc.status {
			t.Errorf("volume %s after the sweep: %s, want %s", tc.id, st, tc.status)
		}
	}
	if _, err := e.store.GetAttachment(ctx, novaAtt); err != nil {
		t.Errorf("Nova's reserved attachment: %v", err)
	}
}

// TestAttachmentSweepHalfConnected: an attachment created with a connector whose connection
// never happened (the API died between the reservation and initialize_connection, or the
// volume service did not answer: 503, and the client never learnt the attachment's id) is
// resolved by the sweep like an attaching one, though it has an instance; a reservation of an
// instance without a connector is Nova's and stays. Found by the fault test (test/fault, seed 1:
// a kill -9 of scoria-api during POST /attachments left the volume reserved for good).
func TestAttachmentSweepHalfConnected(t *testing.T) {
	e := attachEnv(t)
	ctx := context.Background()
	const instance = "11111111-2222-3333-4444-555555555555"
	half := e.attachableVolume(false)
	halfAtt := &resource.Attachment{ID: "6d0e5f1a-0b0c-4d5e-8f90-a1b2c3d4e5f6", VolumeID: half, ProjectID: "p1",
		InstanceUUID: instance, Connector: map[string]any{"host": "h"}, AttachedHost: "h"}
	if err := e.store.ReserveAttachment(ctx, halfAtt); err != nil {
		t.Fatal(err)
	}
	nova := e.attachableVolume(false)
	novaAtt := &resource.Attachment{ID: "7e1f6a2b-1c2d-4e6f-9a01-b2c3d4e5f6a7", VolumeID: nova, ProjectID: "p1", InstanceUUID: instance}
	if err := e.store.ReserveAttachment(ctx, novaAtt); err != nil {
		t.Fatal(err)
	}
	sw := &AttachmentSweeper{Store: e.store, Connections: e.attachConns, Log: logrus.New(), Age: time.Minute,
		Now: func() time.Time { return time.Now().Add(time.Hour) }}
	sw.Sweep(ctx)
	if st, _ := e.volumeStatus(half); st != "available" {
		t.Errorf("volume of the half-connected attachment after the sweep: %s, want available", st)
	}
	if a, err := e.store.GetAttachment(ctx, halfAtt.ID); err == nil {
		t.Errorf("half-connected attachment still there after the sweep: %s", a.AttachStatus)
	}
	if st, _ := e.volumeStatus(nova); st != "reserved" {
		t.Errorf("volume of Nova's reservation after the sweep: %s, want reserved", st)
	}
	if _, err := e.store.GetAttachment(ctx, novaAtt.ID); err != nil {
		t.Errorf("Nova's reserved attachment: %v", err)
	}
}
