package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler"
	"github.com/scoria/scoria/pkg/driver"
)

const (
	srcPool  = "h@lvm#pool"
	goldType = "9b2c2f52-0000-4000-8000-00000000a001"
	silverID = "9b2c2f52-0000-4000-8000-00000000a002"
)

// sourcesEnv is an API whose get_pools is a real scheduler over the same database, knowing
// one backend h@lvm (pool "pool", volume_backend_name lvm, 100 GiB thick) that is up.
func sourcesEnv(t *testing.T) *env {
	t.Helper()
	var sched *scheduler.Scheduler
	e := newEnv(t, func(o *Options) {
		sched = &scheduler.Scheduler{Store: o.Store.(scheduler.Store), Log: logrus.New(), ServiceDownTime: time.Minute}
		o.Pools = sched
	})
	ctx := context.Background()
	if _, err := e.store.RegisterService(ctx, &resource.Service{Binary: resource.BinaryVolume, Host: "h@lvm", Topic: "scoria-volume", AvailabilityZone: "nova"}); err != nil {
		t.Fatal(err)
	}
	total := 100.0
	report := rpcapi.CapabilitiesArgs{Host: "h@lvm", AvailabilityZone: "nova", ReportedAt: time.Now().UTC(),
		Stats: driver.Stats{VolumeBackendName: "lvm", Pools: []driver.Pool{{Name: "pool", TotalCapacityGB: driver.Capacity(total),
			FreeCapacityGB: driver.Capacity(total), ThickProvisioningSupport: true, Multiattach: true, MaxOverSubscriptionRatio: "1"}}}}
	sched.UpdateCapabilities(report)
	if err := e.store.UpsertPool(ctx, resource.PoolCapacity{Name: srcPool, Backend: "h@lvm", TotalGB: &total, Ratio: 1, ReportedAt: report.ReportedAt}); err != nil {
		t.Fatal(err)
	}
	e.addVolumeType(goldType, "gold")
	e.addExtraSpec(goldType, "volume_backend_name", "lvm")
	e.addVolumeType(silverID, "silver")
	e.addExtraSpec(silverID, "volume_backend_name", "other")
	return e
}

// claimedVolume creates a volume through the API and places it on srcPool with its claim, as
// the scheduler and volume service would, in status.
func (e *env) claimedVolume(size int, status, token string) string {
	e.t.Helper()
	id := e.createVolume(`{"volume": {"size": `+itoa(size)+`}}`, token)
	ctx := context.Background()
	if res, err := e.store.ClaimPlacement(ctx, resource.Claim{VolumeID: id, Pool: srcPool, Size: size}); err != nil || !res.Claimed {
		e.t.Fatalf("claim: %+v %v", res, err)
	}
	if _, err := e.store.TransitionVolume(ctx, id, []string{resource.StatusCreating}, resource.VolumeChange{Status: status}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// storedSnapshot makes an available snapshot (or in status) of volume id.
func (e *env) storedSnapshot(volumeID, project, status string) string {
	e.t.Helper()
	sn := &resource.Snapshot{ProjectID: project, UserID: "u", VolumeID: volumeID, Status: status}
	if _, err := e.store.CreateSnapshot(context.Background(), sn, []string{resource.StatusAvailable, resource.StatusInUse}); err != nil {
		e.t.Fatal(err)
	}
	return sn.ID
}

func (e *env) lastArgs(method string) map[string]any {
	e.t.Helper()
	msgs := e.disp.got()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Method == method {
			var args map[string]any
			if err := json.Unmarshal(msgs[i].Args, &args); err != nil {
				e.t.Fatal(err)
			}
			return args
		}
	}
	e.t.Fatalf("no %s message among %d", method, len(msgs))
	return nil
}

func TestCreateFromSource(t *testing.T) {
	e := sourcesEnv(t)
	src := e.claimedVolume(2, resource.StatusAvailable, "")
	if _, err := e.raw.Exec("UPDATE volumes SET volume_type_id = ? WHERE id = ?", goldType, src); err != nil {
		t.Fatal(err)
	}
	snap := e.storedSnapshot(src, testProject, resource.SnapshotAvailable)

	for _, tc := range []struct {
		name, body   string
		snapshotID   any
		sourceVolID  any
		size         int
		volumeType   string
		wantArgsSnap string
		wantArgsSrc  string
	}{
		{name: "from a snapshot, its size and type", body: `{"volume": {"snapshot_id": "` + snap + `"}}`, snapshotID: snap, size: 2, volumeType: "gold"},
		{name: "a clone, larger", body: `{"volume": {"source_volid": "` + src + `", "size": 5}}`, sourceVolID: src, size: 5, volumeType: "gold"},
		{name: "a clone, size as digits, same zone", body: `{"volume": {"source_volid": "` + src + `", "size": "3", "availability_zone": "nova"}}`, sourceVolID: src, size: 3, volumeType: "gold"},
		{name: "another type: allowed with a single volume service", body: `{"volume": {"snapshot_id": "` + snap + `", "volume_type": "silver"}}`, snapshotID: snap, size: 2, volumeType: "silver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: tc.body})
			wantStatus(t, rec, http.StatusAccepted)
			body := obj(t, rec)
			if got := member(t, body, "volume", "snapshot_id"); tc.snapshotID != nil && got != tc.snapshotID || tc.snapshotID == nil && got != nil {
				t.Errorf("snapshot_id %v, want %v", got, tc.snapshotID)
			}
			if got := member(t, body, "volume", "source_volid"); tc.sourceVolID != nil && got != tc.sourceVolID || tc.sourceVolID == nil && got != nil {
				t.Errorf("source_volid %v, want %v", got, tc.sourceVolID)
			}
			if got := member(t, body, "volume", "size"); got != json.Number(itoa(tc.size)) {
				t.Errorf("size %v, want %d", got, tc.size)
			}
			if got := str(t, body, "volume", "volume_type"); got != tc.volumeType {
				t.Errorf("volume_type %s, want %s", got, tc.volumeType)
			}
			id := str(t, body, "volume", "id")
			v := e.volume(id)
			if v.SnapshotID != str0(tc.snapshotID) || v.SourceVolID != str0(tc.sourceVolID) || v.Status != resource.StatusCreating {
				t.Errorf("row: snapshot %q, source %q, status %s", v.SnapshotID, v.SourceVolID, v.Status)
			}
			args := e.lastArgs(rpcapi.CreateVolume)
			if args["volume_id"] != id || str0(args["snapshot_id"]) != str0(tc.snapshotID) || str0(args["source_volid"]) != str0(tc.sourceVolID) {
				t.Errorf("create_volume args %v", args)
			}
			// And shown so.
			show := obj(t, e.do(call{method: "GET", path: "/v3/p1/volumes/" + id}))
			if got := member(t, show, "volume", "snapshot_id"); str0(got) != str0(tc.snapshotID) {
				t.Errorf("show snapshot_id %v", got)
			}
		})
	}
}

