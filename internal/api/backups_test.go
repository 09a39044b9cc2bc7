package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

const backupHostName = "bk1"

// addBackupService registers an up backup service on host in zone az.
func (e *env) addBackupService(host, az string) {
	e.t.Helper()
	if _, err := e.store.RegisterService(context.Background(), &resource.Service{Binary: resource.BinaryBackup, Host: host,
		Topic: rpc.TopicBackup, AvailabilityZone: az}); err != nil {
		e.t.Fatalf("register backup service: %v", err)
	}
}

// createBackup backs volume up through the API and returns the backup's id.
func (e *env) createBackup(volumeID, extra string) string {
	e.t.Helper()
	rec := e.do(call{method: "POST", path: "/v3/p1/backups", body: `{"backup": {"volume_id": "` + volumeID + `"` + extra + `}}`})
	wantStatus(e.t, rec, http.StatusAccepted)
	return str(e.t, obj(e.t, rec), "backup", "id")
}

// finishBackup plays the backup service: the backup ends available.
func (e *env) finishBackup(id string) {
	e.t.Helper()
	svc := "cinder.backup.drivers.posix.PosixBackupDriver"
	if err := e.store.FinishBackup(context.Background(), id, resource.BackupChange{Service: &svc}); err != nil {
		e.t.Fatalf("finish backup %s: %v", id, err)
	}
}

func (e *env) backup(id string) *resource.Backup {
	e.t.Helper()
	b, err := e.store.GetBackup(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get backup %s: %v", id, err)
	}
	return b
}

// lastBackupMessage is the one message dispatched since before: method to backupHostName.
func (e *env) lastBackupMessage(before int, method string, args any) {
	e.t.Helper()
	msgs := e.disp.got()[before:]
	if len(msgs) != 1 {
		e.t.Fatalf("dispatched %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Method != method || m.Topic != rpc.TopicBackup || m.Server != backupHostName {
		e.t.Errorf("dispatched %s to %s.%s, want %s to %s.%s", m.Method, m.Topic, m.Server, method, rpc.TopicBackup, backupHostName)
	}
	if err := json.Unmarshal(m.Args, args); err != nil {
		e.t.Errorf("args %s: %v", m.Args, err)
	}
}

func TestCreateBackupNoService(t *testing.T) {
	e := newEnv(t)
	vol := e.placedVolume("")
	rec := e.do(call{method: "POST", path: "/v3/p1/backups", body: `{"backup": {"volume_id": "` + vol + `"}}`})
	wantFault(t, rec, http.StatusServiceUnavailable, "serviceUnavailable", msgBackupServiceNotFound)
	if st := e.volume(vol).Status; st != resource.StatusAvailable {
		t.Errorf("volume status %s after a refused backup", st)
	}
}

func TestBackupLifecycle(t *testing.T) {
	e := newEnv(t)
	e.addBackupService(backupHostName, "nova")
	vol := e.placedVolume("")

	before := len(e.disp.got())
	id := e.createBackup(vol, `, "name": " b1 ", "description": "d", "container": "c"`)
	var args rpcapi.BackupArgs
	e.lastBackupMessage(before, rpcapi.CreateBackup, &args)
	if args.BackupID != id {
		t.Errorf("create_backup of %s, want %s", args.BackupID, id)
	}
	if b := e.backup(id); b.Status != resource.BackupCreating || b.Host != backupHostName || b.Name != "b1" || b.Container != "c" {
		t.Errorf("backup row %+v", b)
	}
	if st := e.volume(vol).Status; st != resource.StatusBackingUp {
		t.Errorf("volume status %s, want backing-up", st)
	}

	// A delete while creating is refused.
	rec := e.do(call{method: "DELETE", path: "/v3/p1/backups/" + id})
	wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid backup: Backup status must be available or error")

	e.finishBackup(id)

	t.Run("show per microversion", func(t *testing.T) {
		base := []string{"id", "status", "size", "object_count", "availability_zone", "container", "created_at", "updated_at",
			"name", "description", "fail_reason", "volume_id", "links", "is_incremental", "has_dependent_backups",
			"snapshot_id", "data_timestamp"}
		for _, tc := range []struct {
			version, query, token string
			extra                 []string
		}{
			{"volume 3.0", "", "", nil},
			{"volume 3.18", "", "", []string{"os-backup-project-attr:project_id"}},
			{"volume 3.18", "", "member", nil},
			{"volume 3.43", "", "", []string{"metadata", "os-backup-project-attr:project_id"}},
			{"volume 3.56", "", "", []string{"metadata", "os-backup-project-attr:project_id", "user_id"}},
			{"volume 3.0", "?with_progress=true", "", []string{"progress"}},
		} {
			rec := e.do(call{method: "GET", path: "/v3/p1/backups/" + id + tc.query, version: tc.version,
				header: rolesFor(tc.token)})
			wantStatus(t, rec, http.StatusOK)
			want := append(append([]string{}, base...), tc.extra...)
			sameKeys(t, tc.version+tc.query+tc.token, keysOf(t, member(t, obj(t, rec), "backup")), want)
		}
		rec := e.do(call{method: "GET", path: "/v3/p1/backups/" + id + "?with_progress=maybe"})
		wantStatus(t, rec, http.StatusBadRequest)
	})

	t.Run("list", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/backups?with_count=true", version: "volume 3.45"})
		wantStatus(t, rec, http.StatusOK)
		body := obj(t, rec)
		if n := member(t, body, "count"); n != json.Number("1") {
			t.Errorf("count %v", n)
		}
		sameKeys(t, "summary", keysOf(t, member(t, body, "backups", 0)), []string{"id", "name", "links"})
		rec = e.do(call{method: "GET", path: "/v3/p1/backups/detail?name=nope"})
		wantStatus(t, rec, http.StatusOK)
		if got := member(t, obj(t, rec), "backups").([]any); len(got) != 0 {
			t.Errorf("name filter listed %d", len(got))
		}
		rec = e.do(call{method: "GET", path: "/v3/p1/backups?host=x", version: "volume 3.31", header: memberRole})
		wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid filters host are found in query options.")
		rec = e.do(call{method: "GET", path: "/v3/p1/backups?sort=bogus:asc"})
		wantStatus(t, rec, http.StatusBadRequest)
	})

	t.Run("update", func(t *testing.T) {
		rec := e.do(call{method: "PUT", path: "/v3/p1/backups/" + id, body: `{"backup": {"name": "n2"}}`, version: "volume 3.8"})
		wantStatus(t, rec, http.StatusNotFound)
		rec = e.do(call{method: "PUT", path: "/v3/p1/backups/" + id, body: `{"backup": {"metadata": {"k": "v"}}}`, version: "volume 3.9"})
		wantStatus(t, rec, http.StatusBadRequest)
		rec = e.do(call{method: "PUT", path: "/v3/p1/backups/" + id, body: `{"backup": {"name": "n2", "metadata": {"k": "v"}}}`, version: "volume 3.43"})
		wantStatus(t, rec, http.StatusOK)
		if b := e.backup(id); b.Name != "n2" || b.Metadata["k"] != "v" {
			t.Errorf("after update %+v", b)
		}
	})

	t.Run("delete", func(t *testing.T) {
		before := len(e.disp.got())
		rec := e.do(call{method: "DELETE", path: "/v3/p1/backups/" + id})
		wantStatus(t, rec, http.StatusAccepted)
		var args rpcapi.BackupArgs
		e.lastBackupMessage(before, rpcapi.DeleteBackup, &args)
		if b := e.backup(id); b.Status != resource.BackupDeleting {
			t.Errorf("status %s, want deleting", b.Status)
		}
	})
}

