package api

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// walkRequest is one request that uses what a microversion step introduced. Placeholders:
// {vol} (an available volume of the test project), {none} (an id nothing has), {type} (the
// default volume type's id).
type walkRequest struct {
	method, path, body string
	may503             bool // a documented 503: the service that would do the work is absent
}

// microversionWalk is, for every step of the table in microversion.go, the requests that use
// the feature the step introduced. Steps whose features are built elsewhere in issue 13
// (groups, group types, group snapshots, volume type encryption) are here too: until those
// land they answer the router's 404 and this walk fails on them.
var microversionWalk = map[int][]walkRequest{
	0: {{method: "GET", path: "/volumes"}, {method: "GET", path: "/backups"}, {method: "GET", path: "/backups/{none}"},
		{method: "POST", path: "/volumes/{vol}/action", body: `{"os-volume_upload_image": {"image_name": "i"}}`},
		{method: "GET", path: "/os-volume-manage?host=" + attachHost}, {method: "GET", path: "/os-snapshot-manage/detail?host=" + attachHost},
		{method: "POST", path: "/os-volume-manage", body: `{"volume": {"host": "` + attachHost + `", "ref": {}}}`},
		{method: "POST", path: "/backups/{none}/restore", body: `{"restore": {}}`},
		{method: "GET", path: "/backups/{none}/export_record"},
		{method: "POST", path: "/backups/import_record", body: `{"backup-record": {"backup_service": "s", "backup_url": "u"}}`, may503: true},
		{method: "POST", path: "/volumes/{vol}/action", body: `{"os-migrate_volume": {"host": "h@b"}}`},
		{method: "POST", path: "/volumes/{vol}/action", body: `{"os-migrate_volume_completion": {"new_volume": "{none}"}}`},
		{method: "GET", path: "/consistencygroups"}, {method: "GET", path: "/cgsnapshots"},
		{method: "GET", path: "/volumes/{vol}/encryption"}},
	1: {{method: "POST", path: "/volumes/{vol}/action", body: `{"os-volume_upload_image": {"image_name": "i", "visibility": "private", "protected": false}}`}},
	2: {{method: "GET", path: "/volumes?bootable=true"}},
	3: {{method: "GET", path: "/messages"}},
	4: {{method: "GET", path: `/volumes?glance_metadata={"a":"b"}`}},
	5: {{method: "GET", path: "/messages?limit=1&sort=created_at"}},
	6: {{method: "PUT", path: "/groups/{none}", body: `{"group": {"name": ""}}`}},
	7: {{method: "GET", path: "/clusters"}, {method: "GET", path: "/clusters/detail"}, {method: "GET", path: "/os-services"}},
	8: {{method: "GET", path: "/manageable_volumes?host=" + attachHost}, {method: "GET", path: "/manageable_snapshots/detail?host=" + attachHost},
		{method: "POST", path: "/manageable_volumes", body: `{"volume": {"host": "` + attachHost + `", "ref": {}}}`}},
	9:  {{method: "PUT", path: "/backups/{none}", body: `{"backup": {"name": "n"}}`}},
	10: {{method: "GET", path: "/volumes?group_id={none}"}},
	11: {{method: "GET", path: "/group_types"}, {method: "GET", path: "/group_types/default"}},
	12: {{method: "GET", path: "/volumes/summary"}},
	13: {{method: "GET", path: "/groups"}, {method: "GET", path: "/groups/detail"}},
	14: {{method: "GET", path: "/group_snapshots"}, {method: "GET", path: "/group_snapshots/detail"}, {method: "GET", path: "/snapshots/detail"}},
	15: {{method: "GET", path: "/volumes/{vol}/metadata"}},
	16: {{method: "POST", path: "/volumes/{vol}/action", body: `{"os-migrate_volume": {"cluster": "c"}}`}},
	17: {{method: "GET", path: "/manageable_volumes?cluster=c"}},
	18: {{method: "GET", path: "/backups/detail"}},
	19: {{method: "POST", path: "/group_snapshots/{none}/action", body: `{"reset_status": {"status": "error"}}`}},
	20: {{method: "POST", path: "/groups/{none}/action", body: `{"reset_status": {"status": "error"}}`}},
	21: {{method: "GET", path: "/volumes/{vol}"}},
	22: {{method: "GET", path: `/snapshots?metadata={"a":"b"}`}},
	23: {{method: "DELETE", path: "/volumes/{none}?force=true"}},
	24: {{method: "POST", path: "/workers/cleanup", body: `{}`}},
	25: {{method: "PUT", path: "/groups/{none}", body: `{"group": {"add_volumes": "{vol}"}}`}},
	26: {{method: "POST", path: "/groups/{none}/action", body: `{"failover_replication": {}}`}, {method: "GET", path: "/clusters?frozen=false"}},
	27: {{method: "GET", path: "/attachments"}},
	28: {{method: "GET", path: "/scheduler-stats/get_pools?name=x"}},
	29: {{method: "GET", path: "/group_snapshots?limit=1"}},
	30: {{method: "GET", path: "/snapshots?sort=name"}},
	31: {{method: "GET", path: "/volumes?name=x"}},
	32: {{method: "PUT", path: "/os-services/get-log", body: `{}`}, {method: "PUT", path: "/os-services/set-log", body: `{"level": "INFO"}`}},
	33: {{method: "GET", path: "/resource_filters"}},
	34: {{method: "GET", path: "/volumes?name~=x"}},
	35: {{method: "GET", path: "/scheduler-stats/get_pools?volume_type=x"}},
	36: {{method: "GET", path: "/volumes/summary"}},
	37: {{method: "GET", path: "/backups?sort=name"}},
	38: {{method: "POST", path: "/groups/{none}/action", body: `{"enable_replication": {}}`}},
	39: {{method: "GET", path: "/limits?project_id=" + testProject}},
	40: {{method: "POST", path: "/volumes/{vol}/action", body: `{"revert": {"snapshot_id": "{none}"}}`}},
	41: {{method: "GET", path: "/snapshots/detail"}},
	42: {{method: "POST", path: "/volumes/{none}/action", body: `{"os-extend": {"new_size": 2}}`}},
	43: {{method: "POST", path: "/backups", body: `{"backup": {"volume_id": "{vol}", "metadata": {"a": "b"}}}`, may503: true}},
	44: {{method: "POST", path: "/attachments/{none}/action", body: `{"os-complete": {}}`}},
	45: {{method: "GET", path: "/volumes?with_count=true"}, {method: "GET", path: "/backups?with_count=true"}},
	46: {{method: "POST", path: "/volumes", body: `{"volume": {"size": 0, "imageRef": "{none}"}}`}},
	47: {{method: "POST", path: "/volumes", body: `{"volume": {"size": 1, "backup_id": "{none}"}}`}},
	48: {{method: "GET", path: "/volumes/{vol}"}},
	49: {{method: "GET", path: "/os-services"}},
	50: {{method: "GET", path: "/volumes/detail"}},
	51: {{method: "POST", path: "/backups", body: `{"backup": {"volume_id": "{vol}", "availability_zone": "nova"}}`, may503: true}},
	52: {{method: "GET", path: `/types?extra_specs={"a":"b"}`}},
	53: {{method: "PUT", path: "/volumes/{vol}", body: `{"volume": {"name": "walk"}}`}},
	54: {{method: "POST", path: "/attachments", body: `{"attachment": {"volume_uuid": "{none}", "mode": "ro"}}`}},
	55: {{method: "GET", path: "/volume-transfers"}},
	56: {{method: "GET", path: "/backups/detail"}},
	57: {{method: "GET", path: "/volume-transfers/detail"}},
	58: {{method: "GET", path: "/groups/detail"}},
	59: {{method: "GET", path: "/volume-transfers?limit=1"}},
	60: {{method: "GET", path: "/volumes?created_at=gt:2020-01-01T00:00:00"}},
	61: {{method: "GET", path: "/volumes/detail"}},
	62: {{method: "GET", path: "/default-types"}},
	63: {{method: "GET", path: "/volumes/{vol}"}},
	64: {{method: "GET", path: "/types/{type}/encryption"}},
	65: {{method: "GET", path: "/volumes?consumes_quota=true"}},
	66: {{method: "POST", path: "/snapshots", body: `{"snapshot": {"volume_id": "{none}"}}`}},
	67: {{method: "GET", path: "/volumes"}},
	68: {{method: "POST", path: "/volumes/{vol}/action", body: `{"os-reimage": {"image_id": "{none}"}}`}},
	69: {{method: "GET", path: "/volumes/{vol}"}},
	70: {{method: "POST", path: "/volume-transfers", body: `{"transfer": {"volume_id": "{none}"}}`}},
}

