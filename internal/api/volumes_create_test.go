package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Key sets (in order) of Cinder 21.3.1's answers, from its recorded samples.
var (
	createKeys30 = []string{"id", "status", "size", "availability_zone", "created_at", "updated_at", "name",
		"description", "volume_type", "snapshot_id", "source_volid", "metadata", "links", "user_id", "bootable",
		"encrypted", "replication_status", "consistencygroup_id", "multiattach", "attachments", "migration_status"}
	keys370 = []string{"group_id", "provider_id", "shared_targets", "service_uuid", "cluster_name",
		"volume_type_id", "consumes_quota"}
	keys327       = []string{"group_id", "provider_id"}
	extensionKeys = []string{"os-vol-tenant-attr:tenant_id", "os-vol-mig-status-attr:migstat",
		"os-vol-mig-status-attr:name_id", "os-vol-host-attr:host"}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var timestampPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

const (
	sampleTypeID = "552506e2-6ebf-446e-bf04-cc62f2528ac2"
	sampleVolID  = "2b955850-f177-45f7-9f49-ecb2c256d161"
	otherVolID   = "45baf976-c20a-4894-a7c3-c94b7376bf55"
)

func TestCreateVolume(t *testing.T) {
	e := newEnv(t)
	e.addVolumeType(sampleTypeID, "sample-type")
	e.addExtraSpec(sampleTypeID, "volume_backend_name", "lvmbackend")
	e.addExtraSpec(sampleTypeID, "capabilities:thin_provisioning_support", "<is> True")

	rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1, "name": "sample-vol",
		"description": "sample volume", "volume_type": "sample-type", "metadata": {"k1": "v1"}},
		"OS-SCH-HNT:scheduler_hints": {"same_host": "` + sampleVolID + `", "different_host": ["` + otherVolID + `"],
		"query": "[\">=\", \"$free_capacity_gb\", 10]", "custom": {"n": 1.5}}}`})
	wantStatus(t, rec, http.StatusAccepted)
	if got := rec.Header().Get("OpenStack-API-Version"); got != "volume 3.0" {
		t.Errorf("OpenStack-API-Version = %q", got)
	}
	v := member(t, obj(t, rec), "volume")
	sameKeys(t, "create 3.0", keysOf(t, v), createKeys30)
	id := str(t, v, "id")
	want := map[string]any{
		"status": "creating", "size": json.Number("1"), "availability_zone": "nova", "updated_at": nil,
		"name": "sample-vol", "description": "sample volume", "volume_type": "sample-type", "snapshot_id": nil,
		"source_volid": nil, "user_id": testUser, "bootable": "false", "encrypted": false,
		"replication_status": nil, "consistencygroup_id": nil, "multiattach": false, "migration_status": nil,
	}
	for k, w := range want {
		if got := member(t, v, k); got != w {
			t.Errorf("%s = %s, want %s", k, wire.PyRepr(got), wire.PyRepr(w))
		}
	}
	if got := wire.PyRepr(member(t, v, "metadata")); got != "{'k1': 'v1'}" {
		t.Errorf("metadata = %s", got)
	}
	if got := wire.PyRepr(member(t, v, "attachments")); got != "[]" {
		t.Errorf("attachments = %s", got)
	}
	if got := str(t, v, "created_at"); !timestampPattern.MatchString(got) {
		t.Errorf("created_at = %q", got)
	}
	links := wire.PyRepr(member(t, v, "links"))
	wantLinks := "[{'rel': 'self', 'href': 'http://example.com/v3/p1/volumes/" + id + "'}, " +
		"{'rel': 'bookmark', 'href': 'http://example.com/p1/volumes/" + id + "'}]"
	if links != wantLinks {
		t.Errorf("links\n got: %s\nwant: %s", links, wantLinks)
	}

	stored := e.volume(id)
	if stored.Status != resource.StatusCreating || stored.VolumeTypeID != sampleTypeID || stored.ProjectID != testProject ||
		stored.Size != 1 || stored.Metadata["k1"] != "v1" || stored.Host != "" || stored.AttachStatus != resource.AttachDetached {
		t.Errorf("stored volume %+v", stored)
	}

	msgs := e.disp.got()
	if len(msgs) != 1 {
		t.Fatalf("dispatched %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID == 0 || m.Topic != rpc.TopicScheduler || m.Server != "" || m.Method != rpcapi.CreateVolume {
		t.Errorf("dispatched %+v", m)
	}
	var args rpcapi.CreateVolumeArgs
	if err := json.Unmarshal(m.Args, &args); err != nil {
		t.Fatal(err)
	}
	if args.VolumeID != id || args.Size != 1 || args.AvailabilityZone != "nova" || args.VolumeTypeID != sampleTypeID || args.Attempts != 0 {
		t.Errorf("create_volume args %+v", args)
	}
	wantType := &rpcapi.VolumeTypeSpec{ID: sampleTypeID, Name: "sample-type", ExtraSpecs: map[string]string{
		"volume_backend_name": "lvmbackend", "capabilities:thin_provisioning_support": "<is> True"}}
	if !reflect.DeepEqual(args.VolumeType, wantType) {
		t.Errorf("create_volume volume_type %+v, want %+v", args.VolumeType, wantType)
	}
	wantHints := map[string]any{"same_host": sampleVolID, "different_host": []any{otherVolID},
		"query": `[">=", "$free_capacity_gb", 10]`, "custom": map[string]any{"n": 1.5}}
	if !reflect.DeepEqual(args.SchedulerHints, wantHints) {
		t.Errorf("create_volume scheduler_hints\n got: %#v\nwant: %#v", args.SchedulerHints, wantHints)
	}
	var rc reqctx.Context
	if err := json.Unmarshal(m.Context, &rc); err != nil {
		t.Fatal(err)
	}
	if rc.RequestID != rec.Header().Get("X-Openstack-Request-Id") || rc.ProjectID != testProject || rc.UserID != testUser || !rc.IsAdmin {
		t.Errorf("message context %+v", rc)
	}
}

func TestCreateVolumeVariants(t *testing.T) {
	e := newEnv(t)
	e.addVolumeType(sampleTypeID, "sample-type")
	e.addVolumeType("7bd5a1b3-8b4e-4c59-a9c3-3a0d2bd2f3c1", "11111111-2222-3333-4444-555555555555")
	for _, tc := range []struct {
		name    string
		version string
		body    string
		keys    []string
		check   func(t *testing.T, v any, stored *resource.Volume)
	}{
		{"3.70 with an availability zone", "volume 3.70", `{"volume": {"size": 1, "name": "sample-vol-az2", "availability_zone": "az2"}}`,
			concat(createKeys30, keys370), func(t *testing.T, v any, stored *resource.Volume) {
				if stored.AvailabilityZone != "az2" || str(t, v, "availability_zone") != "az2" {
					t.Errorf("zone %q", stored.AvailabilityZone)
				}
				if str(t, v, "volume_type") != resource.DefaultVolumeTypeName || str(t, v, "volume_type_id") != stored.VolumeTypeID {
					t.Errorf("type %s / %s", wire.PyRepr(member(t, v, "volume_type")), wire.PyRepr(member(t, v, "volume_type_id")))
				}
				if member(t, v, "description") != nil || member(t, v, "shared_targets") != true || member(t, v, "consumes_quota") != true ||
					member(t, v, "group_id") != nil || member(t, v, "service_uuid") != nil || member(t, v, "cluster_name") != nil {
					t.Errorf("3.70 members %s", wire.PyRepr(v))
				}
			}},
		{"3.27", "volume 3.27", `{"volume": {"size": 1}}`, concat(createKeys30, keys327), nil},
		{"size as a string, legacy names, stripped", "", `{"volume": {"size": "2", "display_name": "  old  ", "display_description": "d"}}`,
			createKeys30, func(t *testing.T, v any, stored *resource.Volume) {
				if stored.Size != 2 || stored.Name != "old" || stored.Description != "d" {
					t.Errorf("stored %+v", stored)
				}
			}},
		{"name wins over display_name", "", `{"volume": {"size": 1, "name": "new", "display_name": "old"}}`, createKeys30,
			func(t *testing.T, v any, stored *resource.Volume) {
				if stored.Name != "new" {
					t.Errorf("name %q", stored.Name)
				}
			}},
		{"type by id", "", `{"volume": {"size": 1, "volume_type": "` + sampleTypeID + `"}}`, createKeys30,
			func(t *testing.T, v any, stored *resource.Volume) {
				if str(t, v, "volume_type") != "sample-type" {
					t.Errorf("volume_type %s", wire.PyRepr(member(t, v, "volume_type")))
				}
			}},
		{"type named like a uuid", "", `{"volume": {"size": 1, "volume_type": "11111111-2222-3333-4444-555555555555"}}`, createKeys30,
			func(t *testing.T, v any, stored *resource.Volume) {
				if stored.VolumeTypeID != "7bd5a1b3-8b4e-4c59-a9c3-3a0d2bd2f3c1" {
					t.Errorf("type %q", stored.VolumeTypeID)
				}
			}},
		{"what python-cinderclient sends", "volume 3.70", `{"volume": {"size": 1, "consistencygroup_id": null, "snapshot_id": null,
			"name": null, "description": null, "volume_type": null, "availability_zone": null, "metadata": {}, "imageRef": null,
			"source_volid": null, "multiattach": false, "backup_id": null}}`, concat(createKeys30, keys370), nil},
		{"scheduler hints are accepted", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"same_host": ["` + sampleTypeID + `"]}}`,
			createKeys30, nil},
		{"null and empty hints", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": null}`, createKeys30, nil},
		{"free-form hints", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"local_to_instance": null, "query": {"a": 1}, "x": [1]}}`,
			createKeys30, nil},
		{"unknown volume members before 3.53", "volume 3.52", `{"volume": {"size": 1, "status": "available", "user_id": "x"}}`,
			concat(createKeys30, keys327, keys370[2:4]), func(t *testing.T, v any, stored *resource.Volume) {
				if stored.Status != resource.StatusCreating || stored.UserID != testUser {
					t.Errorf("stored %+v", stored)
				}
			}},
		{"multiattach as a string", "", `{"volume": {"size": 1, "multiattach": "True"}}`, createKeys30,
			func(t *testing.T, v any, stored *resource.Volume) {
				if !stored.Multiattach || member(t, v, "multiattach") != true {
					t.Errorf("multiattach %v", stored.Multiattach)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: tc.body, version: tc.version})
			wantStatus(t, rec, http.StatusAccepted)
			v := member(t, obj(t, rec), "volume")
			sameKeys(t, "create", keysOf(t, v), tc.keys)
			if tc.check != nil {
				tc.check(t, v, e.volume(str(t, v, "id")))
			}
		})
	}
}

func TestCreateVolumeRefused(t *testing.T) {
	long := strings.Repeat("x", 256)
	const snap = "7483a445-1aed-4363-801c-ae754225e2e4"
	for _, tc := range []struct {
		name    string
		version string
		body    string
		status  int // default 400
		message string
	}{
		{"malformed JSON", "", `{"volume": `, 0, "Malformed request body"},
		{"trailing garbage", "", `{"volume": {"size": 1}} x`, 0, "Malformed request body"},
		{"no body", "", ``, 0, "None is not of type 'object'"},
		{"null body", "", `null`, 0, "None is not of type 'object'"},
		{"list body", "", `[1, "a"]`, 0, "[1, 'a'] is not of type 'object'"},
		{"no volume", "", `{}`, 0, "'volume' is a required property"},
		{"volume not an object", "", `{"volume": "x"}`, 0, "Invalid input for field/attribute volume. Value: x. 'x' is not of type 'object'"},
		{"unexpected top-level member", "", `{"volume": {"size": 1}, "foo": 1}`, 0, "Additional properties are not allowed ('foo' was unexpected)"},
		{"size 0", "", `{"volume": {"size": 0}}`, 0, "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"},
		{"size -1", "", `{"volume": {"size": -1}}`, 0, "Invalid input for field/attribute size. Value: -1. -1 is less than the minimum of 1"},
		{"size 1.5", "", `{"volume": {"size": 1.5}}`, 0, "Invalid input for field/attribute size. Value: 1.5. 1.5 is not of type 'integer', 'string', 'null'"},
		{"size 1.0", "", `{"volume": {"size": 1.0}}`, 0, "Invalid input for field/attribute size. Value: 1.0. 1.0 is not of type 'integer', 'string', 'null'"},
		{"size abc", "", `{"volume": {"size": "abc"}}`, 0, "Invalid input for field/attribute size. Value: abc. 'abc' does not match '^[0-9]+$'"},
		{"size '0'", "", `{"volume": {"size": "0"}}`, 0, "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"},
		{"size true", "", `{"volume": {"size": true}}`, 0, "Invalid input for field/attribute size. Value: True. True is not of type 'integer', 'string', 'null'"},
		{"size huge", "", `{"volume": {"size": 2147483648}}`, 0, "Invalid input for field/attribute size. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647"},
		{"size enormous string", "", `{"volume": {"size": "99999999999999999999"}}`, 0, "Invalid input for field/attribute size. Value: 99999999999999999999. 99999999999999999999 is greater than the maximum of 2147483647"},
		{"no size", "", `{"volume": {"name": "x"}}`, 0, "Invalid input received: Volume size 'None' must be an integer and greater than 0"},
		{"null size", "", `{"volume": {"size": null}}`, 0, "Invalid input received: Volume size 'None' must be an integer and greater than 0"},
		{"name too long", "", `{"volume": {"size": 1, "name": "` + long + `"}}`, 0, "Invalid input received: name has 256 characters, more than 255."},
		{"description too long", "", `{"volume": {"size": 1, "display_description": "` + long + `"}}`, 0, "Invalid input received: description has 256 characters, more than 255."},
		{"name not a string", "", `{"volume": {"size": 1, "name": 123}}`, 0, "Invalid input for field/attribute name. Value: 123. 123 is not of type 'string', 'null'"},
		{"metadata value not a string", "", `{"volume": {"size": 1, "metadata": {"a": "b", "k": 1}}}`, 0, "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"},
		{"metadata value null", "", `{"volume": {"size": 1, "metadata": {"k": null}}}`, 0, "Invalid input for field/attribute k. Value: None. None is not of type 'string'"},
		{"metadata not an object", "", `{"volume": {"size": 1, "metadata": ["k"]}}`, 0, "Invalid input for field/attribute metadata. Value: ['k']. ['k'] is not of type 'object', 'null'"},
		{"metadata key", "", `{"volume": {"size": 1, "metadata": {"ok": "v", "bad!": "v"}}}`, 0, "Invalid input for field/attribute metadata. Value: {'ok': 'v', 'bad!': 'v'}. 'bad!' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"},
		{"metadata value too long", "", `{"volume": {"size": 1, "metadata": {"k": "` + long + `"}}}`, 0, "Invalid input for field/attribute k. Value: " + long + ". '" + long + "' is too long"},
		{"empty zone", "", `{"volume": {"size": 1, "availability_zone": ""}}`, 0, "Invalid input for field/attribute availability_zone. Value: . '' is too short"},
		{"unknown zone", "", `{"volume": {"size": 1, "availability_zone": "nowhere"}}`, 0, "Availability zone 'nowhere' is invalid."},
		{"unknown type", "", `{"volume": {"size": 1, "volume_type": "nope"}}`, http.StatusNotFound, "Volume type with name nope could not be found."},
		{"unknown type id", "", `{"volume": {"size": 1, "volume_type": "` + snap + `"}}`, http.StatusNotFound, "Volume type " + snap + " could not be found."},
		{"snapshot id not a uuid", "", `{"volume": {"size": 1, "snapshot_id": "abc"}}`, 0, "Invalid input for field/attribute snapshot_id. Value: abc. 'abc' is not valid under any of the given schemas"},
		{"from a snapshot", "", `{"volume": {"size": 1, "snapshot_id": "` + snap + `"}}`, http.StatusNotFound, "Snapshot " + snap + " could not be found."},
		{"clone", "", `{"volume": {"size": 1, "source_volid": "` + snap + `"}}`, http.StatusNotFound, "Volume " + snap + " could not be found."},
		{"from an image", "", `{"volume": {"size": 1, "imageRef": "cirros"}}`, 0, "Creating a volume from an image (imageRef) needs the Image service (Glance), which this Scoria API is not configured with."},
		{"from an image by image_id", "", `{"volume": {"size": 1, "image_id": "cirros"}}`, 0, "Creating a volume from an image (imageRef) needs the Image service (Glance), which this Scoria API is not configured with."},
		{"from a missing backup", "volume 3.47", `{"volume": {"size": 1, "backup_id": "` + snap + `"}}`, http.StatusNotFound, "Backup " + snap + " could not be found."},
		{"in an unknown group", "volume 3.13", `{"volume": {"size": 1, "group_id": "g"}}`, http.StatusNotFound, "Group g could not be found."},
		{"multiattach not a boolean", "", `{"volume": {"size": 1, "multiattach": "maybe"}}`, 0, "Invalid input for field/attribute multiattach. Value: maybe. 'maybe' is not valid under any of the given schemas"},
		{"hints not an object", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": "x"}`, 0, "Invalid input for field/attribute OS-SCH-HNT:scheduler_hints. Value: x. 'x' is not of type 'object', 'null'"},
		{"hints null member", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"same_host": null}}`, 0, "Invalid input for field/attribute same_host. Value: None. None is not valid under any of the given schemas"},
		{"same_host not a uuid", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"same_host": "abc"}}`, 0, "Invalid input for field/attribute same_host. Value: abc. 'abc' is not valid under any of the given schemas"},
		{"same_host list of a non-uuid", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"same_host": ["` + snap + `", "abc"]}}`, 0, "Invalid input for field/attribute same_host. Value: ['" + snap + "', 'abc']. ['" + snap + "', 'abc'] is not valid under any of the given schemas"},
		{"different_host repeated", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"different_host": ["` + snap + `", "` + snap + `"]}}`, 0, "Invalid input for field/attribute different_host. Value: ['" + snap + "', '" + snap + "']. ['" + snap + "', '" + snap + "'] is not valid under any of the given schemas"},
		{"different_host a number", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"different_host": 1}}`, 0, "Invalid input for field/attribute different_host. Value: 1. 1 is not valid under any of the given schemas"},
		{"query a number", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"query": 1}}`, 0, "Invalid input for field/attribute query. Value: 1. 1 is not of type 'string', 'object'"},
		{"query a list", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"query": ["=", "$free_capacity_gb", 1]}}`, 0, "Invalid input for field/attribute query. Value: ['=', '$free_capacity_gb', 1]. ['=', '$free_capacity_gb', 1] is not of type 'string', 'object'"},
		{"local_to_instance not a uuid", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"local_to_instance": "vm1"}}`, 0, "Invalid input for field/attribute local_to_instance. Value: vm1. 'vm1' is not valid under any of the given schemas"},
		{"hints in schema order", "", `{"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": {"query": 1, "same_host": "abc"}}`, 0, "Invalid input for field/attribute same_host. Value: abc. 'abc' is not valid under any of the given schemas"},
		{"hints before the volume", "", `{"volume": {"size": "abc"}, "OS-SCH-HNT:scheduler_hints": {"query": 1}}`, 0, "Invalid input for field/attribute query. Value: 1. 1 is not of type 'string', 'object'"},
		{"unknown volume member at 3.53", "volume 3.53", `{"volume": {"size": 1, "status": "x"}}`, 0, "Invalid input for field/attribute volume. Value: {'size': 1, 'status': 'x'}. Additional properties are not allowed ('status' was unexpected)"},
		{"schema order: name before size", "", `{"volume": {"size": "abc", "name": 1}}`, 0, "Invalid input for field/attribute name. Value: 1. 1 is not of type 'string', 'null'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: tc.body, version: tc.version})
			status, name := tc.status, "badRequest"
			if status == 0 {
				status = http.StatusBadRequest
			}
			if status == http.StatusNotFound {
				name = "itemNotFound"
			}
			wantFault(t, rec, status, name, tc.message)
			if vols := e.volumes(); len(vols) != 0 {
				t.Errorf("a refused create wrote %d volumes", len(vols))
			}
			if msgs := e.disp.got(); len(msgs) != 0 {
				t.Errorf("a refused create dispatched %d messages", len(msgs))
			}
		})
	}
}

