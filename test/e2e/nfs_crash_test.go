package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/nfsjudge"
	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// nfsSnapshot is a row of GET /snapshots/detail.
type nfsSnapshot struct {
	ID       string `json:"id"`
	VolumeID string `json:"volume_id"`
	Status   string `json:"status"`
	Size     int    `json:"size"`
	Name     string `json:"name"`
}

// nfsDo sends body (JSON, may be nil) and decodes a want answer into out (may be nil).
func nfsDo(ctx context.Context, cl *blockstorage.Client, method, path string, body any, want int, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	resp, err := cl.Do(ctx, method, path, b, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.Status != want {
		return fmt.Errorf("%s %s: %d: %.300s", method, path, resp.Status, resp.Body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("%s %s: %w: %.300s", method, path, err, resp.Body)
		}
	}
	return nil
}

// nfsCreateVolume sends POST /volumes of the nfs type and returns the accepted volume's id.
func nfsCreateVolume(ctx context.Context, cl *blockstorage.Client, name string, size int) (string, error) {
	var out struct {
		Volume struct {
			ID string `json:"id"`
		} `json:"volume"`
	}
	err := nfsDo(ctx, cl, http.MethodPost, "/volumes", map[string]any{"volume": map[string]any{
		"name": name, "size": size, "volume_type": nfsBackendName}}, http.StatusAccepted, &out)
	return out.Volume.ID, err
}

// nfsCreateSnapshot sends POST /snapshots and returns the accepted snapshot's id.
func nfsCreateSnapshot(ctx context.Context, cl *blockstorage.Client, volumeID, name string) (string, error) {
	var out struct {
		Snapshot struct {
			ID string `json:"id"`
		} `json:"snapshot"`
	}
	err := nfsDo(ctx, cl, http.MethodPost, "/snapshots", map[string]any{"snapshot": map[string]any{
		"volume_id": volumeID, "name": name}}, http.StatusAccepted, &out)
	return out.Snapshot.ID, err
}

// nfsSnapshots lists the snapshots of cl's project.
func nfsSnapshots(ctx context.Context, cl *blockstorage.Client) ([]nfsSnapshot, error) {
	var out struct {
		Snapshots []nfsSnapshot `json:"snapshots"`
	}
	err := nfsDo(ctx, cl, http.MethodGet, "/snapshots/detail", nil, http.StatusOK, &out)
	return out.Snapshots, err
}

// waitSnapshotsSettled polls until no snapshot of cl's project is creating or deleting.
func waitSnapshotsSettled(t *testing.T, ctx context.Context, c *cluster.Cluster, cl *blockstorage.Client, timeout time.Duration) []nfsSnapshot {
	t.Helper()
	var snaps []nfsSnapshot
	err := cluster.Poll(ctx, timeout, 250*time.Millisecond, func() (bool, string, error) {
		if err := c.CheckProcesses(); err != nil {
			return false, "", err
		}
		var err error
		if snaps, err = nfsSnapshots(ctx, cl); err != nil {
			return false, err.Error(), nil
		}
		var busy []string
		for _, s := range snaps {
			if s.Status == "creating" || s.Status == "deleting" {
				busy = append(busy, s.ID+" "+s.Status)
			}
		}
		return len(busy) == 0, fmt.Sprintf("%v", busy), nil
	})
	if err != nil {
		t.Fatalf("a snapshot stayed transitional after the restart: %v", err)
	}
	return snaps
}

// TestNFSVolumeServiceKilled kills -9 the NFS volume service (in its private mount namespace,
// so its TEST STAND-IN bind mounts die with it) right after creates were accepted, and then
// in the middle of a snapshot delete (a 256 MiB qcow2 merge), and starts it again each time. At the end every volume and snapshot is in a terminal state, the
// exports hold exactly the files the database names (no .partial, no overlay the .info does
// not reference, every available snapshot's overlay there), and the quota usage equals the
// rows. The pause before each kill is seeded (SCORIA_CRASH_SEED replays it).
func TestNFSVolumeServiceKilled(t *testing.T) {
	s := requireNFSCluster(t)
	c := s.c
	cl := c.Client()
	cl.Project = "nfskill"
	ctx := ctxT(t, 6*time.Minute)
	nfsCleanup(t, s, cl)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("SCORIA_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (SCORIA_CRASH_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	volume := cluster.VolumeProcess("node1")
	var accepted []string // every volume id the API accepted
	var snapIDs []string  // every snapshot id the API accepted
	var mu sync.Mutex
	killRestart := func(what string) {
		t.Helper()
		if err := c.Kill(volume); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		if err := c.Restart(volume); err != nil {
			t.Fatal(err)
		}
		t.Logf("killed -9 and restarted %s %s", volume, what)
	}

	// Round 1: 8 creates at once; the kill comes 0–40 ms after the 3rd was accepted.
	pause := time.Duration(rng.IntN(40)) * time.Millisecond
	fire := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := nfsCreateVolume(ctx, cl, fmt.Sprintf("nfskill-v1-%d", i), 1)
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			mu.Lock()
			if accepted = append(accepted, id); len(accepted) == 3 {
				close(fire)
			}
			mu.Unlock()
		}()
	}
	select {
	case <-fire:
	case <-time.After(30 * time.Second):
		t.Fatal("3 creates were not accepted within 30 s")
	}
	time.Sleep(pause)
	killRestart(fmt.Sprintf("%s after the 3rd of 8 creates was accepted", pause))
	wg.Wait()
	vols := waitSettled(t, ctx, c.Client(), c.CheckProcesses, 120*time.Second)
	t.Logf("round 1 settled: %s", statusCounts(vols))

	// Round 2: a volume with two snapshots (data written through nfs:// first, 256 MiB between
	// them); the delete of the older one (a merge of its overlay into the volume file) and a
	// snapshot of another volume go out at once, and the kill comes during the merge.
	var avail []blockstorage.Volume
	for _, v := range vols {
		if v.Status == "available" && strings.HasPrefix(v.Name, "nfskill-") {
			avail = append(avail, v)
		}
	}
	if len(avail) < 2 {
		t.Fatalf("round 1 left %d available volumes (%s); round 2 needs 2", len(avail), statusCounts(vols))
	}
	v, w := avail[0], avail[1]
	pattern := []byte(strings.Repeat("nfs-crash-", 410))[:4096]
	if err := nfsjudge.QemuIOWrite(ctx, nfsjudge.URL(shareOfHost(v.Host), "volume-"+v.ID), "raw", pattern, 0); err != nil {
		t.Fatalf("write through nfs://: %v", err)
	}
	var older string
	for i := range 2 {
		id, err := nfsCreateSnapshot(ctx, cl, v.ID, fmt.Sprintf("nfskill-s%d", i))
		if err != nil {
			t.Fatal(err)
		}
		snapIDs = append(snapIDs, id)
		waitSnapshotsSettled(t, ctx, c, cl, 60*time.Second)
		if i == 0 {
			// 256 MiB in the older snapshot's overlay (the active file now), so that its delete —
			// a qemu-img commit of that overlay into the volume file — takes a while to be hit.
			older = id
			overlay := filepath.Join(s.dirOf(t, shareOfHost(v.Host)), "volume-"+v.ID+"."+id)
			if out, err := exec.CommandContext(ctx, "qemu-io", "-f", "qcow2", "-c", fmt.Sprintf("write -P 0xab %d %d", bulkAt, bulkLen), overlay).CombinedOutput(); err != nil {
				t.Fatalf("fill the overlay %s: %v: %s", overlay, err, out)
			}
		}
	}
	// The kill comes while the merge runs: once the volume file (holding 4 KiB so far) has
	// grown by more than 8 MiB of the 256 MiB being committed into it.
	base := filepath.Join(s.dirOf(t, shareOfHost(v.Host)), "volume-"+v.ID)
	if err := nfsDo(ctx, cl, http.MethodDelete, "/snapshots/"+older, nil, http.StatusAccepted, nil); err != nil {
		t.Fatal(err)
	}
	sid, err := nfsCreateSnapshot(ctx, cl, w.ID, "nfskill-s2")
	if err != nil {
		t.Fatal(err)
	}
	snapIDs = append(snapIDs, sid)
	var merged int64
	err = cluster.Poll(ctx, 30*time.Second, time.Millisecond, func() (bool, string, error) {
		var st syscall.Stat_t
		if err := syscall.Stat(base, &st); err != nil {
			return false, err.Error(), nil
		}
		merged = st.Blocks * 512
		return merged > 8<<20, fmt.Sprintf("%d bytes allocated in %s", merged, base), nil
	})
	if err != nil {
		t.Fatalf("the merge of snapshot %s never began: %v", older, err)
	}
	killRestart(fmt.Sprintf("with %d MiB of the 256 MiB merge of snapshot %s in the volume file", merged>>20, older))

	vols = waitSettled(t, ctx, c.Client(), c.CheckProcesses, 120*time.Second)
	snaps := waitSnapshotsSettled(t, ctx, c, cl, 120*time.Second)
	t.Logf("settled: volumes %s; snapshots %v", statusCounts(vols), snapStatuses(snaps))
	for _, sn := range snaps {
		if sn.Status != "available" && sn.Status != "error" && sn.Status != "error_deleting" {
			t.Errorf("snapshot %s ended %s", sn.ID, sn.Status)
		}
	}
	var mine []blockstorage.Volume
	for _, vol := range vols {
		if strings.HasPrefix(vol.Name, "nfskill-") {
			mine = append(mine, vol)
		}
	}
	checkNFSExportsMatchRows(t, s, accepted, snapIDs, mine, snaps)
	checkNFSUsage(t, ctx, cl, mine, snaps)
	// The data written before and between the snapshots is still the volume's, whatever
	// became of the snapshot whose delete was cut short.
	if got, ok := readThroughChain(t, s, v, 0, int64(len(pattern))); ok && !bytes.Equal(got, pattern) {
		t.Errorf("volume %s does not read back the pattern written before its snapshots after the crash", v.ID)
	}
	if got, ok := readThroughChain(t, s, v, bulkAt+bulkLen-4096, 4096); ok && !bytes.Equal(got, bytes.Repeat([]byte{0xab}, 4096)) {
		t.Errorf("volume %s does not read back the data written between its snapshots after the crash: %x…", v.ID, got[:16])
	}
}