// tableRow is a step of the table in microversion.go's comment: "//	3.N   …".
var tableRow = regexp.MustCompile(`(?m)^//\t3\.(\d+) `)

// TestMicroversionWalk walks every step of the table, 3.0 to MaxVersion: each step's
// requests, sent at that microversion (and, for the project-less step 3.67, without a
// project), reach a handler: no router 404 (unknown path) or 405, and no 5xx but a
// documented 503. The walk and the table in microversion.go list the same steps.
func TestMicroversionWalk(t *testing.T) {
	src, err := os.ReadFile("microversion.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]bool{}
	for _, m := range tableRow.FindAllStringSubmatch(string(src), -1) {
		n, _ := strconv.Atoi(m[1])
		rows[n] = true
	}
	maxMinor := wire.MustParseVersion(MaxVersion).Minor
	for minor := 0; minor <= maxMinor; minor++ {
		if !rows[minor] {
			t.Errorf("microversion.go's table has no row for 3.%d", minor)
		}
		if len(microversionWalk[minor]) == 0 {
			t.Errorf("the walk has no request for 3.%d", minor)
		}
	}

	e := matrixEnv(t)
	vol := e.createVolume(`{"volume": {"size": 1}}`, "")
	e.place(vol, attachHost+"#file", resource.StatusAvailable)
	typeID := str(t, obj(t, e.do(call{method: "GET", path: "/v3/" + testProject + "/types/default"})), "volume_type", "id")
	fill := strings.NewReplacer("{vol}", vol, "{none}", noBackup, "{type}", typeID)

	for minor := 0; minor <= maxMinor; minor++ {
		for _, wr := range microversionWalk[minor] {
			v := fmt.Sprintf("3.%d", minor)
			prefix := "/v3/" + testProject
			if minor == 67 {
				prefix = "/v3"
			}
			t.Run(v+" "+wr.method+" "+wr.path, func(t *testing.T) {
				rec := e.do(call{method: wr.method, path: prefix + fill.Replace(wr.path), body: fill.Replace(wr.body), version: "volume " + v})
				body := rec.Body.String()
				switch {
				case routerRefused(rec.Code, body):
					t.Errorf("the router answers %d: %s", rec.Code, body)
				case rec.Code == http.StatusServiceUnavailable && wr.may503:
				case rec.Code >= 500:
					t.Errorf("%d: %s", rec.Code, body)
				}
			})
		}
	}
}