func TestCreateVolumeDefaultTypeMissing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DefaultVolumeType = "gone" })
	rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1}}`})
	wantFault(t, rec, http.StatusInternalServerError, "computeFault", "The request cannot be fulfilled as the default volume type gone cannot be found.")
}

func TestCreateVolumeMultiattachFromType(t *testing.T) {
	e := newEnv(t)
	const multi, plain = "7a1d7b4e-0000-4000-8000-00000000000a", "7a1d7b4e-0000-4000-8000-00000000000b"
	e.addVolumeType(multi, "multi")
	e.addExtraSpec(multi, "multiattach", "<is> True")
	e.addVolumeType(plain, "plain")
	tests := []struct {
		body string
		want bool
	}{
		{`{"volume": {"size": 1, "volume_type": "multi"}}`, true},
		{`{"volume": {"size": 1, "volume_type": "plain"}}`, false},
		{`{"volume": {"size": 1, "volume_type": "plain", "multiattach": true}}`, true},
		{`{"volume": {"size": 1}}`, false},
	}
	for _, tt := range tests {
		id := e.createVolume(tt.body, "")
		if got := e.volume(id).Multiattach; got != tt.want {
			t.Errorf("%s: multiattach %v, want %v", tt.body, got, tt.want)
		}
	}
}
