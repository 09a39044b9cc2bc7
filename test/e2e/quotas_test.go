package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// projectCLI runs the cinder CLI with noauth as a user of project (cinderCLI is always
// "demo").
type projectCLI struct {
	cinderCLI
	project string
}

func (c projectCLI) run(args ...string) (string, error) {
	full := []string{"--os-auth-type", "noauth", "--os-endpoint", c.endpoint, "--os-project-id", c.project, "--os-user-id", c.project}
	if c.version != "" {
		full = append(full, "--os-volume-api-version", c.version)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, append(full, args...)...)
	cmd.Env = []string{"HOME=" + c.home, "PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), &cliError{args: strings.Join(args, " "), out: string(out), err: err}
	}
	return string(out), nil
}

func (c projectCLI) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

type cliError struct {
	args, out string
	err       error
}

func (e *cliError) Error() string { return "cinder " + e.args + ": " + e.err.Error() + "\n" + e.out }

// newProjectCLI returns the CLI as project, skipping the test without the CLI.
func newProjectCLI(t *testing.T, c *cluster.Cluster, project, version string) projectCLI {
	t.Helper()
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	return projectCLI{cinderCLI: cinderCLI{t: t, path: path, endpoint: c.Endpoint(), version: version, home: t.TempDir()}, project: project}
}

// TestQuotasCinderCLI drives quotas, quota classes and limits with the real cinder CLI.
func TestQuotasCinderCLI(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{Name: "scoria_quota", CinderQuotas: true})
	cli := newProjectCLI(t, c, "demo", "3.39")

	def := parseProperties(cli.must("quota-defaults", "demo"))
	for k, want := range map[string]string{"volumes": "10", "snapshots": "10", "gigabytes": "1000", "backups": "10",
		"backup_gigabytes": "1000", "groups": "10", "per_volume_gigabytes": "-1", "volumes___DEFAULT__": "-1"} {
		if def[k] != want {
			t.Errorf("quota-defaults %s = %q, want %s; all: %v", k, def[k], want, def)
		}
	}

	vol, err := c.Client().CreateVolume(ctxT(t, 30*time.Second), blockstorage.CreateVolumeOpts{Size: 2})
	if err != nil {
		t.Fatal(err)
	}

	upd := parseProperties(cli.must("quota-update", "--volumes", "5", "--gigabytes", "50", "demo"))
	if upd["volumes"] != "5" || upd["gigabytes"] != "50" {
		t.Errorf("quota-update printed %v", upd)
	}
	cli.must("quota-update", "--volume-type", "__DEFAULT__", "--volumes", "3", "demo")
	shown := parseProperties(cli.must("quota-show", "demo"))
	if shown["volumes"] != "5" || shown["gigabytes"] != "50" || shown["volumes___DEFAULT__"] != "3" {
		t.Errorf("quota-show after update: %v", shown)
	}

	usage := map[string]map[string]string{}
	for _, row := range parseTable(cli.must("quota-usage", "demo")) {
		usage[row["Type"]] = row
	}
	for k, want := range map[string][3]string{"volumes": {"1", "0", "5"}, "gigabytes": {"2", "0", "50"}, "volumes___DEFAULT__": {"1", "0", "3"}} {
		row := usage[k]
		if got := [3]string{row["In_use"], row["Reserved"], row["Limit"]}; got != want {
			t.Errorf("quota-usage %s = %v, want %v", k, got, want)
		}
	}

	// A limit below usage, and a bad value, are refused with Cinder's words.
	if out, err := cli.run("quota-update", "--gigabytes", "1", "demo"); err == nil ||
		!strings.Contains(out, "Quota gigabytes limit must be equal or greater than existing resources. Current usage is 2 and the requested limit is 1.") {
		t.Errorf("quota-update below usage: %v %s", err, out)
	}
	// A member may not update quotas.
	resp, err := c.Client().Do(ctxT(t, 10*time.Second), "PUT", "/os-quota-sets/demo",
		[]byte(`{"quota_set": {"volumes": 100}}`), http.Header{"X-Roles": {"member"}})
	if err != nil || resp.Status != http.StatusForbidden {
		t.Errorf("member PUT: %v %+v", err, resp)
	}

	limits := map[string]string{}
	for _, row := range parseTable(cli.must("absolute-limits")) {
		limits[row["Name"]] = row["Value"]
	}
	for k, want := range map[string]string{"maxTotalVolumes": "5", "maxTotalVolumeGigabytes": "50", "totalVolumesUsed": "1",
		"totalGigabytesUsed": "2", "maxTotalSnapshots": "10", "totalSnapshotsUsed": "0"} {
		if limits[k] != want {
			t.Errorf("absolute-limits %s = %q, want %s; all %v", k, limits[k], want, limits)
		}
	}

	// Over quota: the CLI shows Cinder's 413.
	if out, err := cli.run("create", "60"); err == nil ||
		!strings.Contains(out, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 60G, quota is 50G and 2G has been consumed.") ||
		!strings.Contains(out, "HTTP 413") {
		t.Errorf("create over quota: %v %s", err, out)
	}

	cli.must("quota-delete", "demo")
	shown = parseProperties(cli.must("quota-show", "demo"))
	if shown["volumes"] != "10" || shown["gigabytes"] != "1000" || shown["volumes___DEFAULT__"] != "-1" {
		t.Errorf("quota-show after quota-delete: %v", shown)
	}

	cls := parseProperties(cli.must("quota-class-update", "--volumes", "20", "default"))
	if cls["volumes"] != "20" {
		t.Errorf("quota-class-update printed %v", cls)
	}
	cls = parseProperties(cli.must("quota-class-show", "default"))
	if cls["volumes"] != "20" || cls["gigabytes"] != "1000" {
		t.Errorf("quota-class-show: %v", cls)
	}
	if got := parseProperties(cli.must("quota-show", "other"))["volumes"]; got != "20" {
		t.Errorf("another project's volumes limit = %q, want the class's 20", got)
	}
	_ = vol
}