// The bulk write into the older snapshot's overlay of TestNFSVolumeServiceKilled.
const bulkAt, bulkLen = 128 << 20, 256 << 20

func snapStatuses(snaps []nfsSnapshot) map[string]int {
	out := map[string]int{}
	for _, s := range snaps {
		out[s.Status]++
	}
	return out
}

// readThroughChain reads n bytes at off of volume v through its whole qcow2 chain, from the
// exported directory (qemu cannot follow Cinder's relative backing names over nfs://); ok is
// false (and t failed) when it cannot.
func readThroughChain(t *testing.T, s nfsSetup, v blockstorage.Volume, off, n int64) (data []byte, ok bool) {
	t.Helper()
	dir := s.dirOf(t, shareOfHost(v.Host))
	active := "volume-" + v.ID
	if b, err := os.ReadFile(filepath.Join(dir, active+".info")); err == nil {
		var info map[string]string
		if json.Unmarshal(b, &info) == nil && info["active"] != "" {
			active = info["active"]
		}
	}
	format, _, _, err := nfsjudge.QemuImgInfo(context.Background(), filepath.Join(dir, active))
	if err != nil {
		t.Errorf("qemu-img info of volume %s's active file %s: %v", v.ID, active, err)
		return nil, false
	}
	got, err := nfsjudge.QemuIORead(context.Background(), filepath.Join(dir, active), format, off, n)
	if err != nil {
		t.Errorf("read volume %s through %s: %v", v.ID, active, err)
		return nil, false
	}
	return got, true
}

