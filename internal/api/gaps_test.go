package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
)

// noBackup is an id no backup has (none exists until issue 18).
const noBackup = "5e3c1d2a-9b7f-4c8e-a1d0-6f2b3c4d5e6f"

// gapPolicyOps are the policy matrix's cases of the gap stubs (gaps.go): each answers its
// stub's status when the policy lets the caller through. Backups that do not exist are 404
// before any rule, as in Cinder (backup_api.get reads the backup first).
func gapPolicyOps() []opCase {
	act := func(name, body, version, rule string, n need) opCase {
		return opCase{op: "POST /volumes/{volume_id}/action (" + name + ")", path: "/volumes/{vol}/action", version: version,
			body: fmt.Sprintf(`{%q: %s}`, name, body), rule: rule, need: n, reach: hiddenObj, ok: 400}
	}
	backupAct := func(name, body string) opCase {
		return opCase{op: "POST /backups/{backup_id}/action (" + name + ")", path: "/backups/" + noBackup + "/action",
			body: fmt.Sprintf(`{%q: %s}`, name, body), need: needNone, ok: 404}
	}
	manage := func(col, version, member string, list, manage string) []opCase {
		return []opCase{
			{op: "GET /" + col, path: "/" + col + "?host=" + attachHost, version: version, rule: list, need: needAdmin, ok: 200},
			{op: "GET /" + col + "/detail", path: "/" + col + "/detail?host=" + attachHost, version: version, rule: list, need: needAdmin, ok: 200},
			{op: "POST /" + col, path: "/" + col, version: version, body: `{"` + member + `": {"host": "` + attachHost + `", "ref": {"source-name": "x"}}}`,
				rule: manage, need: needAdmin, ok: 400},
		}
	}
	ops := []opCase{
		// Backups (issue 18; backups.py, backup_actions.py).
		{op: "GET /backups", path: "/backups", rule: "backup:get_all", need: needReader, ok: 200},
		{op: "GET /backups/detail", path: "/backups/detail", rule: "backup:get_all", need: needReader, ok: 200},
		{op: "POST /backups", path: "/backups", body: `{"backup": {"volume_id": "{vol}"}}`, rule: "backup:create", need: needMemberAny, reach: hiddenObj, ok: 503},
		{op: "GET /backups/{backup_id}", path: "/backups/" + noBackup, need: needNone, ok: 404},
		{op: "PUT /backups/{backup_id}", path: "/backups/" + noBackup, version: "volume 3.9", body: `{"backup": {"name": "n"}}`, need: needNone, ok: 404},
		{op: "DELETE /backups/{backup_id}", path: "/backups/" + noBackup, need: needNone, ok: 404},
		{op: "POST /backups/{backup_id}/restore", path: "/backups/" + noBackup + "/restore", body: `{"restore": {}}`, need: needNone, ok: 404},
		{op: "GET /backups/{backup_id}/export_record", path: "/backups/" + noBackup + "/export_record", rule: "backup:export-import", need: needAdmin, ok: 404},
		{op: "POST /backups/import_record", path: "/backups/import_record", body: `{"backup-record": {"backup_service": "cinder.backup.drivers.ceph", "backup_url": "eyJ9"}}`,
			rule: "backup:backup-import", need: needAdmin, ok: 503},
		backupAct("os-reset_status", `{"status": "error"}`),
		backupAct("os-force_delete", `{}`),
		// Clusters, workers, services' log levels (issue 19; clusters.py, workers.py, services.py).
		{op: "GET /clusters", path: "/clusters", version: "volume 3.7", rule: "clusters:get_all", need: needAdmin, ok: 200},
		{op: "GET /clusters/detail", path: "/clusters/detail", version: "volume 3.7", rule: "clusters:get_all", need: needAdmin, ok: 200},
		{op: "GET /clusters/{cluster}", path: "/clusters/c1", version: "volume 3.7", rule: "clusters:get", need: needAdmin, ok: 404},
		{op: "PUT /clusters/{cluster}", path: "/clusters/enable", version: "volume 3.7", body: `{"name": "c1"}`, rule: "clusters:update", need: needAdmin, ok: 404},
		{op: "POST /workers/cleanup", path: "/workers/cleanup", version: "volume 3.24", body: `{}`, rule: "workers:cleanup", need: needAdmin, ok: 400},
		{op: "PUT /os-services/{action}", path: "/os-services/get-log", version: "volume 3.32", body: `{}`, rule: "volume_extension:services:update", need: needAdmin, ok: 200},
		// Volume actions of images (served; 400 here: the matrix's API has no Image service) and
		// of migration and manage (issue 19).
		act("os-volume_upload_image", `{"image_name": "i"}`, "", "volume_extension:volume_actions:upload_image", needMember),
		act("os-reimage", `{"image_id": "`+noBackup+`"}`, "volume 3.68", "volume:reimage", needMemberNew),
		act("os-migrate_volume", `{"host": "`+attachHost+`"}`, "", "volume_extension:volume_admin_actions:migrate_volume", needAdmin),
		act("os-migrate_volume_completion", `{"new_volume": "`+noBackup+`"}`, "", "volume_extension:volume_admin_actions:migrate_volume_completion", needAdmin),
		act("os-unmanage", `{}`, "", "volume_extension:volume_unmanage", needAdmin),
	}
	// Manageable volumes and snapshots (manageable_volumes.py, manageable_snapshots.py).
	ops = append(ops, manage("manageable_volumes", "volume 3.8", "volume", "volume_extension:list_manageable", "volume_extension:volume_manage")...)
	ops = append(ops, manage("manageable_snapshots", "volume 3.8", "snapshot", "snapshot_extension:list_manageable", "snapshot_extension:snapshot_manage")...)
	ops = append(ops, manage("os-volume-manage", "", "volume", "volume_extension:list_manageable", "volume_extension:volume_manage")...)
	ops = append(ops, manage("os-snapshot-manage", "", "snapshot", "snapshot_extension:list_manageable", "snapshot_extension:snapshot_manage")...)
	return ops
}

