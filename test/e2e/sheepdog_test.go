package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
	"github.com/scoria/scoria/test/sheepsim"
)

// The Sheepdog backend end to end: a cinder.conf [sheepdog] section (Cinder's class path,
// CHAP, target_helper = tgtadm) on the real services (MariaDB, RabbitMQ), the real cinder CLI,
// the machine's real tgtd exporting VDIs through its sheepdog store and qemu-io (libiscsi) as
// the initiator. The sheep itself is the protocol-level sheep SIMULATOR of test/sheepsim, a
// TEST STAND-IN (Debian has no sheepdog), run in the test process so the test can stop it
// under the running service and look into its VDIs and objects.

const sheepBackend = "sheepdog"

// startSheepSim starts the simulator on a free port ≤ 9999 (tgt's sheepdog store reads at
// most 4 digits of a port).
func startSheepSim(t *testing.T) *sheepsim.Server {
	t.Helper()
	var lastErr error
	for port := 7000 + int(time.Now().UnixNano()%2000); port < 10000; port += 13 {
		sim, err := sheepsim.Start(sheepsim.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
		if err == nil {
			t.Cleanup(sim.Stop)
			return sim
		}
		lastErr = err
	}
	t.Fatalf("no free port below 10000 for the sheep simulator: %v", lastErr)
	return nil
}

// sheepCluster starts a cluster whose volume process node1 serves one [sheepdog] section on
// sim, exporting through the machine's tgtd with CHAP under a target prefix of its own.
func sheepCluster(t *testing.T, sim *sheepsim.Server) (*cluster.Cluster, string) {
	t.Helper()
	prefix := "iqn.2010-10.org.scoria-sheep-" + uuid.NewString()[:8] + ":"
	c := startCluster(t, cluster.Options{Volumes: []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{
		Name: sheepBackend, Options: map[string]string{
			"volume_driver":          "cinder.volume.drivers.sheepdog.SheepdogDriver",
			"sheepdog_store_address": "127.0.0.1",
			"sheepdog_store_port":    strconv.Itoa(sim.Port()),
			"use_chap_auth":          "true",
			"target_helper":          "tgtadm",
			"target_prefix":          prefix,
			"volumes_dir":            t.TempDir(),
			"target_ip_address":      "127.0.0.1",
		},
	}}}}})
	t.Cleanup(func() {
		if strings.Contains(tgtTargets(t), prefix) {
			t.Errorf("targets of %s left in tgtd:\n%s", prefix, tgtTargets(t))
		}
	})
	return c, prefix
}

// liveVDIs are the simulator's VDIs that are not deleted, as "name" or "name@tag".
func liveVDIs(sim *sheepsim.Server) []string {
	var out []string
	for _, v := range sim.VDIs() {
		if v.Deleted {
			continue
		}
		if v.Tag != "" {
			out = append(out, v.Name+"@"+v.Tag)
		} else {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return out
}

// workingVDI is the live, non-snapshot VDI of that name.
func workingVDI(t *testing.T, sim *sheepsim.Server, name string) sheepsim.VDI {
	t.Helper()
	for _, v := range sim.VDIs() {
		if v.Name == name && !v.Deleted && !v.Snapshot {
			return v
		}
	}
	t.Fatalf("no working VDI %s in the simulator; live VDIs: %v", name, liveVDIs(sim))
	return sheepsim.VDI{}
}

// cliWait polls `cinder <show> id` until its status is want; error (when not wanted) ends it.
func cliWait(t *testing.T, cli cinderCLI, show, id, want string) map[string]string {
	t.Helper()
	var props map[string]string
	err := cluster.Poll(context.Background(), 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run(show, id)
		if err != nil {
			return false, "", err
		}
		props = parseProperties(out)
		if props["status"] == "error" && want != "error" {
			return false, "", fmt.Errorf("%s went to error: %v", id, props)
		}
		return props["status"] == want, "status " + props["status"], nil
	})
	if err != nil {
		t.Fatalf("cinder %s %s: %v", show, id, err)
	}
	return props
}

// cliGone polls `cinder <show> id` until the CLI says it does not exist.
func cliGone(t *testing.T, cli cinderCLI, show, id string) {
	t.Helper()
	err := cluster.Poll(context.Background(), 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run(show, id)
		if err != nil {
			if strings.Contains(err.Error(), "No volume with a name or ID") || strings.Contains(err.Error(), "No snapshot with a name or ID") {
				return true, "", nil
			}
			return false, "", err
		}
		return false, "status " + parseProperties(out)["status"], nil
	})
	if err != nil {
		t.Fatalf("after the delete of %s: %v", id, err)
	}
}

