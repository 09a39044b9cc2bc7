package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/test/cluster"
)

// TestStorageReconcile checks the reconciler on the split services (MariaDB, RabbitMQ): after
// a kill -9 of the volume service while creates are in flight and its restart, `scoria-manage
// volume reconcile` finds the backend exactly as the database says; a leaked file and a lost
// one are then reported by the running service (storage_reconcile_interval = 1) in its log
// and in get_pools, and it deletes nothing; the leaked file is removed by `volume reconcile
// --delete-orphans`.
func TestStorageReconcile(t *testing.T) {
	c := startCluster(t, cluster.Options{Extra: map[string]string{"storage_reconcile_interval": "1"}})
	cl := c.Client()
	ctx := ctxT(t, 3*time.Minute)
	node := cluster.VolumeProcess("node1")

	vols := createVolumes(t, cl, 8, "reconcile", func(int) int { return 1 })
	if err := c.Kill(node); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Restart(node); err != nil {
		t.Fatal(err)
	}
	err := cluster.Poll(ctx, 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		listed, err := cl.ListVolumes(ctx, nil)
		if err != nil {
			return false, err.Error(), nil
		}
		settled := 0
		for _, v := range listed {
			if v.Status == "available" || v.Status == "error" {
				settled++
			}
		}
		return settled == len(vols), statusCounts(listed), nil
	})
	if err != nil {
		t.Fatalf("volumes did not settle after the crash: %v", err)
	}

	manage := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(buildBinaries(t), cluster.BinManage),
			append([]string{"--config-file", c.Process(node).Config, "volume", "reconcile"}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String()
	}
	if code, out := manage(); code != 0 || !strings.Contains(out, "0 orphans (0 deleted), 0 missing") {
		t.Fatalf("after the crash: exit %d, want 0 with nothing found:\n%s", code, out)
	}

	var lost string
	for _, v := range vols {
		if got, err := cl.GetVolume(ctx, v.ID); err == nil && got.Status == "available" {
			lost = v.ID
			break
		}
	}
	if lost == "" {
		t.Fatal("no volume became available")
	}
	if err := os.Remove(filepath.Join(c.VolumeDir("node1"), "volume-"+lost)); err != nil {
		t.Fatal(err)
	}
	leaked := filepath.Join(c.VolumeDir("node1"), "volume-"+uuid.NewString())
	if err := os.WriteFile(leaked, []byte("leaked"), 0o640); err != nil {
		t.Fatal(err)
	}
	err = cluster.Poll(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		log := c.LogTail(node, 400)
		orphan, missing := false, false
		for _, l := range strings.Split(log, "\n") {
			orphan = orphan || strings.Contains(l, "storage orphan") && strings.Contains(l, filepath.Base(leaked)) && strings.Contains(l, "request_id=req-")
			missing = missing || strings.Contains(l, "storage missing") && strings.Contains(l, lost) && strings.Contains(l, "request_id=req-")
		}
		return orphan && missing, "orphan logged " + map[bool]string{true: "yes", false: "no"}[orphan] + ", missing logged " + map[bool]string{true: "yes", false: "no"}[missing], nil
	})
	if err != nil {
		t.Fatalf("the volume service did not report the leak and the loss: %v", err)
	}
	if _, err := os.Stat(leaked); err != nil {
		t.Fatalf("the volume service deleted an orphan on its own: %v", err)
	}
	// An admin sees the counts among the pool's capabilities.
	err = cluster.Poll(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		resp, err := cl.Do(ctx, "GET", "/scheduler-stats/get_pools?detail=true", nil, nil)
		if err != nil {
			return false, err.Error(), nil
		}
		var body struct {
			Pools []struct {
				Capabilities map[string]any `json:"capabilities"`
			} `json:"pools"`
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil || len(body.Pools) != 1 {
			return false, string(resp.Body), nil
		}
		caps := body.Pools[0].Capabilities
		return caps["storage_orphans"] == float64(1) && caps["storage_missing"] == float64(1),
			fmt.Sprintf("storage_orphans %v, storage_missing %v", caps["storage_orphans"], caps["storage_missing"]), nil
	})
	if err != nil {
		t.Fatalf("get_pools does not show the findings: %v", err)
	}

	code, out := manage("--delete-orphans", "--grace", "0")
	if code != 3 || !strings.Contains(out, "1 orphans (1 deleted), 1 missing") {
		t.Fatalf("volume reconcile --delete-orphans: exit %d, want 3 (the lost file stays a finding):\n%s", code, out)
	}
	if _, err := os.Stat(leaked); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the orphan is still there: %v", err)
	}
	deleteAndWaitGone(t, c, ids(vols), 90*time.Second)
	checkNoVolumeFiles(t, c)
}