// TestGapAnswers: each stub answers as Cinder does without the feature: lists empty in
// Cinder's shape, shows Cinder's itemNotFound of the resource, creates and actions the
// documented error, each at and below the microversion that introduced it.
func TestGapAnswers(t *testing.T) {
	e := matrixEnv(t)
	vol := e.createVolume(`{"volume": {"size": 1}}`, "")
	e.place(vol, attachHost+"#file", resource.StatusAvailable)
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		version string
		body    string
		code    int
		want    string // the whole body, or (prefix "~") a part of it
	}{
		{"backups list", "GET", "/backups", "", "", 200, `{"backups":[]}`},
		{"backups detail with count", "GET", "/backups/detail?with_count=true", "3.45", "", 200, `{"backups":[],"count":0}`},
		{"with_count before 3.45 is ignored", "GET", "/backups?with_count=true", "3.44", "", 200, `{"backups":[]}`},
		{"bad with_count", "GET", "/backups?with_count=maybe", "3.45", "", 400, `~with_count`},
		{"bad limit", "GET", "/backups?limit=x", "", "", 400, `~limit param must be an integer`},
		{"bad offset", "GET", "/backups/detail?offset=-1", "", "", 400, `~offset must be >= 0`},
		{"filters", "GET", "/backups?name=b&status=available&volume_id=" + noBackup + "&sort=name:asc&limit=1", "3.37", "", 200, `{"backups":[]}`},
		{"backup show", "GET", "/backups/" + noBackup, "", "", 404, `{"itemNotFound":{"code":404,"message":"Backup ` + noBackup + ` could not be found."}}`},
		{"backup delete", "DELETE", "/backups/" + noBackup, "", "", 404, `~Backup ` + noBackup + ` could not be found.`},
		{"backup update", "PUT", "/backups/" + noBackup, "3.9", `{"backup": {"name": "n"}}`, 404, `~Backup ` + noBackup + ` could not be found.`},
		{"backup update before 3.9", "PUT", "/backups/" + noBackup, "3.8", `{"backup": {"name": "n"}}`, 404, `~The resource could not be found.`},
		{"backup update without a body", "PUT", "/backups/" + noBackup, "3.9", ``, 400, `~badRequest`},
		{"backup restore", "POST", "/backups/" + noBackup + "/restore", "", `{"restore": {"volume_id": null}}`, 404, `~Backup ` + noBackup},
		{"backup export", "GET", "/backups/" + noBackup + "/export_record", "", "", 404, `~Backup ` + noBackup},
		{"backup action", "POST", "/backups/" + noBackup + "/action", "", `{"os-reset_status": {"status": "error"}}`, 404, `~Backup ` + noBackup},
		{"backup unknown action", "POST", "/backups/" + noBackup + "/action", "", `{"os-frobnicate": {}}`, 400, `~There is no such action: os-frobnicate`},
		{"backup create", "POST", "/backups", "", `{"backup": {"volume_id": "` + vol + `"}}`, 503, `{"serviceUnavailable":{"code":503,"message":"Service cinder-backup could not be found."}}`},
		{"backup create of no volume", "POST", "/backups", "", `{"backup": {"volume_id": "` + noBackup + `"}}`, 404, `~Volume ` + noBackup + ` could not be found.`},
		{"backup create without volume_id", "POST", "/backups", "", `{"backup": {}}`, 400, `~'volume_id' is a required property`},
		{"backup create, bad force", "POST", "/backups", "", `{"backup": {"volume_id": "` + vol + `", "force": "perhaps"}}`, 400, `~force`},
		{"backup import", "POST", "/backups/import_record", "", `{"backup-record": {"backup_service": "svc", "backup_url": "u"}}`, 503, `~Service svc could not be found.`},
		{"backup import without url", "POST", "/backups/import_record", "", `{"backup-record": {"backup_service": "svc"}}`, 400, `~'backup_url' is a required property`},
		{"clusters", "GET", "/clusters", "3.7", "", 200, `{"clusters":[]}`},
		{"clusters detail", "GET", "/clusters/detail?is_up=true", "3.7", "", 200, `{"clusters":[]}`},
		{"clusters before 3.7", "GET", "/clusters", "3.6", "", 404, `{"itemNotFound":{"code":404,"message":"The resource could not be found."}}`},
		{"clusters bad filter", "GET", "/clusters?color=red", "3.7", "", 400, `~Invalid filter keys: color`},
		{"clusters replication filter before 3.26", "GET", "/clusters?frozen=true", "3.25", "", 400, `~Invalid filter keys: frozen`},
		{"clusters replication filter at 3.26", "GET", "/clusters?frozen=true", "3.26", "", 200, `{"clusters":[]}`},
		{"cluster show", "GET", "/clusters/c1", "3.7", "", 404, `{"itemNotFound":{"code":404,"message":"Cluster {'binary': 'cinder-volume', 'name': 'c1'} could not be found."}}`},
		{"cluster enable", "PUT", "/clusters/enable", "3.7", `{"name": "c1"}`, 404, `~Cluster {'binary': 'cinder-volume', 'name': 'c1'} could not be found.`},
		{"cluster disable of a binary", "PUT", "/clusters/disable", "3.7", `{"name": "c1", "binary": "cinder-backup", "disabled_reason": "r"}`, 404, `~Cluster {'binary': 'cinder-backup', 'name': 'c1'} could not be found.`},
		{"cluster enable without a name", "PUT", "/clusters/enable", "3.7", `{}`, 400, `~'name' is a required property`},
		{"cluster unknown action", "PUT", "/clusters/frobnicate", "3.7", `{"name": "c1"}`, 404, `~Unknown action`},
		{"manageable volumes", "GET", "/manageable_volumes?host=" + attachHost, "3.8", "", 200, `{"manageable-volumes":[]}`},
		{"manageable snapshots detail", "GET", "/manageable_snapshots/detail?host=" + attachHost + "%23file", "3.8", "", 200, `{"manageable-snapshots":[]}`},
		{"manageable before 3.8", "GET", "/manageable_volumes?host=" + attachHost, "3.7", "", 404, `~The resource could not be found.`},
		{"manageable without host", "GET", "/manageable_volumes", "3.8", "", 400, `~Host field is missing.`},
		{"manageable without host at 3.17", "GET", "/manageable_volumes", "3.17", "", 400, `~One and only one of cluster and host must be set.`},
		{"manageable of an unknown host", "GET", "/os-volume-manage?host=nowhere@x", "", "", 404, `~could not be found`},
		{"manageable bad sort", "GET", "/manageable_volumes?host=" + attachHost + "&sort=name", "3.8", "", 400, `{"badRequest":{"code":400,"message":"Invalid sort keys passed: name"}}`},
		{"manage existing", "POST", "/manageable_volumes", "3.8", `{"volume": {"host": "` + attachHost + `", "ref": {"source-name": "x"}}}`, 400, `~Managing an existing volume is not supported by Scoria yet.`},
		{"workers cleanup", "POST", "/workers/cleanup", "3.24", `{}`, 400, `~is not supported by Scoria yet`},
		{"workers cleanup before 3.24", "POST", "/workers/cleanup", "3.23", `{}`, 404, `~The resource could not be found.`},
		{"get-log before 3.32", "PUT", "/os-services/get-log", "3.31", `{}`, 400, `~Unknown action`},
		{"get-log, unknown binary", "PUT", "/os-services/get-log", "3.32", `{"binary": "nova-api"}`, 400, `~binary`},
		{"set-log, bad level", "PUT", "/os-services/set-log", "3.32", `{"level": "LOUD"}`, 400, `~LOUD is not a valid log level.`},
		{"set-log of volume services", "PUT", "/os-services/set-log", "3.32", `{"binary": "cinder-volume", "level": "DEBUG"}`, 400, `~not supported by Scoria yet`},
		{"get-log of backup services", "PUT", "/os-services/get-log", "3.32", `{"binary": "cinder-backup"}`, 400, `~Log levels of cinder-backup services is not supported by Scoria yet`},
		{"services enable", "PUT", "/os-services/enable", "", `{"host": "h", "binary": "cinder-volume"}`, 400, `~os-services enable is not supported by Scoria yet.`},
		{"migrate", "POST", "/volumes/" + vol + "/action", "", `{"os-migrate_volume": {"host": "h@b"}}`, 400, `~os-migrate_volume) is not supported by Scoria yet.`},
		{"migrate a volume that is not there", "POST", "/volumes/" + noBackup + "/action", "", `{"os-migrate_volume": {"host": "h@b"}}`, 404, `~Volume ` + noBackup + ` could not be found.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ""
			if tc.version != "" {
				v = "volume " + tc.version
			}
			rec := e.do(call{method: tc.method, path: "/v3/" + testProject + tc.path, version: v, body: tc.body})
			got := strings.TrimSpace(rec.Body.String())
			if rec.Code != tc.code {
				t.Fatalf("%d %s, want %d", rec.Code, got, tc.code)
			}
			if part, ok := strings.CutPrefix(tc.want, "~"); ok {
				if !strings.Contains(got, part) {
					t.Fatalf("body %s, want it to contain %q", got, part)
				}
			} else if got != tc.want {
				t.Fatalf("body %s, want %s", got, tc.want)
			}
		})
	}
}

// TestGapBackupCreateVolumeStatus: a backup create checks the volume's status as Cinder does
// before it finds no backup service.
func TestGapBackupCreateVolumeStatus(t *testing.T) {
	e := matrixEnv(t)
	vol := e.createVolume(`{"volume": {"size": 1}}`, "")
	e.place(vol, attachHost+"#file", resource.StatusAvailable)
	for _, tc := range []struct {
		status string
		force  bool
		code   int
		want   string
	}{
		{"available", false, 503, "Service cinder-backup could not be found."},
		{"in-use", false, 400, "Invalid volume: Backing up an in-use volume must use the force flag."},
		{"in-use", true, 503, "Service cinder-backup could not be found."},
		{"error", true, 400, `Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"error\".`},
	} {
		t.Run(fmt.Sprintf("%s force=%v", tc.status, tc.force), func(t *testing.T) {
			if rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/volumes/" + vol + "/action",
				body: `{"os-reset_status": {"status": "` + tc.status + `"}}`}); rec.Code != http.StatusAccepted {
				t.Fatalf("reset status: %d %s", rec.Code, rec.Body)
			}
			rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/backups",
				body: fmt.Sprintf(`{"backup": {"volume_id": %q, "force": %v}}`, vol, tc.force)})
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
}