func str0(v any) string { s, _ := v.(string); return s }

func TestCreateFromSourceRefused(t *testing.T) {
	e := sourcesEnv(t)
	src := e.claimedVolume(2, resource.StatusAvailable, "")
	snap := e.storedSnapshot(src, testProject, resource.SnapshotAvailable)
	errSrc := e.claimedVolume(1, resource.StatusError, "")
	creatingSnap := e.storedSnapshot(src, testProject, resource.SnapshotCreating)
	if _, err := e.raw.Exec("UPDATE snapshots SET status = 'creating' WHERE id = ?", creatingSnap); err != nil {
		t.Fatal(err)
	}
	otherVol := e.claimedVolume(1, resource.StatusAvailable, "u2:p2")
	otherSnap := e.storedSnapshot(otherVol, "p2", resource.SnapshotAvailable)
	az2 := e.createVolume(`{"volume": {"size": 1, "availability_zone": "az2"}}`, "")
	e.place(az2, srcPool, resource.StatusAvailable)
	// A second volume service: types must then agree to differ from the source's.
	if _, err := e.store.RegisterService(context.Background(), &resource.Service{Binary: resource.BinaryVolume, Host: "h2@lvm", Topic: "scoria-volume"}); err != nil {
		t.Fatal(err)
	}
	const unknown = "0e5b0b8e-0000-4000-8000-0000000000ff"
	member := map[string]string{"X-Roles": "member"}
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		status     int
		message    string
	}{
		{"unknown snapshot", `{"volume": {"snapshot_id": "` + unknown + `"}}`, nil, 404, "Snapshot " + unknown + " could not be found."},
		{"unknown source", `{"volume": {"source_volid": "` + unknown + `"}}`, nil, 404, "Volume " + unknown + " could not be found."},
		{"another project's snapshot", `{"volume": {"snapshot_id": "` + otherSnap + `"}}`, member, 404, "Snapshot " + otherSnap + " could not be found."},
		{"another project's volume", `{"volume": {"source_volid": "` + otherVol + `"}}`, member, 404, "Volume " + otherVol + " could not be found."},
		{"both sources", `{"volume": {"snapshot_id": "` + snap + `", "source_volid": "` + src + `"}}`, nil, 400, "Invalid input received: May specify only one of backup, imageRef, snapshot, source volume"},
		{"snapshot not available", `{"volume": {"snapshot_id": "` + creatingSnap + `"}}`, nil, 400, "Invalid snapshot: Originating snapshot status must be one of 'available' values"},
		{"source in error", `{"volume": {"source_volid": "` + errSrc + `"}}`, nil, 400, "Invalid volume: Originating source volume status must be one of 'available, in-use' values"},
		{"smaller than the snapshot", `{"volume": {"snapshot_id": "` + snap + `", "size": 1}}`, nil, 400, "Invalid input received: Volume size '1'GB cannot be smaller than the snapshot size 2GB. They must be >= original snapshot size."},
		{"smaller than the source", `{"volume": {"source_volid": "` + src + `", "size": 1}}`, nil, 400, "Invalid input received: Volume size '1'GB cannot be smaller than original volume size  2GB. They must be >= original volume size."},
		{"size not an integer", `{"volume": {"source_volid": "` + src + `", "size": 1.5}}`, nil, 400, "Invalid input for field/attribute size. Value: 1.5. 1.5 is not of type 'integer', 'string', 'null'"},
		{"another zone than the snapshot", `{"volume": {"snapshot_id": "` + snap + `", "availability_zone": "az2"}}`, nil, 400, "Invalid input received: Volume must be in the same availability zone as the snapshot"},
		{"another zone than the source", `{"volume": {"source_volid": "` + az2 + `", "availability_zone": "nova"}}`, nil, 400, "Invalid input received: Volume must be in the same availability zone as the source volume"},
		{"unknown zone", `{"volume": {"source_volid": "` + src + `", "availability_zone": "az9"}}`, nil, 400, "Availability zone 'az9' is invalid."},
		{"an incompatible type", `{"volume": {"source_volid": "` + src + `", "volume_type": "silver"}}`, nil, 400, "Invalid input received: Invalid volume_type provided: " + silverID + " (requested type is not compatible; recommend omitting the type argument)."},
		{"unknown type", `{"volume": {"source_volid": "` + src + `", "volume_type": "bronze"}}`, nil, 404, "Volume type with name bronze could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.volumes())
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: tc.body, header: tc.header})
			name := "badRequest"
			if tc.status == 404 {
				name = "itemNotFound"
			}
			wantFault(t, rec, tc.status, name, tc.message)
			if n := len(e.volumes()); n != before {
				t.Errorf("a refused create wrote a volume")
			}
		})
	}
}