// sheepAttachCLI creates an attachment of volume id with a connector (3.54) and returns its id and
// the connection info the CLI printed.
func sheepAttachCLI(t *testing.T, cli cinderCLI, id string) (string, map[string]string) {
	t.Helper()
	cli.version = "3.54"
	out := cli.must("attachment-create", "--connect", "True", "--initiator", "iqn.1993-08.org.debian:01:sheep-e2e",
		"--ip", "127.0.0.1", "--host", "sheep-e2e", "--platform", "x86_64", "--ostype", "linux2", "--mode", "rw", id, uuid.NewString())
	tables := parsePropertyTables(out)
	var att, info map[string]string
	for _, tb := range tables {
		switch {
		case tb["target_iqn"] != "":
			info = tb
		case tb["id"] != "":
			att = tb
		}
	}
	if att == nil || info == nil {
		t.Fatalf("attachment-create printed no attachment or no connection info:\n%s", out)
	}
	return att["id"], info
}

// sheepURL is libiscsi's URL of the LUN of a connection info printed by the CLI, logging in
// with user and password ("" user: without CHAP).
func sheepURL(info map[string]string, user, password string) string {
	auth := ""
	if user != "" {
		auth = user + "%" + password + "@"
	}
	return fmt.Sprintf("iscsi://%s%s/%s/%s", auth, info["target_portal"], info["target_iqn"], info["target_lun"])
}

