package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// transitional are the statuses that must never survive a restart.
var transitional = []string{"creating", "deleting", "extending", "reverting", "attaching", "detaching",
	"reserved", "retyping", "maintenance", "restoring", "downloading", "uploading", "backing-up"}

// crashProjects are the projects of the crash tests, each within Cinder's default quota.
var crashProjects = []string{"crash-a", "crash-b", "crash-c", "crash-d", "crash-e"}

// TestAllInOneKillDuringCreates is issue 12 item 3 on the all-in-one binary (SQLite, the
// in-process bus, local files): three projects create and delete volumes at once, the
// process is killed -9 in the middle, and started again. Every accepted request must reach
// its end: no volume left in a transitional status (none creating without a host), each
// project's quota usage equal to its rows, and the backend directory holding exactly the
// files of the available volumes.
func TestAllInOneKillDuringCreates(t *testing.T) {
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

	// Before the crash: 4 volumes per project, available.
	first := map[string][]string{}
	for _, p := range crashProjects {
		for _, v := range createVolumes(t, a.Client(p), 4, p+"-v-old", func(int) int { return 1 }) {
			first[p] = append(first[p], v.ID)
		}
	}
	for p, vols := range first {
		for _, id := range vols {
			waitVolumeStatusOf(t, a.Client(p), id, 60*time.Second, "available")
		}
	}

	// The crashes: per project 6 creates and the deletes of the volumes it has, all at once;
	// the kill comes once a few creates were accepted, with the rest still in flight. The
	// second round starts right after the restart, while the first one is being recovered.
	for round := range 2 {
		crashRound(t, ctx, a, round, first)
		vols, err := a.Client("admin").ListVolumes(ctx, map[string][]string{"all_tenants": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		first = map[string][]string{}
		for _, v := range vols {
			p, _, _ := strings.Cut(v.Name, "-v")
			first[p] = append(first[p], v.ID)
		}
	}

	admin := a.Client("admin")
	vols := waitSettled(t, ctx, admin, a.Proc.Exited, 90*time.Second)
	t.Logf("after the restart: %s", statusCounts(vols))
	for _, p := range crashProjects {
		checkUsageMatchesRows(t, ctx, a.Client(p), vols)
	}
	files, err := a.VolumeFiles()
	if err != nil {
		t.Fatal(err)
	}
	checkBackendMatchesRows(t, files, vols)
}

// waitVolumeStatusOf polls volume id of cl until it has one of want.
func waitVolumeStatusOf(t *testing.T, cl *blockstorage.Client, id string, timeout time.Duration, want ...string) {
	t.Helper()
	ctx := ctxT(t, timeout+5*time.Second)
	err := cluster.Poll(ctx, timeout, 100*time.Millisecond, func() (bool, string, error) {
		v, err := cl.GetVolume(ctx, id)
		if err != nil {
			return false, err.Error(), nil
		}
		return slices.Contains(want, v.Status), v.Status, nil
	})
	if err != nil {
		t.Fatalf("volume %s: %v", id, err)
	}
}

// waitSettled waits until no volume of any project is in a transitional status and returns
// them all, as admin lists them; alive says why the deployment is dead, if it is.
func waitSettled(t *testing.T, ctx context.Context, admin *blockstorage.Client, alive func() error, timeout time.Duration) []blockstorage.Volume {
	t.Helper()
	var vols []blockstorage.Volume
	err := cluster.Poll(ctx, timeout, 250*time.Millisecond, func() (bool, string, error) {
		if err := alive(); err != nil {
			return false, "", err
		}
		var err error
		vols, err = admin.ListVolumes(ctx, map[string][]string{"all_tenants": {"1"}})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, v := range vols {
			if slices.Contains(transitional, v.Status) {
				return false, statusCounts(vols), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		for _, v := range vols {
			if slices.Contains(transitional, v.Status) {
				t.Logf("left %s: %s host %q created %s", v.Status, v.ID, v.Host, v.CreatedAt)
			}
		}
		t.Fatalf("a transitional status survived the restart: %v", err)
	}
	return vols
}

// checkUsageMatchesRows checks the quota usage (volumes, gigabytes) of cl's project against
// its volumes among vols (those whose name starts with "<project>-v").
func checkUsageMatchesRows(t *testing.T, ctx context.Context, cl *blockstorage.Client, vols []blockstorage.Volume) {
	t.Helper()
	p := cl.Project
	n, gb := 0, 0
	for _, v := range vols {
		if strings.HasPrefix(v.Name, p+"-v") {
			n++
			gb += v.Size
		}
	}
	resp, err := cl.Do(ctx, "GET", "/os-quota-sets/"+p+"?usage=true", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var qs struct {
		QuotaSet map[string]json.RawMessage `json:"quota_set"`
	}
	if err := json.Unmarshal(resp.Body, &qs); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"volumes": n, "gigabytes": gb} {
		var u struct {
			InUse    int `json:"in_use"`
			Reserved int `json:"reserved"`
		}
		if err := json.Unmarshal(qs.QuotaSet[key], &u); err != nil {
			t.Fatalf("%s quota %s: %v", p, key, err)
		}
		if u.InUse != want || u.Reserved != 0 {
			t.Errorf("project %s: quota %s in use %d (reserved %d), its volumes hold %d", p, key, u.InUse, u.Reserved, want)
		}
	}
}

// checkBackendMatchesRows checks that files, the names in the backend directories, are
// exactly one file per available volume.
func checkBackendMatchesRows(t *testing.T, files []string, vols []blockstorage.Volume) {
	t.Helper()
	want := map[string]bool{}
	for _, v := range vols {
		if v.Status == "available" {
			want["volume-"+v.ID] = true
		}
	}
	for _, f := range files {
		if !want[f] {
			t.Errorf("backend file %s belongs to no available volume (orphaned storage, or a partial file)", f)
		}
		delete(want, f)
	}
	for f := range want {
		t.Errorf("available volume has no backend file %s", f)
	}
}

// crashRound sends per project 6 creates and the deletes of its volumes in vols at once,
// kills the all-in-one -9 once 18 creates were accepted (the write queue of SQLite is then
// deep: accepted creates wait in the bus for their placement), and starts it again.
func crashRound(t *testing.T, ctx context.Context, a *cluster.AllInOne, round int, vols map[string][]string) {
	t.Helper()
	var mu sync.Mutex
	accepted := 0
	kill := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range crashProjects {
		cl := a.Client(p)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: fmt.Sprintf("%s-v%d-%d", p, round, i), Size: 1 + i%2})
				if err == nil {
					mu.Lock()
					if accepted++; accepted == 18 {
						close(kill)
					}
					mu.Unlock()
				}
			}()
		}
		for _, id := range vols[p] {
			wg.Add(1)
			go func() { defer wg.Done(); _ = cl.DeleteVolume(ctx, id) }()
		}
	}
	select {
	case <-kill:
	case <-time.After(30 * time.Second):
		t.Fatal("18 creates were not accepted within 30s")
	}
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	t.Logf("round %d: %d creates accepted before the kill", round, accepted)
	if err := a.Restart(ctx); err != nil {
		t.Fatalf("restart after the kill: %v", err)
	}
}