// rolesFor gives a member token its roles header.
func rolesFor(token string) map[string]string {
	if token == "member" {
		return memberRole
	}
	return nil
}

func TestCreateBackupBadInput(t *testing.T) {
	e := newEnv(t)
	e.addBackupService(backupHostName, "nova")
	vol := e.placedVolume("")
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name, body, version string
		status              int
	}{
		{"no backup", `{}`, "", 400},
		{"not an object", `{"backup": []}`, "", 400},
		{"no volume", `{"backup": {}}`, "", 400},
		{"volume null", `{"backup": {"volume_id": null}}`, "", 400},
		{"volume not uuid", `{"backup": {"volume_id": "x"}}`, "", 400},
		{"volume number", `{"backup": {"volume_id": 7}}`, "", 400},
		{"missing volume", `{"backup": {"volume_id": "6d3ee7a4-5cfc-4a54-9f5c-1b0d0f2a2a11"}}`, "", 404},
		{"force string", `{"backup": {"volume_id": "` + vol + `", "force": "perhaps"}}`, "", 400},
		{"container long", `{"backup": {"volume_id": "` + vol + `", "container": "` + long + `"}}`, "", 400},
		{"name nested", `{"backup": {"volume_id": "` + vol + `", "name": {"a": {"b": 1}}}}`, "", 400},
		{"extra", `{"backup": {"volume_id": "` + vol + `", "colour": 1}}`, "", 400},
		{"metadata before 3.43", `{"backup": {"volume_id": "` + vol + `", "metadata": {}}}`, "volume 3.42", 400},
		{"metadata not strings", `{"backup": {"volume_id": "` + vol + `", "metadata": {"a": 1}}}`, "volume 3.43", 400},
		{"az before 3.51", `{"backup": {"volume_id": "` + vol + `", "availability_zone": "nova"}}`, "volume 3.50", 400},
		{"az without service", `{"backup": {"volume_id": "` + vol + `", "availability_zone": "az2"}}`, "volume 3.51", 503},
		{"incremental without parent", `{"backup": {"volume_id": "` + vol + `", "incremental": true}}`, "", 400},
		{"deep", `{"backup": ` + strings.Repeat(`{"a": `, 200) + `1` + strings.Repeat(`}`, 200) + `}`, "", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/backups", body: tc.body, version: tc.version})
			wantStatus(t, rec, tc.status)
			if _, ok := member(t, obj(t, rec), wireFaultName(tc.status)).(any); !ok {
				t.Errorf("no %s fault", wireFaultName(tc.status))
			}
		})
	}
	if st := e.volume(vol).Status; st != resource.StatusAvailable {
		t.Errorf("volume %s after refused creates", st)
	}
	// In use: only with force.
	if _, err := e.store.TransitionVolume(context.Background(), vol, []string{resource.StatusAvailable},
		resource.VolumeChange{Status: resource.StatusInUse}); err != nil {
		t.Fatal(err)
	}
	rec := e.do(call{method: "POST", path: "/v3/p1/backups", body: `{"backup": {"volume_id": "` + vol + `"}}`})
	wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid volume: Backing up an in-use volume must use the force flag.")
	e.createBackup(vol, `, "force": true`)
}