func qemuIOe2e(ctx context.Context, url string, cmds ...string) (string, bool) {
	args := []string{"-f", "raw"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.CommandContext(ctx, "qemu-io", append(args, url)...).CombinedOutput()
	s := string(out)
	return s, err == nil && !strings.Contains(s, "verification failed") && !strings.Contains(s, "rror") && !strings.Contains(s, "failed")
}

// TestSheepdogCinderCLI: create, list, attach (iSCSI through tgtd with CHAP) and write,
// snapshot, create from the snapshot, clone, extend, detach, deletes — with the cinder CLI;
// then the simulator stopped under the running service (backend down with the reason, a
// create meanwhile ends in error) and restarted (up by itself, a create works).
func TestSheepdogCinderCLI(t *testing.T) {
	requireServers(t)
	requireTGTD(t)
	if _, err := exec.LookPath("qemu-io"); err != nil {
		unavailable(t, "qemu-io is missing (Debian: qemu-utils, qemu-block-extra)")
	}
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	sim := startSheepSim(t)
	c, prefix := sheepCluster(t, sim)
	cli := cinderCLI{t: t, path: path, endpoint: c.Endpoint(), home: t.TempDir()}
	ctx := ctxT(t, 6*time.Minute)
	const gibU = uint64(gib)
	const off = 4<<20 - 4096 // 8 KiB across the boundary of objects 0 and 1
	want := bytes.Repeat([]byte{0xd7}, 8192)
	pool := "node1@" + sheepBackend + "#" + sheepBackend

	t.Run("life cycle", func(t *testing.T) {
		v1 := parseProperties(cli.must("create", "--name", "sd1", "1"))["id"]
		if !uuidRE.MatchString(v1) {
			t.Fatalf("cinder create printed no id")
		}
		if got := cliWait(t, cli, "show", v1, "available")["os-vol-host-attr:host"]; got != pool {
			t.Errorf("host %q, want %s", got, pool)
		}
		if vdi := workingVDI(t, sim, "volume-"+v1); vdi.Size != gibU {
			t.Errorf("VDI volume-%s has %d bytes, want 1 GiB", v1, vdi.Size)
		}
		if !slices.ContainsFunc(parseTable(cli.must("list")), func(r map[string]string) bool { return r["ID"] == v1 && r["Status"] == "available" }) {
			t.Errorf("cinder list does not show %s available", v1)
		}

		// attach with a connector, write through the target, detach
		attID, info := sheepAttachCLI(t, cli, v1)
		user, password := info["auth_username"], info["auth_password"]
		if info["auth_method"] != "CHAP" || user == "" || password == "" || info["target_iqn"] != prefix+"volume-"+v1 ||
			info["target_portal"] != "127.0.0.1:3260" || info["target_lun"] != "1" {
			t.Fatalf("connection info %v", info)
		}
		if !strings.Contains(tgtTargets(t), fmt.Sprintf("tcp:127.0.0.1:%d:volume-%s", sim.Port(), v1)) {
			t.Fatalf("tgtd does not export the VDI through its sheepdog store:\n%s", tgtTargets(t))
		}
		if out, ok := qemuIOe2e(ctx, sheepURL(info, user, password+"x"), "read 0 512"); ok {
			t.Errorf("a wrong CHAP password was not refused:\n%s", out)
		}
		if out, ok := qemuIOe2e(ctx, sheepURL(info, user, password), fmt.Sprintf("write -P 0xd7 %d 8192", off)); !ok {
			t.Fatalf("qemu-io write through the target:\n%s", out)
		}
		vdi := workingVDI(t, sim, "volume-"+v1)
		if got, err := sim.ReadVDI(vdi.VID, off, 8192); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("the VDI does not hold the bytes written over iSCSI (%v)", err)
		}
		if objs := sim.Objects(vdi.VID); len(objs) != 2 {
			t.Errorf("the VDI owns %d objects, want 2 (the write crossed one boundary)", len(objs))
		}
		cli.must("--os-volume-api-version", "3.54", "attachment-delete", attID)
		cliWait(t, cli, "show", v1, "available")
		if strings.Contains(tgtTargets(t), prefix+"volume-"+v1) {
			t.Errorf("target of %s still in tgtd after attachment-delete", v1)
		}

		// snapshot, a bigger volume from it, a clone
		s1 := parseProperties(cli.must("snapshot-create", "--name", "sd1-s1", v1))["id"]
		cliWait(t, cli, "snapshot-show", s1, "available")
		if !slices.Contains(liveVDIs(sim), "volume-"+v1+"@snapshot-"+s1) {
			t.Errorf("no snapshot VDI tagged snapshot-%s: %v", s1, liveVDIs(sim))
		}
		v2 := parseProperties(cli.must("create", "--snapshot-id", s1, "--name", "sd2", "2"))["id"]
		v3 := parseProperties(cli.must("create", "--source-volid", v1, "--name", "sd3", "1"))["id"]
		cliWait(t, cli, "show", v2, "available")
		cliWait(t, cli, "show", v3, "available")
		for _, tc := range []struct {
			id   string
			size uint64
		}{{v2, 2 * gibU}, {v3, gibU}} {
			vdi := workingVDI(t, sim, "volume-"+tc.id)
			if got, err := sim.ReadVDI(vdi.VID, off, 8192); err != nil || !bytes.Equal(got, want) || vdi.Size != tc.size {
				t.Errorf("VDI of %s: size %d (want %d), the source's bytes: %v (%v)", tc.id, vdi.Size, tc.size, bytes.Equal(got, want), err)
			}
		}
		for _, n := range liveVDIs(sim) {
			if strings.Contains(n, "@tmp-snap-") {
				t.Errorf("temporary snapshot %s left after the clone", n)
			}
		}

		// extend
		cli.must("extend", v1, "2")
		err := cluster.Poll(ctx, 60*time.Second, 250*time.Millisecond, func() (bool, string, error) {
			p := parseProperties(cli.must("show", v1))
			return p["size"] == "2" && p["status"] == "available", p["status"] + " size " + p["size"], nil
		})
		if err != nil {
			t.Fatalf("extend: %v", err)
		}
		if vdi := workingVDI(t, sim, "volume-"+v1); vdi.Size != 2*gibU {
			t.Errorf("VDI after extend: %d bytes, want 2 GiB", vdi.Size)
		}

		// the clone of the snapshot, read back through its own target
		attID, info = sheepAttachCLI(t, cli, v2)
		if out, ok := qemuIOe2e(ctx, sheepURL(info, info["auth_username"], info["auth_password"]),
			fmt.Sprintf("read -P 0xd7 %d 8192", off), "read -P 0 0 4096"); !ok {
			t.Errorf("read the volume made from the snapshot through iSCSI:\n%s", out)
		}
		cli.must("--os-volume-api-version", "3.54", "attachment-delete", attID)
		cliWait(t, cli, "show", v2, "available")

		// deletes: nothing is left in the cluster
		cli.must("delete", v2, v3)
		cliGone(t, cli, "show", v2)
		cliGone(t, cli, "show", v3)
		cli.must("snapshot-delete", s1)
		cliGone(t, cli, "snapshot-show", s1)
		cli.must("delete", v1)
		cliGone(t, cli, "show", v1)
		if left := liveVDIs(sim); len(left) != 0 {
			t.Errorf("VDIs left after every delete: %v", left)
		}
		if strings.Contains(tgtTargets(t), prefix) {
			t.Errorf("targets left:\n%s", tgtTargets(t))
		}
	})

	t.Run("sheep stopped and restarted", func(t *testing.T) {
		backendState := func() (service, poolState string) {
			for _, r := range parseTable(cli.must("--os-volume-api-version", "3.49", "service-list", "--binary", "cinder-volume")) {
				if r["Host"] == "node1@"+sheepBackend {
					service = r["Backend State"]
				}
			}
			for _, p := range parsePropertyTables(cli.must("get-pools", "--detail")) {
				if p["name"] == pool {
					poolState = p["backend_state"]
				}
			}
			return service, poolState
		}
		waitState := func(want string) {
			t.Helper()
			err := cluster.Poll(ctx, 60*time.Second, 500*time.Millisecond, func() (bool, string, error) {
				s, p := backendState()
				return s == want && p == want, fmt.Sprintf("service-list Backend State %q, get-pools backend_state %q", s, p), nil
			})
			if err != nil {
				t.Fatalf("backend %s: %v", want, err)
			}
		}
		waitState("up")
		sim.Stop()
		waitState("down")
		// the reason, with Cinder's words for an unreachable sheep, is in the service's log
		if lines := c.Grep(fmt.Sprintf("sheep at 127.0.0.1:%d", sim.Port()), "level=error"); len(lines) == 0 {
			t.Errorf("the volume service's log does not say why the backend is down")
		} else {
			t.Logf("reason: %s", lines[len(lines)-1])
		}

		// a create meanwhile ends in error: not stuck in creating
		id := parseProperties(cli.must("create", "--name", "sd-down", "1"))["id"]
		cliWait(t, cli, "show", id, "error")
		cli.must("delete", id)
		cliGone(t, cli, "show", id)

		if err := sim.Restart(); err != nil {
			t.Fatal(err)
		}
		waitState("up")
		id = parseProperties(cli.must("create", "--name", "sd-up", "1"))["id"]
		cliWait(t, cli, "show", id, "available")
		workingVDI(t, sim, "volume-"+id)
		cli.must("delete", id)
		cliGone(t, cli, "show", id)
		if left := liveVDIs(sim); len(left) != 0 {
			t.Errorf("VDIs left: %v", left)
		}
	})
}

