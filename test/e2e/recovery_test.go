package e2e

import (
	"testing"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// TestVolumeServiceCrash kills -9 one of two volume services while 20 creates are in flight,
// restarts it, and checks that every volume settles (available or error, never stuck in
// creating), that the backend directories hold no stray or partial file, and that deletes
// clean up everything.
func TestVolumeServiceCrash(t *testing.T) {
	c := startCluster(t, cluster.Options{VolumeHosts: []string{"node1", "node2"}})
	cl := c.Client()
	ctx := ctxT(t, 3*time.Minute)

	vols := createVolumes(t, cl, 20, "crash", func(int) int { return 1 })
	if err := c.Kill(cluster.VolumeProcess("node1")); err != nil {
		t.Fatal(err)
	}
	if listed, err := cl.ListVolumes(ctx, nil); err == nil {
		t.Logf("at the kill: %s", statusCounts(listed))
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.Restart(cluster.VolumeProcess("node1")); err != nil {
		t.Fatal(err)
	}

	var listed []blockstorage.Volume
	err := cluster.Poll(ctx, 120*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		if err := c.CheckProcesses(); err != nil {
			return false, "", err
		}
		var err error
		listed, err = cl.ListVolumes(ctx, nil)
		if err != nil {
			return false, err.Error(), nil
		}
		settled := 0
		for _, v := range listed {
			if v.Status == "available" || v.Status == "error" {
				settled++
			}
		}
		return settled == len(vols) && len(listed) == len(vols), statusCounts(listed), nil
	})
	if err != nil {
		t.Fatalf("volumes did not settle after the crash: %v", err)
	}
	t.Logf("settled: %s", statusCounts(listed))
	perHost := map[string]int{}
	for _, v := range listed {
		perHost[v.Host]++
		// Neither backend was ever seen down: every volume must have been placed. An unplaced
		// volume in error means the scheduler failed it, which is no crash recovery.
		if v.Host == "" {
			t.Errorf("volume %s is %s without a host: it was never placed", v.ID, v.Status)
		}
	}
	t.Logf("placement: %v", perHost)
	checkFilesMatch(t, c, listed, func(v blockstorage.Volume) bool { return v.Status == "available" })

	deleteAndWaitGone(t, c, ids(vols), 90*time.Second)
	checkNoVolumeFiles(t, c)
}

// TestSchedulerDownRequestsKept kills -9 the scheduler, creates 5 volumes (the API accepts
// them), restarts the scheduler and checks that all 5 become available: no request was lost.
func TestSchedulerDownRequestsKept(t *testing.T) {
	c := startCluster(t, cluster.Options{})
	cl := c.Client()
	ctx := ctxT(t, 3*time.Minute)
	if err := c.Kill(cluster.Scheduler); err != nil {
		t.Fatal(err)
	}
	vols := createVolumes(t, cl, 5, "sched-down", func(int) int { return 1 })
	time.Sleep(time.Second)
	for _, v := range vols {
		got, err := cl.GetVolume(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "creating" || got.Host != "" {
			t.Errorf("volume %s with no scheduler running: status %s host %q, want creating and no host", v.ID, got.Status, got.Host)
		}
	}
	if err := c.Restart(cluster.Scheduler); err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		if status, err := c.WaitVolumeStatus(v.ID, 60*time.Second, "available"); err != nil {
			t.Fatalf("a create accepted while the scheduler was down did not complete after it came back: %v (last status %q)", err, status)
		}
	}
	listed, err := cl.ListVolumes(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFilesMatch(t, c, listed, func(blockstorage.Volume) bool { return true })
	deleteAndWaitGone(t, c, ids(vols), 60*time.Second)
	checkNoVolumeFiles(t, c)
}