// checkNFSExportsMatchRows checks the exported directories against the rows, for the ids this
// test made: no .partial file; volume-<id> exactly for the available volumes, on the share of
// their host; a .info only beside a volume file, naming an active file that exists; every
// overlay volume-<id>.<snapshot id> named by the .info, of a snapshot that is available;
// every available snapshot's overlay present.
func checkNFSExportsMatchRows(t *testing.T, s nfsSetup, volIDs, snapIDs []string, vols []blockstorage.Volume, snaps []nfsSnapshot) {
	t.Helper()
	byID := map[string]blockstorage.Volume{}
	for _, v := range vols {
		byID[v.ID] = v
	}
	snapByID := map[string]nfsSnapshot{}
	for _, sn := range snaps {
		snapByID[sn.ID] = sn
	}
	files := s.filesOf(t, append(slices.Clone(volIDs), snapIDs...))
	present := map[string]bool{} // share + "/" + name
	for share, names := range files {
		for _, n := range names {
			present[share+"/"+n] = true
		}
	}
	infos := map[string]map[string]string{} // volume id → its .info
	for share, names := range files {
		dir := s.dirOf(t, share)
		for _, name := range names {
			rest, ok := strings.CutPrefix(name, "volume-")
			if !ok || strings.HasSuffix(name, ".partial") {
				t.Errorf("%s: %s left behind (a partial or stray file)", share, name)
				continue
			}
			id, suffix, _ := strings.Cut(rest, ".")
			v, ok := byID[id]
			switch {
			case !ok || v.Status != "available":
				t.Errorf("%s: %s belongs to no available volume (volume %s: %q)", share, name, id, v.Status)
				continue
			case shareOfHost(v.Host) != share:
				t.Errorf("%s: %s, but volume %s is on %s", share, name, id, v.Host)
				continue
			}
			if suffix == "info" {
				b, err := os.ReadFile(filepath.Join(dir, name))
				var info map[string]string
				if err == nil {
					err = json.Unmarshal(b, &info)
				}
				if err != nil {
					t.Errorf("%s: %s: %v", share, name, err)
					continue
				}
				infos[id] = info
			}
		}
	}
	for _, v := range vols {
		if v.Status != "available" {
			continue
		}
		share := shareOfHost(v.Host)
		if !present[share+"/volume-"+v.ID] {
			t.Errorf("available volume %s has no file volume-%s on %s", v.ID, v.ID, share)
		}
		info := infos[v.ID]
		if info == nil {
			continue
		}
		if !present[share+"/"+info["active"]] {
			t.Errorf("volume %s: .info names active %q, which is not on %s", v.ID, info["active"], share)
		}
		for key, file := range info {
			if key == "active" {
				continue
			}
			if sn, ok := snapByID[key]; !ok || sn.Status != "available" {
				t.Errorf("volume %s: .info names snapshot %s (%s), which is not an available snapshot (%q)", v.ID, key, file, sn.Status)
			}
			if !present[share+"/"+file] {
				t.Errorf("volume %s: .info names %s for snapshot %s, which is not on %s", v.ID, file, key, share)
			}
		}
	}
	// Every overlay file is referenced; every available snapshot has its overlay.
	for share, names := range files {
		for _, name := range names {
			rest, _ := strings.CutPrefix(name, "volume-")
			id, suffix, ok := strings.Cut(rest, ".")
			if !ok || suffix == "info" || suffix == "partial" || strings.HasSuffix(suffix, ".partial") {
				continue
			}
			if info := infos[id]; info[suffix] != name {
				t.Errorf("%s: overlay %s is not referenced by volume-%s.info (%v)", share, name, id, info)
			}
		}
	}
	for _, sn := range snaps {
		v, ok := byID[sn.VolumeID]
		if sn.Status != "available" || !ok {
			continue
		}
		if infos[sn.VolumeID][sn.ID] == "" {
			t.Errorf("available snapshot %s of volume %s is not in its .info (%v)", sn.ID, sn.VolumeID, infos[sn.VolumeID])
		} else if !present[shareOfHost(v.Host)+"/"+infos[sn.VolumeID][sn.ID]] {
			t.Errorf("available snapshot %s: its overlay %s is missing", sn.ID, infos[sn.VolumeID][sn.ID])
		}
	}
}