// TestGapServiceLogLevels: get-log shows the API's logger's level and set-log changes it, as
// Cinder's os-services set-log/get-log do for cinder-api.
func TestGapServiceLogLevels(t *testing.T) {
	lg := logrus.New()
	lg.SetOutput(&strings.Builder{})
	lg.SetLevel(logrus.InfoLevel)
	e := newEnv(t, func(o *Options) { o.Log = lg })
	getLog := func(body string) []map[string]any {
		t.Helper()
		rec := e.do(call{method: "PUT", path: "/v3/" + testProject + "/os-services/get-log", version: "volume 3.32", body: body})
		if rec.Code != http.StatusOK {
			t.Fatalf("get-log: %d %s", rec.Code, rec.Body)
		}
		var out struct {
			LogLevels []map[string]any `json:"log_levels"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out.LogLevels
	}
	levels := func(entries []map[string]any) string {
		if len(entries) != 1 || entries[0]["binary"] != "cinder-api" || entries[0]["host"] == "" {
			t.Fatalf("log_levels %v, want one cinder-api entry with a host", entries)
		}
		b, _ := json.Marshal(entries[0]["levels"])
		return string(b)
	}
	for _, tc := range []struct {
		name, set, get string
		want           string
		level          logrus.Level
	}{
		{"as configured", "", `{}`, `{"scoria.api":"INFO"}`, logrus.InfoLevel},
		{"set debug", `{"level": "debug"}`, `{"binary": "cinder-api"}`, `{"scoria.api":"DEBUG"}`, logrus.DebugLevel},
		{"a prefix that matches nothing", `{"prefix": "cinder.volume", "level": "ERROR"}`, `{"prefix": "cinder"}`, `{}`, logrus.DebugLevel},
		{"set warning by prefix", `{"prefix": "scoria", "level": "WARNING", "binary": "*"}`, `{"prefix": "scoria."}`, `{"scoria.api":"WARNING"}`, logrus.WarnLevel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set != "" {
				rec := e.do(call{method: "PUT", path: "/v3/" + testProject + "/os-services/set-log", version: "volume 3.32", body: tc.set})
				if rec.Code != http.StatusAccepted || rec.Body.Len() != 0 {
					t.Fatalf("set-log: %d %s, want 202 and no body", rec.Code, rec.Body)
				}
			}
			if got := levels(getLog(tc.get)); got != tc.want {
				t.Errorf("levels %s, want %s", got, tc.want)
			}
			if lg.GetLevel() != tc.level {
				t.Errorf("logger at %v, want %v", lg.GetLevel(), tc.level)
			}
		})
	}
	if got := getLog(`{"server": "not-this-host"}`); len(got) != 0 {
		t.Errorf("another server's levels: %v, want none", got)
	}
}

// TestGapBackupListFilters: from 3.31 a non-admin may filter backups only by Cinder's backup
// resource filters; admins and earlier microversions are not checked, as in Cinder.
func TestGapBackupListFilters(t *testing.T) {
	e := newEnv(t)
	member := map[string]string{"X-Roles": "member,reader"}
	for _, tc := range []struct {
		name, query, version string
		header               map[string]string
		code                 int
		want                 string
	}{
		{"member, known filters", "name=a&status=available&volume_id=x&limit=2&sort=status", "3.31", member, 200, `{"backups":[]}`},
		{"member, unknown filters", "size=1&color=red", "3.31", member, 400, "Invalid filters color,size are found in query options."},
		{"member before 3.31", "color=red", "3.30", member, 200, `{"backups":[]}`},
		{"member, with_count from 3.45", "with_count=true", "3.45", member, 200, `{"backups":[],"count":0}`},
		{"member, with_count before 3.45", "with_count=true", "3.44", member, 400, "Invalid filters with_count are found in query options."},
		{"admin, any filter", "color=red", "3.31", nil, 200, `{"backups":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/" + testProject + "/backups/detail?" + tc.query, version: "volume " + tc.version, header: tc.header})
			if got := strings.TrimSpace(rec.Body.String()); rec.Code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("%d %s, want %d %s", rec.Code, got, tc.code, tc.want)
			}
		})
	}
}