// TestSheepdogKilledDuringCloneAndSnapshot kills -9 the volume service right after a clone
// and a snapshot request were accepted, in rounds with different pauses, and restarts it:
// every volume and snapshot reaches a terminal state, no temporary snapshot tmp-snap-* and no
// VDI without its available volume or snapshot is left, and the quota usage matches the rows.
func TestSheepdogKilledDuringCloneAndSnapshot(t *testing.T) {
	requireServers(t)
	requireTGTD(t)
	sim := startSheepSim(t)
	c, _ := sheepCluster(t, sim)
	cl := c.Client()
	cl.Project = "sheepcrash"
	ctx := ctxT(t, 6*time.Minute)
	vol := cluster.VolumeProcess("node1")

	src, err := cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: "sheepcrash-vsrc", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, src.ID, "available")

	post := func(path, body string) string {
		t.Helper()
		resp, err := cl.Do(ctx, http.MethodPost, path, []byte(body), http.Header{"Content-Type": {"application/json"}})
		if err != nil || resp.Status != http.StatusAccepted && resp.Status != http.StatusOK {
			t.Fatalf("POST %s: %v %+v", path, err, resp)
		}
		var out map[string]struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			t.Fatal(err)
		}
		for _, v := range out {
			return v.ID
		}
		t.Fatalf("POST %s answered no id: %s", path, resp.Body)
		return ""
	}
	for round, pause := range []time.Duration{0, 5 * time.Millisecond, 30 * time.Millisecond, 150 * time.Millisecond} {
		post("/volumes", fmt.Sprintf(`{"volume": {"name": "sheepcrash-v%d-clone", "size": 1, "source_volid": %q}}`, round, src.ID))
		post("/snapshots", fmt.Sprintf(`{"snapshot": {"name": "sheepcrash-s%d", "volume_id": %q, "force": true}}`, round, src.ID))
		time.Sleep(pause)
		if err := c.Kill(vol); err != nil {
			t.Fatal(err)
		}
		if err := c.Restart(vol); err != nil {
			t.Fatal(err)
		}
		vols := waitSettled(t, ctx, c.Client(), c.CheckProcesses, 120*time.Second)
		snaps := waitSheepSnapshotsSettled(t, ctx, cl)
		t.Logf("round %d (kill %s after the requests): volumes %s, snapshots %s", round, pause, statusCounts(vols), snapshotCounts(snaps))
		if !slices.ContainsFunc(vols, func(v blockstorage.Volume) bool { return v.ID == src.ID && v.Status == "available" }) {
			t.Fatalf("the source volume is not available after round %d", round)
		}
	}

	vols := waitSettled(t, ctx, c.Client(), c.CheckProcesses, 120*time.Second)
	snaps := waitSheepSnapshotsSettled(t, ctx, cl)
	// the storage must end as the rows say; the reconciler may need a pass to remove what a
	// crash left, so this waits a while and then names what is wrong
	var problems []string
	err = cluster.Poll(ctx, 90*time.Second, time.Second, func() (bool, string, error) {
		problems = sheepOrphans(sim, vols, snaps)
		return len(problems) == 0, strings.Join(problems, "; "), nil
	})
	if err != nil {
		t.Errorf("the sheep cluster does not match the rows: %v (live VDIs %v)", err, liveVDIs(sim))
	}
	checkSheepUsage(t, ctx, cl, vols, snaps)

	// everything can be deleted, and then nothing is left
	for _, s := range snaps {
		if err := deleteSnapshot(ctx, cl, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitSnapshotsGone(t, ctx, cl)
	var left []string
	for _, v := range vols {
		left = append(left, v.ID)
	}
	deleteAndWaitGone(t, c, left, 90*time.Second)
	if live := liveVDIs(sim); len(live) != 0 {
		t.Errorf("VDIs left after deleting everything: %v", live)
	}
}

type snapshotRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	VolumeID string `json:"volume_id"`
	Size     int    `json:"size"`
}