// checkNFSUsage checks the project's quota usage (volumes, snapshots, gigabytes of both, and
// the same per type nfs) against the rows.
func checkNFSUsage(t *testing.T, ctx context.Context, cl *blockstorage.Client, vols []blockstorage.Volume, snaps []nfsSnapshot) {
	t.Helper()
	want := map[string]int{"volumes": len(vols), "snapshots": len(snaps)}
	for _, v := range vols {
		want["gigabytes"] += v.Size
	}
	for _, sn := range snaps {
		want["gigabytes"] += sn.Size
	}
	for _, k := range []string{"volumes", "snapshots", "gigabytes"} {
		want[k+"_"+nfsBackendName] = want[k]
	}
	var qs struct {
		QuotaSet map[string]json.RawMessage `json:"quota_set"`
	}
	if err := nfsDo(ctx, cl, http.MethodGet, "/os-quota-sets/"+cl.Project+"?usage=true", nil, http.StatusOK, &qs); err != nil {
		t.Fatal(err)
	}
	for key, n := range want {
		var u struct {
			InUse    int `json:"in_use"`
			Reserved int `json:"reserved"`
		}
		if err := json.Unmarshal(qs.QuotaSet[key], &u); err != nil {
			t.Errorf("quota %s of %s: %v (%s)", key, cl.Project, err, qs.QuotaSet[key])
			continue
		}
		if u.InUse != n || u.Reserved != 0 {
			t.Errorf("project %s: quota %s in use %d (reserved %d), the rows hold %d", cl.Project, key, u.InUse, u.Reserved, n)
		}
	}
}