func TestExtend(t *testing.T) {
	e := sourcesEnv(t)
	path := func(id string) string { return "/v3/p1/volumes/" + id + "/action" }
	t.Run("available, quota and claim, cast to the backend", func(t *testing.T) {
		id := e.claimedVolume(2, resource.StatusAvailable, "")
		before := len(e.disp.got())
		rec := e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": 5}}`})
		wantStatus(t, rec, http.StatusAccepted)
		if v := e.volume(id); v.Status != resource.StatusExtending || v.Size != 2 {
			t.Errorf("volume %s %d GiB, want extending at 2", v.Status, v.Size)
		}
		msgs := e.disp.got()[before:]
		if len(msgs) != 1 || msgs[0].Method != rpcapi.ExtendVolume || msgs[0].Server != "h@lvm" {
			t.Fatalf("dispatched %+v, want one extend_volume to h@lvm", msgs)
		}
		if args := e.lastArgs(rpcapi.ExtendVolume); args["volume_id"] != id || args["new_size"] != 5.0 {
			t.Errorf("extend_volume args %v", args)
		}
		if p, _ := e.store.GetPool(context.Background(), srcPool); p.AllocatedGB != 5 {
			t.Errorf("pool allocated %d, want 5", p.AllocatedGB)
		}
	})
	t.Run("new_size as digits (gophercloud and cinderclient send numbers; Cinder's schema takes both)", func(t *testing.T) {
		id := e.claimedVolume(1, resource.StatusAvailable, "")
		wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": "2"}}`}), http.StatusAccepted)
	})
	t.Run("in-use from 3.42", func(t *testing.T) {
		id := e.claimedVolume(1, resource.StatusInUse, "")
		wantFault(t, e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": 2}}`, version: "volume 3.41"}), 400, "badRequest",
			"Invalid volume: Volume "+id+" status must be '{'status': 'available'}' to extend, currently in-use.")
		wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": 2}}`, version: "volume 3.42"}), http.StatusAccepted)
		if v := e.volume(id); v.Status != resource.StatusExtending {
			t.Errorf("status %s, want extending", v.Status)
		}
	})

	id := e.claimedVolume(2, resource.StatusAvailable, "")
	errored := e.claimedVolume(1, resource.StatusError, "")
	const unknown = "0e5b0b8e-0000-4000-8000-0000000000ff"
	for _, tc := range []struct {
		name, id, body, version string
		header                  map[string]string
		status                  int
		message                 string
	}{
		{"not larger", id, `{"os-extend": {"new_size": 2}}`, "", nil, 400, "Invalid input received: New size for extend must be greater than current size. (current: 2, extended: 2)."},
		{"smaller", id, `{"os-extend": {"new_size": 1}}`, "", nil, 400, "Invalid input received: New size for extend must be greater than current size. (current: 2, extended: 1)."},
		{"not an integer", id, `{"os-extend": {"new_size": 2.5}}`, "", nil, 400, "Invalid input for field/attribute new_size. Value: 2.5. 2.5 is not of type 'integer', 'string'"},
		{"null", id, `{"os-extend": {"new_size": null}}`, "", nil, 400, "Invalid input for field/attribute new_size. Value: None. None is not of type 'integer', 'string'"},
		{"not digits", id, `{"os-extend": {"new_size": "3G"}}`, "", nil, 400, "Invalid input for field/attribute new_size. Value: 3G. '3G' does not match '^[0-9]+$'"},
		{"zero", id, `{"os-extend": {"new_size": 0}}`, "", nil, 400, "Invalid input for field/attribute new_size. Value: 0. 0 is less than the minimum of 1"},
		{"no new_size", id, `{"os-extend": {}}`, "", nil, 400, "Invalid input for field/attribute os-extend. Value: {}. 'new_size' is a required property"},
		{"extra member", id, `{"os-extend": {"new_size": 3, "x": 1}}`, "", nil, 400, "Invalid input for field/attribute os-extend. Value: {'new_size': 3, 'x': 1}. Additional properties are not allowed ('x' was unexpected)"},
		{"null argument", id, `{"os-extend": null}`, "", nil, 400, "Invalid input for field/attribute os-extend. Value: None. None is not of type 'object'"},
		{"wrong status", errored, `{"os-extend": {"new_size": 2}}`, "", nil, 400, "Invalid volume: Volume " + errored + " status must be '{'status': 'available'}' to extend, currently error."},
		{"unknown volume", unknown, `{"os-extend": {"new_size": 2}}`, "", nil, 404, "Volume " + unknown + " could not be found."},
		{"another project's volume", id, `{"os-extend": {"new_size": 3}}`, "", map[string]string{"X-Roles": "member"}, 404, "Volume " + id + " could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.disp.got())
			c := call{method: "POST", path: path(tc.id), body: tc.body, version: tc.version, header: tc.header}
			if tc.header != nil {
				c.token, c.path = "u2:p2", "/v3/p2/volumes/"+tc.id+"/action"
			}
			rec := e.do(c)
			name := "badRequest"
			if tc.status == 404 {
				name = "itemNotFound"
			}
			wantFault(t, rec, tc.status, name, tc.message)
			if len(e.disp.got()) != before {
				t.Error("a refused extend dispatched a message")
			}
		})
	}
	if v := e.volume(id); v.Status != resource.StatusAvailable || v.Size != 2 {
		t.Errorf("refused extends changed the volume: %s %d GiB", v.Status, v.Size)
	}

	// More than the pool holds: as Cinder (whose scheduler refuses it after the 202), 202,
	// the volume unchanged, nothing charged or sent, and a user message saying why.
	before := len(e.disp.got())
	wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-extend": {"new_size": 200}}`}), http.StatusAccepted)
	if len(e.disp.got()) != before {
		t.Error("an extend the pool cannot hold dispatched a message")
	}
	if v := e.volume(id); v.Status != resource.StatusAvailable || v.Size != 2 {
		t.Errorf("after an extend the pool cannot hold: %s %d GiB", v.Status, v.Size)
	}
	if p, _ := e.store.GetPool(context.Background(), srcPool); p.AllocatedGB != 11 {
		t.Errorf("pool allocated %d GiB after a refused extend, want 11", p.AllocatedGB)
	}
	rec := e.do(call{method: "GET", path: "/v3/p1/messages?resource_uuid=" + id, version: "volume 3.3"})
	wantStatus(t, rec, http.StatusOK)
	want := "extend volume:Pool " + srcPool + " cannot hold 198 GiB more for volume " + id + ": 11 of 100 GiB claimed. Scoria does not move a volume to extend it."
	if !strings.Contains(rec.Body.String(), want) || !strings.Contains(rec.Body.String(), `"event_id":"VOLUME_VOLUME_007_003"`) {
		t.Errorf("messages %s, want one with %q", rec.Body, want)
	}
}

