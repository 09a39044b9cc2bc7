package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// written is what the database and the API hold; a rejected request must change none of it.
type written struct {
	volumeRows int      // every row of volumes, soft-deleted ones too
	outboxRows int      // rows of the outbox: a rejected request must send nothing
	listed     []string // ids the API lists
}

func snapshotWritten(t *testing.T, c *cluster.Cluster) written {
	t.Helper()
	ctx := ctxT(t, 30*time.Second)
	var w written
	if err := c.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM volumes").Scan(&w.volumeRows); err != nil {
		t.Fatalf("count volumes rows: %v", err)
	}
	if err := c.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&w.outboxRows); err != nil {
		t.Fatalf("count outbox rows: %v", err)
	}
	vols, err := c.Client().ListVolumes(ctx, nil)
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	for _, v := range vols {
		w.listed = append(w.listed, v.ID+" "+v.Status)
	}
	slices.Sort(w.listed)
	return w
}

// checkFault checks that resp is Cinder's fault: JSON {"<name>": {"code": status, "message": …}}.
func checkFault(t *testing.T, what string, resp *blockstorage.Response, status int, name string) {
	t.Helper()
	if resp.Status != status {
		t.Errorf("%s: status %d, want %d; body %.300s", what, resp.Status, status, resp.Body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	gotName, code, msg, ok := blockstorage.ParseFault(resp.Body)
	switch {
	case !ok:
		t.Errorf("%s: body is not a Cinder fault: %.300s", what, resp.Body)
	case gotName != name || code != status || msg == "":
		t.Errorf("%s: fault %q code %d message %q, want %q code %d and a message", what, gotName, code, msg, name, status)
	}
}

// TestBadInput sends what Cinder refuses through the HTTP API and checks each answer is
// Cinder's fault and that nothing was written.
func TestBadInput(t *testing.T) {
	c := startCluster(t, cluster.Options{})
	cl := c.Client()

	// One volume that exists, so that "nothing written" compares against something.
	keep, err := cl.CreateVolume(ctxT(t, 30*time.Second), blockstorage.CreateVolumeOpts{Name: "keep", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitVolumeStatus(keep.ID, 60*time.Second, "available"); err != nil {
		t.Fatal(err)
	}
	before := snapshotWritten(t, c)

	badVersion := http.Header{"OpenStack-API-Version": {"volume 3.999"}}
	unknown := "/volumes/8d3e5a14-1b52-4a55-9c6e-0e1f3f0b6a11"
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		fault                    string
	}{
		{"malformed JSON", "POST", "/volumes", `{"volume": {"size": 1`, nil, 400, "badRequest"},
		{"volume is a string", "POST", "/volumes", `{"volume": "x"}`, nil, 400, "badRequest"},
		{"no volume element", "POST", "/volumes", `{"size": 1}`, nil, 400, "badRequest"},
		{"empty body", "POST", "/volumes", ``, nil, 400, "badRequest"},
		{"size 0", "POST", "/volumes", `{"volume": {"size": 0}}`, nil, 400, "badRequest"},
		{"size -1", "POST", "/volumes", `{"volume": {"size": -1}}`, nil, 400, "badRequest"},
		{"size 1.5", "POST", "/volumes", `{"volume": {"size": 1.5}}`, nil, 400, "badRequest"},
		{"size abc", "POST", "/volumes", `{"volume": {"size": "abc"}}`, nil, 400, "badRequest"},
		{"size 10^12", "POST", "/volumes", `{"volume": {"size": 1000000000000}}`, nil, 400, "badRequest"},
		{"create at microversion 3.999", "POST", "/volumes", `{"volume": {"size": 1}}`, badVersion, 406, "computeFault"},
		{"list at microversion 3.999", "GET", "/volumes", ``, badVersion, 406, "computeFault"},
		{"show unknown volume", "GET", unknown, ``, nil, 404, "itemNotFound"},
		{"delete unknown volume", "DELETE", unknown, ``, nil, 404, "itemNotFound"},
		{"update unknown volume", "PUT", unknown, `{"volume": {"name": "x"}}`, nil, 404, "itemNotFound"},
		{"rename to a non-string", "PUT", "/volumes/" + keep.ID, `{"volume": {"name": {"a": 1}}}`, nil, 400, "badRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" || tc.method == "POST" {
				body = []byte(tc.body)
			}
			resp, err := cl.Do(ctxT(t, 30*time.Second), tc.method, tc.path, body, tc.header)
			if err != nil {
				t.Fatal(err)
			}
			checkFault(t, tc.method+" "+tc.path+" "+tc.body, resp, tc.status, tc.fault)
		})
	}

	// Let anything a bad request might have sent reach the services before comparing.
	time.Sleep(500 * time.Millisecond)
	after := snapshotWritten(t, c)
	if before.volumeRows != after.volumeRows || before.outboxRows != after.outboxRows || !slices.Equal(before.listed, after.listed) {
		t.Errorf("bad requests wrote something:\nbefore %+v\nafter  %+v", before, after)
	}
	if got, err := cl.GetVolume(ctxT(t, 10*time.Second), keep.ID); err != nil || got.Name != "keep" || got.Status != "available" {
		t.Errorf("the existing volume changed: %+v %v", got, err)
	}

	t.Run("delete while creating", func(t *testing.T) {
		// With the scheduler stopped the volume stays in creating.
		if err := c.Stop(cluster.Scheduler); err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t, 2*time.Minute)
		v, err := cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: "busy", Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Do(ctx, "DELETE", "/volumes/"+v.ID, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkFault(t, "DELETE of a volume in creating", resp, 400, "badRequest")
		if got, err := cl.GetVolume(ctx, v.ID); err != nil || got.Status != "creating" {
			t.Errorf("after the refused delete: %+v %v, want the volume still creating", got, err)
		}
		if err := c.Restart(cluster.Scheduler); err != nil {
			t.Fatal(err)
		}
		if status, err := c.WaitVolumeStatus(v.ID, 60*time.Second, "available"); err != nil {
			t.Fatalf("the create accepted while the scheduler was down did not complete: %v (last status %q)", err, status)
		}
		deleteAndWaitGone(t, c, []string{v.ID, keep.ID}, 60*time.Second)
		checkNoVolumeFiles(t, c)
	})
}