// nfsCleanup registers, to run before the cluster closes, the deletion of every snapshot and
// volume of cl's project through the API and then the removal of any file still named by
// their ids from the exports: the exports are shared by every test on the machine, and the
// volume service's reconciler only reports files it does not own.
func nfsCleanup(t *testing.T, s nfsSetup, cl *blockstorage.Client) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var ids []string
		snaps, _ := nfsSnapshots(ctx, cl)
		for _, sn := range snaps {
			ids = append(ids, sn.ID)
			_ = nfsDo(ctx, cl, http.MethodDelete, "/snapshots/"+sn.ID, nil, http.StatusAccepted, nil)
		}
		_ = cluster.Poll(ctx, time.Minute, 250*time.Millisecond, func() (bool, string, error) {
			left, err := nfsSnapshots(ctx, cl)
			return err == nil && len(left) == 0, fmt.Sprintf("%d snapshots left", len(left)), nil
		})
		vols, _ := cl.ListVolumes(ctx, nil)
		for _, v := range vols {
			ids = append(ids, v.ID)
			_ = cl.DeleteVolume(ctx, v.ID)
		}
		for _, v := range vols {
			_ = s.c.WaitVolumeGone(v.ID, time.Minute)
		}
		for share, names := range s.filesOf(t, ids) {
			for _, name := range names {
				if err := os.Remove(filepath.Join(s.dirOf(t, share), name)); err == nil {
					t.Logf("cleanup: removed %s from %s (left by the API's deletes)", name, share)
				}
			}
		}
	})
}