// TestQuotasConcurrentCreates: 100 creates at once through the API against a quota of 50:
// exactly 50 are accepted (202) and 50 refused with 413, and the usage is 50.
func TestQuotasConcurrentCreates(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{Name: "scoria_quota_race"})
	cl := c.Client()
	if _, err := cl.Do(ctxT(t, 10*time.Second), "PUT", "/os-quota-sets/"+c.Project,
		[]byte(`{"quota_set": {"volumes": 50}}`), nil); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
		msgs   = map[string]int{}
	)
	for range 100 {
		wg.Go(func() {
			resp, err := cl.Do(ctxT(t, 60*time.Second), "POST", "/volumes", []byte(`{"volume": {"size": 1}}`), nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			counts[resp.Status]++
			if resp.Status != http.StatusAccepted {
				_, _, msg, _ := blockstorage.ParseFault(resp.Body)
				msgs[msg]++
			}
		})
	}
	wg.Wait()
	if counts[http.StatusAccepted] != 50 || counts[http.StatusRequestEntityTooLarge] != 50 {
		t.Errorf("answers %v, want 50 × 202 and 50 × 413; refusals %v", counts, msgs)
	}
	if want := "Maximum number of volumes allowed (50) exceeded for quota 'volumes'."; msgs[want] != 50 {
		t.Errorf("refusals %v, want 50 × %q", msgs, want)
	}
	resp, err := cl.Do(ctxT(t, 10*time.Second), "GET", "/os-quota-sets/"+c.Project+"?usage=true", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var qs struct {
		QuotaSet map[string]json.RawMessage `json:"quota_set"`
	}
	if err := json.Unmarshal(resp.Body, &qs); err != nil {
		t.Fatal(err)
	}
	var vols struct {
		InUse int `json:"in_use"`
	}
	if err := json.Unmarshal(qs.QuotaSet[resource.QuotaVolumes], &vols); err != nil {
		t.Fatal(err)
	}
	listed, err := cl.ListVolumes(ctxT(t, 10*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if vols.InUse != 50 || len(listed) != 50 {
		t.Errorf("volumes in use %d, listed %d; want 50 and 50", vols.InUse, len(listed))
	}
}

// TestTransfersCinderCLI gives a volume from demo to another project with the real cinder
// CLI: transfer-create, transfer-list, transfer-show, transfer-delete, and transfer-accept
// as the other project, which then owns the volume and its quota.
func TestTransfersCinderCLI(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{Name: "scoria_transfer"})
	giver := newProjectCLI(t, c, "demo", "")
	taker := newProjectCLI(t, c, "taker", "")

	vol, err := c.Client().CreateVolume(ctxT(t, 30*time.Second), blockstorage.CreateVolumeOpts{Name: "gift", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.WaitVolumeStatus(vol.ID, 60*time.Second, "available"); err != nil {
		t.Fatalf("volume %s: %v", st, err)
	}

	// An offer withdrawn gives the volume back.
	first := parseProperties(giver.must("transfer-create", "--name", "first", vol.ID))
	giver.must("transfer-delete", first["id"])
	if st, err := c.WaitVolumeStatus(vol.ID, 10*time.Second, "available"); err != nil {
		t.Fatalf("after transfer-delete the volume is %s: %v", st, err)
	}

	created := parseProperties(giver.must("transfer-create", "--name", "second", vol.ID))
	id, key := created["id"], created["auth_key"]
	if !uuidRE.MatchString(id) || len(key) != 16 || created["volume_id"] != vol.ID {
		t.Fatalf("transfer-create printed %v", created)
	}
	var listed bool
	for _, row := range parseTable(giver.must("transfer-list")) {
		listed = listed || row["ID"] == id
	}
	if !listed {
		t.Errorf("transfer-list does not show %s", id)
	}
	shown := parseProperties(giver.must("transfer-show", id))
	if shown["name"] != "second" || shown["auth_key"] != "" {
		t.Errorf("transfer-show printed %v", shown)
	}

	if out, err := taker.run("transfer-accept", id, "wrongwrongwrong0"); err == nil || !strings.Contains(out, "Invalid auth key") {
		t.Errorf("accept with a wrong key: %v %s", err, out)
	}
	accepted := parseProperties(taker.must("transfer-accept", id, key))
	if accepted["volume_id"] != vol.ID {
		t.Errorf("transfer-accept printed %v", accepted)
	}
	moved, err := blockstorage.New(c.Endpoint(), "taker").GetVolume(ctxT(t, 10*time.Second), vol.ID)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Status != "available" {
		t.Errorf("moved volume is %s", moved.Status)
	}
	if moved.UserID != "taker" {
		t.Errorf("moved volume's user %s, want taker", moved.UserID)
	}
	// A member of the giver's project no longer sees it (noauth callers are admins otherwise).
	resp, err := c.Client().Do(ctxT(t, 10*time.Second), "GET", "/volumes/"+vol.ID, nil, http.Header{"X-Roles": {"member"}})
	if err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("the giver's member still sees the volume: %v %+v", err, resp)
	}
	for project, want := range map[string]string{"demo": "0", "taker": "1"} {
		cli := newProjectCLI(t, c, project, "")
		for _, row := range parseTable(cli.must("quota-usage", project)) {
			if row["Type"] == "volumes" && row["In_use"] != want {
				t.Errorf("%s volumes in use %s, want %s", project, row["In_use"], want)
			}
		}
	}
}
