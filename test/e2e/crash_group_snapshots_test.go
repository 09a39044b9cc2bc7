package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// TestAllInOneKillDuringGroupSnapshots kills -9 the all-in-one (SQLite, in-process bus,
// local files) while group snapshots of a group of four volumes are being created, and
// again while they are being deleted. After each restart no group snapshot and no snapshot
// may stay in creating or deleting, the snapshot quota must equal the snapshot rows, and
// the backend directory must hold a file for each snapshot row and no other snapshot file.
func TestAllInOneKillDuringGroupSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of the all-in-one binary (skipped with -short)")
	}
	bin := buildBinaries(t)
	ctx := ctxT(t, 4*time.Minute)
	a, err := cluster.StartAllInOne(ctx, bin, t.TempDir(), t.Logf)
	if err != nil {
		t.Fatalf("start the all-in-one: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("all-in-one log:\n%s", a.LogTail(60))
		}
		a.Close()
	})
	const project = "crash-gs"
	cl := a.Client(project)
	cl.Microversion = "3.29"
	// Six group snapshots of four volumes are 24 snapshots: beyond Cinder's default 10.
	if resp, err := cl.Do(ctx, http.MethodPut, "/os-quota-sets/"+project, []byte(`{"quota_set": {"snapshots": -1}}`), nil); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("lift the snapshot quota: %v %+v", err, resp)
	}
	var vols []string
	for _, v := range createVolumes(t, cl, 4, project+"-v", func(int) int { return 1 }) {
		vols = append(vols, v.ID)
	}
	for _, id := range vols {
		waitVolumeStatusOf(t, cl, id, 60*time.Second, "available")
	}
	v0, err := cl.GetVolume(ctx, vols[0])
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", filepath.Join(a.Dir, "scoria.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	typeID, group := uuid.NewString(), uuid.NewString()
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO group_types (id, name, is_public, created_at, deleted) VALUES (?, 'crash', 1, ?, 0)", []any{typeID, now}},
		{"INSERT INTO `groups` (id, project_id, user_id, name, availability_zone, host, group_type_id, status, created_at, deleted) VALUES (?, ?, ?, 'crash', 'nova', ?, ?, 'available', ?, 0)",
			[]any{group, project, project, v0.Host, typeID, now}},
		{"UPDATE volumes SET group_id = ? WHERE id IN (?, ?, ?, ?)", []any{group, vols[0], vols[1], vols[2], vols[3]}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}

	// Creates: six group snapshots asked for at once, the kill once two were accepted.
	accepted := make(chan string, 6)
	for i := range 6 {
		go func() {
			resp, err := cl.Do(ctx, http.MethodPost, "/group_snapshots", []byte(fmt.Sprintf(`{"group_snapshot": {"group_id": %q, "name": "gs-%d"}}`, group, i)), nil)
			if err != nil || resp.Status != http.StatusAccepted {
				accepted <- ""
				return
			}
			var out struct {
				GroupSnapshot struct{ ID string } `json:"group_snapshot"`
			}
			_ = json.Unmarshal(resp.Body, &out)
			accepted <- out.GroupSnapshot.ID
		}()
	}
	for n := 0; n < 2; {
		if <-accepted != "" {
			n++
		}
	}
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	gss := waitGroupSnapshotsSettled(t, a, cl, db)
	t.Logf("after the first restart: %d group snapshots", len(gss))
	if len(gss) < 2 {
		t.Fatalf("%d group snapshots after the restart; two were accepted before the kill", len(gss))
	}

	// Deletes: all of them at once, the kill once one was accepted.
	done := make(chan bool, len(gss))
	for _, id := range gss {
		go func() {
			resp, err := cl.Do(ctx, http.MethodDelete, "/group_snapshots/"+id, nil, nil)
			done <- err == nil && resp.Status == http.StatusAccepted
		}()
	}
	for !<-done {
	}
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	left := waitGroupSnapshotsSettled(t, a, cl, db)
	t.Logf("after the second restart: %d group snapshots left", len(left))
	for _, id := range left { // those whose delete the kill cut off: deleted now
		resp, err := cl.Do(ctx, http.MethodDelete, "/group_snapshots/"+id, nil, nil)
		if err != nil || resp.Status != http.StatusAccepted {
			t.Fatalf("delete %s after the restart: %v %+v", id, err, resp)
		}
	}
	if left := waitGroupSnapshotsSettled(t, a, cl, db); len(left) != 0 {
		t.Fatalf("group snapshots left after their deletes: %v", left)
	}
}

// waitGroupSnapshotsSettled waits until no group snapshot and no snapshot is in creating or
// deleting, then checks the quota and the backend against the rows and returns the ids of
// the group snapshots.
func waitGroupSnapshotsSettled(t *testing.T, a *cluster.AllInOne, cl *blockstorage.Client, db *sql.DB) []string {
	t.Helper()
	ctx := ctxT(t, 2*time.Minute)
	var ids []string
	err := cluster.Poll(ctx, 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		if err := a.Proc.Exited(); err != nil {
			return false, "", err
		}
		resp, err := cl.Do(ctx, http.MethodGet, "/group_snapshots/detail", nil, nil)
		if err != nil || resp.Status != http.StatusOK {
			return false, fmt.Sprintf("list: %v %+v", err, resp), nil
		}
		var out struct {
			GroupSnapshots []struct{ ID, Status string } `json:"group_snapshots"`
		}
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return false, "", err
		}
		ids = ids[:0]
		for _, gs := range out.GroupSnapshots {
			if gs.Status == "creating" || gs.Status == "deleting" {
				return false, "group snapshot " + gs.ID + " " + gs.Status, nil
			}
			ids = append(ids, gs.ID)
		}
		var busy int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM snapshots WHERE deleted = 0 AND status IN ('creating', 'deleting')").Scan(&busy); err != nil {
			return false, "", err
		}
		return busy == 0, fmt.Sprintf("%d snapshots creating or deleting", busy), nil
	})
	if err != nil {
		t.Fatalf("group snapshots never settled: %v", err)
	}
	// Every snapshot row has its file, and there is no other snapshot file; the quota
	// counts the rows.
	rows, err := db.QueryContext(ctx, "SELECT id FROM snapshots WHERE deleted = 0 AND status = 'available'")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, "snapshot-"+id)
	}
	rows.Close()
	var inUse, rowsN int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(in_use), 0) FROM quota_usages WHERE project_id = ? AND resource = 'snapshots'", cl.Project).Scan(&inUse); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM snapshots WHERE deleted = 0 AND project_id = ?", cl.Project).Scan(&rowsN); err != nil {
		t.Fatal(err)
	}
	if inUse != rowsN {
		t.Errorf("snapshot quota in use %d, but %d snapshot rows", inUse, rowsN)
	}
	files, err := a.VolumeFiles()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		if strings.HasPrefix(f, "snapshot-") {
			got = append(got, f)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("snapshot files %v, want those of the available snapshot rows %v", got, want)
	}
	return slices.Clone(ids)
}