func listSnapshots(ctx context.Context, cl *blockstorage.Client) ([]snapshotRow, error) {
	resp, err := cl.Do(ctx, http.MethodGet, "/snapshots/detail", nil, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Snapshots []snapshotRow `json:"snapshots"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("snapshots: %w: %s", err, resp.Body)
	}
	return out.Snapshots, nil
}

func snapshotCounts(snaps []snapshotRow) string {
	counts := map[string]int{}
	for _, s := range snaps {
		counts[s.Status]++
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// waitSheepSnapshotsSettled waits until no snapshot of cl's project is creating or deleting.
func waitSheepSnapshotsSettled(t *testing.T, ctx context.Context, cl *blockstorage.Client) []snapshotRow {
	t.Helper()
	var snaps []snapshotRow
	err := cluster.Poll(ctx, 120*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		var err error
		if snaps, err = listSnapshots(ctx, cl); err != nil {
			return false, err.Error(), nil
		}
		for _, s := range snaps {
			if s.Status == "creating" || s.Status == "deleting" {
				return false, snapshotCounts(snaps), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatalf("a snapshot stayed transitional: %v", err)
	}
	return snaps
}

func waitSnapshotsGone(t *testing.T, ctx context.Context, cl *blockstorage.Client) {
	t.Helper()
	err := cluster.Poll(ctx, 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		snaps, err := listSnapshots(ctx, cl)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(snaps) == 0, snapshotCounts(snaps), nil
	})
	if err != nil {
		t.Fatalf("snapshots not gone: %v", err)
	}
}

func deleteSnapshot(ctx context.Context, cl *blockstorage.Client, id string) error {
	resp, err := cl.Do(ctx, http.MethodDelete, "/snapshots/"+id, nil, nil)
	if err != nil {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	if resp.Status != http.StatusAccepted {
		return fmt.Errorf("delete snapshot %s: %d %s", id, resp.Status, resp.Body)
	}
	return nil
}

// sheepOrphans lists what the simulator holds that the rows do not explain, and what the rows
// promise that it does not hold: a temporary clone snapshot, a working VDI without an
// available volume, a snapshot VDI without an available snapshot, an available volume or
// snapshot without its VDI.
func sheepOrphans(sim *sheepsim.Server, vols []blockstorage.Volume, snaps []snapshotRow) []string {
	want := map[string]bool{}
	for _, v := range vols {
		if v.Status == "available" {
			want["volume-"+v.ID] = true
		}
	}
	for _, s := range snaps {
		if s.Status == "available" {
			want["volume-"+s.VolumeID+"@snapshot-"+s.ID] = true
		}
	}
	var problems []string
	for _, n := range liveVDIs(sim) {
		switch {
		case strings.Contains(n, "@tmp-snap-"):
			problems = append(problems, "temporary snapshot "+n+" left")
		case !want[n]:
			problems = append(problems, "VDI "+n+" has no available volume or snapshot")
		}
		delete(want, n)
	}
	for n := range want {
		problems = append(problems, "no VDI "+n)
	}
	slices.Sort(problems)
	return problems
}

// checkSheepUsage checks the quota usage of cl's project against its rows: volumes, snapshots,
// and gigabytes = the volumes' sizes plus the snapshots' (Cinder counts snapshots in
// gigabytes unless no_snapshot_gb_quota), nothing left reserved.
func checkSheepUsage(t *testing.T, ctx context.Context, cl *blockstorage.Client, vols []blockstorage.Volume, snaps []snapshotRow) {
	t.Helper()
	want := map[string]int{"volumes": 0, "snapshots": len(snaps), "gigabytes": 0}
	for _, v := range vols {
		want["volumes"]++
		want["gigabytes"] += v.Size
	}
	for _, s := range snaps {
		want["gigabytes"] += s.Size
	}
	resp, err := cl.Do(ctx, http.MethodGet, "/os-quota-sets/"+cl.Project+"?usage=true", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var qs struct {
		QuotaSet map[string]json.RawMessage `json:"quota_set"`
	}
	if err := json.Unmarshal(resp.Body, &qs); err != nil {
		t.Fatal(err)
	}
	for key, n := range want {
		var u struct {
			InUse    int `json:"in_use"`
			Reserved int `json:"reserved"`
		}
		if err := json.Unmarshal(qs.QuotaSet[key], &u); err != nil {
			t.Fatalf("quota %s: %v: %s", key, err, resp.Body)
		}
		if u.InUse != n || u.Reserved != 0 {
			t.Errorf("project %s: quota %s in use %d (reserved %d), the rows hold %d", cl.Project, key, u.InUse, u.Reserved, n)
		}
	}
}