func wireFaultName(status int) string {
	switch status {
	case 400:
		return "badRequest"
	case 404:
		return "itemNotFound"
	case 503:
		return "serviceUnavailable"
	}
	return ""
}

func TestRestoreBackup(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RestoreVolumePoll = time.Millisecond; o.RestoreVolumeWait = 10 * time.Second })
	e.addBackupService(backupHostName, "nova")
	vol := e.placedVolume("")
	id := e.createBackup(vol, "")
	e.finishBackup(id)

	t.Run("to a volume", func(t *testing.T) {
		target := e.placedVolume("")
		before := len(e.disp.got())
		rec := e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/restore", body: `{"restore": {"volume_id": "` + target + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		if got := str(t, obj(t, rec), "restore", "volume_id"); got != target {
			t.Errorf("restore volume %s", got)
		}
		var args rpcapi.RestoreBackupArgs
		e.lastBackupMessage(before, rpcapi.RestoreBackup, &args)
		if args.VolumeID != target || args.VolumeIsNew {
			t.Errorf("restore args %+v", args)
		}
		if st := e.volume(target).Status; st != resource.StatusRestoringBackup {
			t.Errorf("volume %s", st)
		}
		// Busy now.
		rec = e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/restore", body: `{"restore": {"volume_id": "` + target + `"}}`})
		wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid backup: Backup status must be available")
		if err := e.store.FinishRestore(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("to a new volume", func(t *testing.T) {
		done := make(chan struct{})
		known := map[string]bool{}
		for _, v := range e.volumes() {
			known[v.ID] = true
		}
		go func() { // plays the scheduler and volume service
			defer close(done)
			for range 5000 {
				for _, v := range e.volumes() {
					if !known[v.ID] && v.Status == resource.StatusCreating {
						h := snapHost
						_, _ = e.store.TransitionVolume(context.Background(), v.ID, []string{resource.StatusCreating},
							resource.VolumeChange{Status: resource.StatusAvailable, Host: &h})
						return
					}
				}
				time.Sleep(time.Millisecond)
			}
		}()
		rec := e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/restore", body: `{"restore": {"name": "fresh"}}`})
		<-done
		wantStatus(t, rec, http.StatusAccepted)
		body := obj(t, rec)
		if got := str(t, body, "restore", "volume_name"); got != "fresh" {
			t.Errorf("volume_name %s", got)
		}
		nv := e.volume(str(t, body, "restore", "volume_id"))
		if nv.Status != resource.StatusRestoringBackup || nv.Size != 1 {
			t.Errorf("new volume %+v", nv)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, body := range []string{`{"restore": {"volume_id": "x"}}`, `{"restore": {"size": 1}}`, `{"restore": 3}`, `{}`} {
			rec := e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/restore", body: body})
			wantStatus(t, rec, http.StatusBadRequest)
		}
	})
}

func TestBackupAdminActionsAndRecords(t *testing.T) {
	bus := rpc.NewLocal(nil)
	t.Cleanup(func() { bus.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	want := rpcapi.BackupRecord{BackupService: "cinder.backup.drivers.posix.PosixBackupDriver", BackupURL: "eyJpZCI6IDF9"}
	go func() { // the backup service's export_record
		_ = bus.Serve(ctx, rpc.Target{Topic: rpc.TopicBackup, Server: backupHostName}, func(_ context.Context, m *rpc.Message) (any, error) {
			return want, nil
		})
	}()
	e := newEnv(t, func(o *Options) { o.BackupRecords = &RPCBackupRecords{Transport: bus, Timeout: 10 * time.Second} })
	e.addBackupService(backupHostName, "nova")
	vol := e.placedVolume("")
	id := e.createBackup(vol, "")

	rec := e.do(call{method: "GET", path: "/v3/p1/backups/" + id + "/export_record"})
	wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid backup: Backup status must be available and not creating.")
	e.finishBackup(id)
	rec = e.do(call{method: "GET", path: "/v3/p1/backups/" + id + "/export_record", header: memberRole})
	wantStatus(t, rec, http.StatusForbidden)
	rec = e.do(call{method: "GET", path: "/v3/p1/backups/" + id + "/export_record"})
	wantStatus(t, rec, http.StatusOK)
	if got := str(t, obj(t, rec), "backup-record", "backup_url"); got != want.BackupURL {
		t.Errorf("backup_url %s", got)
	}

	// Reset status and force delete.
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"os-reset_status": {"status": "nonsense"}}`, 400},
		{`{"os-reset_status": {}}`, 400},
		{`{"os-explode": {}}`, 400},
		{`{"os-reset_status": {"status": "ERROR"}}`, 202},
	} {
		rec := e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/action", body: tc.body})
		wantStatus(t, rec, tc.status)
	}
	if st := e.backup(id).Status; st != resource.BackupError {
		t.Errorf("status %s after reset", st)
	}
	rec = e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/action", body: `{"os-force_delete": {}}`, header: memberRole})
	wantStatus(t, rec, http.StatusForbidden)
	rec = e.do(call{method: "POST", path: "/v3/p1/backups/" + id + "/action", body: `{"os-force_delete": {}}`})
	wantStatus(t, rec, http.StatusAccepted)
	if st := e.backup(id).Status; st != resource.BackupDeleting {
		t.Errorf("status %s after force delete", st)
	}

	// Import.
	newID := "1b6c1c84-5f59-4e68-9a3c-3a6b2b0e0d41"
	url := base64.StdEncoding.EncodeToString([]byte(`{"id": "` + newID + `", "size": 2}`))
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"not base64", "%%%", 400},
		{"not json", base64.StdEncoding.EncodeToString([]byte("nope")), 400},
		{"no id", base64.StdEncoding.EncodeToString([]byte(`{"size": 1}`)), 400},
		{"no size", base64.StdEncoding.EncodeToString([]byte(`{"id": "` + newID + `"}`)), 400},
		{"ok", url, 201},
		{"again", url, 400},
	} {
		t.Run("import "+tc.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/backups/import_record",
				body: `{"backup-record": {"backup_service": "cinder.backup.drivers.posix.PosixBackupDriver", "backup_url": "` + tc.url + `"}}`})
			wantStatus(t, rec, tc.status)
		})
	}
	if b := e.backup(newID); b.Status != resource.BackupCreating || b.Size != 2 || b.VolumeID != resource.ImportVolumeID {
		t.Errorf("imported %+v", b)
	}
}

func TestVolumeFromBackup(t *testing.T) {
	e := newEnv(t)
	e.addBackupService(backupHostName, "nova")
	vol := e.placedVolume("")
	id := e.createBackup(vol, "")
	rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"backup_id": "` + id + `"}}`, version: "volume 3.47"})
	wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid backup: Originating backup status must be one of 'available' values")
	e.finishBackup(id)
	before := len(e.disp.got())
	rec = e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"backup_id": "` + id + `"}}`, version: "volume 3.47"})
	wantStatus(t, rec, http.StatusAccepted)
	msgs := e.disp.got()[before:]
	var args rpcapi.CreateVolumeArgs
	if len(msgs) != 1 || json.Unmarshal(msgs[0].Args, &args) != nil || args.BackupID != id || args.Size != 1 {
		t.Errorf("create_volume %+v", msgs)
	}
	rec = e.do(call{method: "POST", path: "/v3/p2/volumes", body: `{"volume": {"backup_id": "` + id + `", "size": 1}}`, version: "volume 3.47", token: "u2:p2", header: memberRole})
	wantStatus(t, rec, http.StatusNotFound)
}