func TestRetype(t *testing.T) {
	e := sourcesEnv(t)
	path := func(id string) string { return "/v3/p1/volumes/" + id + "/action" }
	id := e.claimedVolume(1, resource.StatusAvailable, "")
	wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-retype": {"new_type": "gold", "migration_policy": "never"}}`}), http.StatusAccepted)
	if v := e.volume(id); v.VolumeTypeID != goldType || v.Status != resource.StatusAvailable {
		t.Fatalf("after retype: type %s, %s", v.VolumeTypeID, v.Status)
	}
	// By id, back to the default type (no capability specs: no scheduler needed).
	def := e.volume(e.claimedVolume(1, resource.StatusAvailable, "")).VolumeTypeID
	wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-retype": {"new_type": "` + def + `"}}`}), http.StatusAccepted)
	if v := e.volume(id); v.VolumeTypeID != def {
		t.Fatalf("after retype by id: type %s", v.VolumeTypeID)
	}

	inUse := e.claimedVolume(1, resource.StatusInUse, "")
	errored := e.claimedVolume(1, resource.StatusError, "")
	multi := "9b2c2f52-0000-4000-8000-00000000a003"
	e.addVolumeType(multi, "multi")
	e.addExtraSpec(multi, "multiattach", "<is> True")
	for _, tc := range []struct {
		name, id, body string
		status         int
		message        string
	}{
		{"same type", id, `{"os-retype": {"new_type": "` + def + `"}}`, 400, msgRetypeState},
		{"wrong status", errored, `{"os-retype": {"new_type": "gold"}}`, 400, msgRetypeState},
		{"needs a move, never", id, `{"os-retype": {"new_type": "silver", "migration_policy": "never"}}`, 400,
			"No valid backend was found. Cannot place volume " + id + " on " + srcPool + ": the pool does not match volume_backend_name=other of type silver, and the migration policy is never."},
		{"needs a move, on-demand", id, `{"os-retype": {"new_type": "silver", "migration_policy": "on-demand"}}`, 400,
			"Retyping volume " + id + " to type silver needs a move to another backend (its pool " + srcPool + " does not match volume_backend_name=other); Scoria does not migrate volumes yet."},
		{"multiattach change while in use", inUse, `{"os-retype": {"new_type": "multi"}}`, 400,
			"Invalid input received: Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, the specified volume however currently has a status of: in-use."},
		{"unknown type", id, `{"os-retype": {"new_type": "bronze"}}`, 404, "Volume type with name bronze could not be found."},
		{"no new_type", id, `{"os-retype": {}}`, 400, "Invalid input for field/attribute os-retype. Value: {}. 'new_type' is a required property"},
		{"new_type not a string", id, `{"os-retype": {"new_type": 1}}`, 400, "Invalid input for field/attribute new_type. Value: 1. 1 is not of type 'string'"},
		{"bad policy", id, `{"os-retype": {"new_type": "gold", "migration_policy": "always"}}`, 400, "Invalid input for field/attribute migration_policy. Value: always. 'always' is not one of ['on-demand', 'never']"},
		{"extra member", id, `{"os-retype": {"new_type": "gold", "x": 1}}`, 400, "Invalid input for field/attribute os-retype. Value: {'new_type': 'gold', 'x': 1}. Additional properties are not allowed ('x' was unexpected)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: path(tc.id), body: tc.body})
			name := "badRequest"
			if tc.status == 404 {
				name = "itemNotFound"
			}
			wantFault(t, rec, tc.status, name, tc.message)
		})
	}
	if v := e.volume(id); v.VolumeTypeID != def {
		t.Errorf("a refused retype changed the type to %s", v.VolumeTypeID)
	}
	// An in-use volume may be retyped in place when multiattach does not change.
	wantStatus(t, e.do(call{method: "POST", path: path(inUse), body: `{"os-retype": {"new_type": "gold"}}`}), http.StatusAccepted)
	if v := e.volume(inUse); v.VolumeTypeID != goldType || v.Status != resource.StatusInUse {
		t.Errorf("in-use retype: %s %s", v.VolumeTypeID, v.Status)
	}
	// Retype to multiattach on an available volume sets the flag.
	wantStatus(t, e.do(call{method: "POST", path: path(id), body: `{"os-retype": {"new_type": "multi"}}`}), http.StatusAccepted)
	if v := e.volume(id); !v.Multiattach {
		t.Error("retype to a multiattach type left multiattach false")
	}
}
