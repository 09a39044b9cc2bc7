package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/nfsjudge"
	"github.com/scoria/scoria/test/cluster"
)

// nfsBackendName is the backend section, volume_backend_name and volume type of the NFS tests.
const nfsBackendName = "nfs"

// nfsSetup is a cluster whose one volume process (node1) serves [nfs] as Cinder's NfsDriver on
// the two shares of the real test NFS server, through the bind-mount TEST STAND-IN (this
// machine has no kernel NFS client), in a private mount namespace.
type nfsSetup struct {
	c   *cluster.Cluster
	env nfsjudge.Env
	cli cinderCLI
}

// requireNFSCluster starts the NFS cluster for t, or skips (fails under CI=true) when MariaDB,
// RabbitMQ, the cinder CLI, the NFS server or root (for the bind mounts) is missing.
func requireNFSCluster(t *testing.T) nfsSetup {
	t.Helper()
	requireServers(t)
	env := nfsjudge.Require(t)
	if len(env.Shares) < 2 {
		unavailable(t, "the test NFS server exports %d shares (%v); the NFS end-to-end tests need two", len(env.Shares), env.Shares)
	}
	if os.Geteuid() != 0 {
		unavailable(t, "the NFS driver's TEST STAND-IN mount (mount --bind in a private mount namespace) needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		unavailable(t, "unshare (util-linux) is not installed: it gives the NFS volume process its private mount namespace")
	}
	for _, tool := range []string{"nfs-ls", "qemu-img", "qemu-io"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, "%s is not installed (libnfs-utils, qemu-utils, qemu-block-extra)", tool)
		}
	}
	spec, err := cluster.NFSVolumeSpec("node1", cluster.NFSBackend{
		Name:       nfsBackendName,
		Shares:     env.Shares[:2],
		Exports:    env.SubstituteExports()[:2],
		SharesFile: filepath.Join(t.TempDir(), "nfs_shares"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The exports are shared by every test on the machine, and the files others leave there
	// count in a share's provisioned capacity (as in Cinder), so the capacity weigher's choice
	// depends on them; Cinder's VolumeNumberWeigher spreads this cluster's own volumes evenly.
	c := startCluster(t, cluster.Options{Volumes: []cluster.VolumeSpec{spec}, PeriodicInterval: 2,
		Extra: map[string]string{"scheduler_default_weighers": "VolumeNumberWeigher"}})
	ctx := ctxT(t, time.Minute)
	if _, err := c.CreateVolumeType(ctx, nfsBackendName, map[string]string{"volume_backend_name": nfsBackendName}); err != nil {
		t.Fatal(err)
	}
	return nfsSetup{c: c, env: env, cli: attachCLI(t, c, "3.54")}
}

// pool is the pool name of share on node1: node1@nfs#127.0.0.1:/export1.
func (s nfsSetup) pool(share string) string { return "node1@" + nfsBackendName + "#" + share }

// dirOf is the directory the server exports for share.
func (s nfsSetup) dirOf(t *testing.T, share string) string {
	t.Helper()
	i := slices.Index(s.env.Shares, share)
	if i < 0 {
		t.Fatalf("share %q is not one of the test server's %v", share, s.env.Shares)
	}
	return s.env.Dirs[i]
}

// shareOfHost is the share of a volume's os-vol-host-attr:host (node1@nfs#127.0.0.1:/export1).
func shareOfHost(host string) string {
	_, share, _ := strings.Cut(host, "#")
	return share
}

// waitNFSVolume polls `cinder show` until the volume is want, failing at once on error.
func waitNFSVolume(t *testing.T, s nfsSetup, id, want string) map[string]string {
	t.Helper()
	var shown map[string]string
	err := cluster.Poll(context.Background(), 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		out, err := s.cli.run("show", id)
		if err != nil {
			return false, err.Error(), nil
		}
		shown = parseProperties(out)
		if shown["status"] == "error" && want != "error" {
			return false, "", fmt.Errorf("volume %s went to error; the logs say:\n%s", id, strings.Join(s.c.Grep(id, "level=error", "level=warning"), "\n"))
		}
		return shown["status"] == want, "status " + shown["status"], nil
	})
	if err != nil {
		t.Fatalf("volume %s never %s: %v", id, want, err)
	}
	return shown
}

// nfsCreate runs `cinder create --volume-type nfs` with args and returns the new volume's id.
func nfsCreate(t *testing.T, s nfsSetup, name string, args ...string) string {
	t.Helper()
	full := append([]string{"create", "--volume-type", nfsBackendName, "--name", name}, args...)
	id := parseProperties(s.cli.must(full...))["id"]
	if !uuidRE.MatchString(id) {
		t.Fatalf("cinder %s printed no volume id", strings.Join(full, " "))
	}
	return id
}

// judgeFile asks the real server, over NFSv3, for the size of name on share.
func judgeFile(t *testing.T, share, name string) (size, used int64, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return nfsjudge.Stat(ctx, nfsjudge.URL(share, name))
}

// judgeAttrCache bounds how long the real server may answer from its attribute cache.
// The bind-mount TEST STAND-IN changes the exported directory behind nfs-ganesha's back (a real
// NFS client would go through it), and ganesha keeps a file's attributes, and the entry of a
// removed file, for Attr_Expiration_Time (60 s unless the EXPORT block says otherwise; seen
// up to 74 s). deploy/nfs/nfs-up.sh should set Attr_Expiration_Time = 0 in its EXPORT blocks
// (the server then answers at once); until it does, a size change or removal is judged within
// that time, not at once.
const judgeAttrCache = 90 * time.Second

// judgeEventually polls check until it holds, failing t after judgeAttrCache with what it saw.
func judgeEventually(t *testing.T, what string, check func() (ok bool, saw string)) {
	t.Helper()
	began := time.Now()
	err := cluster.Poll(context.Background(), judgeAttrCache, 500*time.Millisecond, func() (bool, string, error) {
		ok, saw := check()
		return ok, saw, nil
	})
	if err != nil {
		t.Errorf("%s: %v", what, err)
	} else if d := time.Since(began); d > time.Second {
		t.Logf("%s only after %s (the server's attribute cache)", what, d.Round(100*time.Millisecond))
	}
}

// filesOf lists the names in the exported directories that contain one of ids, by share.
func (s nfsSetup) filesOf(t *testing.T, ids []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for i, share := range s.env.Shares[:2] {
		entries, err := os.ReadDir(s.env.Dirs[i])
		if err != nil {
			t.Fatalf("exported directory of %s: %v", share, err)
		}
		for _, e := range entries {
			if slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(e.Name(), id) }) {
				out[share] = append(out[share], e.Name())
			}
		}
	}
	return out
}

// readInfo reads Cinder's volume-<id>.info in dir.
func readInfo(t *testing.T, dir, volumeID string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "volume-"+volumeID+".info"))
	if err != nil {
		t.Fatalf("the .info of volume %s: %v", volumeID, err)
	}
	var info map[string]string
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("the .info of volume %s is not Cinder's JSON: %v: %s", volumeID, err, b)
	}
	return info
}

// nfsPools runs `cinder get-pools --detail` and returns the pools by name.
func nfsPools(t *testing.T, s nfsSetup) (map[string]map[string]string, string) {
	t.Helper()
	out := s.cli.must("get-pools", "--detail")
	pools := map[string]map[string]string{}
	for _, props := range parsePropertyTables(out) {
		pools[props["name"]] = props
	}
	return pools, out
}

// TestNFSCinderCLI is issue 15's end-to-end test: the real cinder CLI against a cluster whose
// volume process serves an [nfs] section of Cinder's NfsDriver with two shares of the real
// NFS server (nfs-ganesha, deploy/nfs/nfs-up.sh), the server judging every step over NFSv3 and
// qemu's nfs:// driver. The mount is the bind-mount TEST STAND-IN (no kernel NFS client here).
// The last step stops the server under the running service (and always starts it again).
func TestNFSCinderCLI(t *testing.T) {
	s := requireNFSCluster(t)
	nfsCleanup(t, s, s.c.Client())
	cli := s.cli
	ctx := ctxT(t, 10*time.Minute)
	var vols []string              // volume ids, in creation order
	shareOf := map[string]string{} // volume id → share
	pattern := bytes.Repeat([]byte("scoria-nfs-e2e!"), 4096/15+1)[:4096]
	const patternAt = 1 << 20
	var snap, fromSnap, clone string

	t.Run("create spreads over the shares", func(t *testing.T) { // one at a time: each placement sees the last
		for i := range 4 {
			id := nfsCreate(t, s, fmt.Sprintf("nfs-v%d", i), "1")
			shown := waitNFSVolume(t, s, id, "available")
			vols = append(vols, id)
			host := shown["os-vol-host-attr:host"]
			share := shareOfHost(host)
			if !slices.Contains(s.env.Shares[:2], share) || host != s.pool(share) {
				t.Fatalf("volume %s on %q, want node1@nfs#<one of %v>", id, host, s.env.Shares[:2])
			}
			shareOf[id] = share
			if fi, err := os.Stat(filepath.Join(s.dirOf(t, share), "volume-"+id)); err != nil || fi.Size() != gib {
				t.Errorf("volume %s: file in the exported directory of %s: %v (size %v)", id, share, err, fi)
			}
			size, used, err := judgeFile(t, share, "volume-"+id)
			if err != nil || size != gib || used > 1<<20 {
				t.Errorf("the server says of %s: size %d used %d (%v); want a sparse 1 GiB file", nfsjudge.URL(share, "volume-"+id), size, used, err)
			}
		}
		seen := map[string]int{}
		for _, sh := range shareOf {
			seen[sh]++
		}
		if seen[s.env.Shares[0]] != 2 || seen[s.env.Shares[1]] != 2 {
			t.Errorf("the scheduler (VolumeNumberWeigher) placed the 4 volumes %v, want 2 on each share", seen)
		}
	})
	if len(vols) < 4 {
		t.Fatal("no volumes to go on with")
	}

	t.Run("list", func(t *testing.T) {
		rows := map[string]map[string]string{}
		for _, rec := range parseTable(cli.must("list")) {
			rows[rec["ID"]] = rec
		}
		for i, id := range vols {
			rec, ok := rows[id]
			if !ok {
				t.Errorf("cinder list does not show %s", id)
				continue
			}
			if rec["Status"] != "available" || rec["Size"] != "1" || rec["Name"] != fmt.Sprintf("nfs-v%d", i) ||
				rec["Volume Type"] != nfsBackendName {
				t.Errorf("cinder list row of %s: %v", id, rec)
			}
		}
	})

	v0 := vols[0]
	t.Run("extend", func(t *testing.T) {
		cli.must("extend", v0, "2")
		shown := waitNFSVolume(t, s, v0, "available")
		if shown["size"] != "2" {
			t.Errorf("cinder show after extend: size %q, want 2", shown["size"])
		}
		judgeEventually(t, "qemu-img info over nfs:// after extend shows raw 2 GiB", func() (bool, string) {
			format, vsize, backing, err := nfsjudge.QemuImgInfo(ctx, nfsjudge.URL(shareOf[v0], "volume-"+v0))
			return err == nil && format == "raw" && vsize == 2*gib && backing == "",
				fmt.Sprintf("format %q size %d backing %q (%v)", format, vsize, backing, err)
		})
	})

	t.Run("snapshot", func(t *testing.T) {
		url := nfsjudge.URL(shareOf[v0], "volume-"+v0)
		if err := nfsjudge.QemuIOWrite(ctx, url, "raw", pattern, patternAt); err != nil {
			t.Fatalf("write the pattern through qemu's nfs:// driver: %v", err)
		}
		snap = parseProperties(cli.must("snapshot-create", "--name", "nfs-snap", v0))["id"]
		if !uuidRE.MatchString(snap) {
			t.Fatal("cinder snapshot-create printed no id")
		}
		if props := cliWaitStatus(t, cli, "snapshot-show", snap, "available"); props["size"] != "2" {
			t.Errorf("snapshot-show: %v", props)
		}
		dir := s.dirOf(t, shareOf[v0])
		overlay := "volume-" + v0 + "." + snap
		info := readInfo(t, dir, v0)
		if info["active"] != overlay || info[snap] != overlay {
			t.Errorf("volume-%s.info = %v, want active and %s both %s", v0, info, snap, overlay)
		}
		format, vsize, backing, err := nfsjudge.QemuImgInfo(ctx, nfsjudge.URL(shareOf[v0], overlay))
		if err != nil || format != "qcow2" || vsize != 2*gib || backing != "volume-"+v0 {
			t.Errorf("qemu-img info over nfs:// of the overlay: format %q size %d backing %q (%v), want qcow2 2 GiB on the relative volume-%s",
				format, vsize, backing, err, v0)
		}
		if _, _, err := judgeFile(t, shareOf[v0], "volume-"+v0+".info"); err != nil {
			t.Errorf("the server does not show the .info file: %v", err)
		}
	})

	t.Run("create from snapshot and clone", func(t *testing.T) {
		if snap == "" {
			t.Skip("no snapshot")
		}
		fromSnap = nfsCreate(t, s, "nfs-from-snap", "--snapshot-id", snap, "2")
		clone = nfsCreate(t, s, "nfs-clone", "--source-volid", v0, "2")
		for _, id := range []string{fromSnap, clone} {
			shown := waitNFSVolume(t, s, id, "available")
			share := shareOfHost(shown["os-vol-host-attr:host"])
			shareOf[id] = share
			url := nfsjudge.URL(share, "volume-"+id)
			format, vsize, _, err := nfsjudge.QemuImgInfo(ctx, url)
			if err != nil || vsize != 2*gib {
				t.Errorf("qemu-img info %s: format %q size %d (%v), want 2 GiB", url, format, vsize, err)
				continue
			}
			got, err := nfsjudge.QemuIORead(ctx, url, format, patternAt, int64(len(pattern)))
			if err != nil || !bytes.Equal(got, pattern) {
				t.Errorf("volume %s (%s) read over nfs:// at %d: %q… (%v), want the pattern written before the snapshot", id, shown["name"], patternAt, got[:min(len(got), 32)], err)
			}
		}
	})

	t.Run("attachment with nfs connection info", func(t *testing.T) {
		const server = "11111111-2222-3333-4444-555555555555"
		for _, tc := range []struct{ id, name, format string }{
			{vols[1], "volume-" + vols[1], "raw"},
			{v0, "volume-" + v0 + "." + snap, "qcow2"}, // the active file of a volume with a snapshot
		} {
			if snap == "" && tc.id == v0 {
				continue
			}
			att := parseProperties(cli.must("attachment-create", "--connect", "True", "--initiator", "iqn.1993-08.org.debian:01:e2e",
				"--ip", "127.0.0.1", "--host", "compute-1", "--platform", "x86_64", "--ostype", "linux", "--mode", "rw", tc.id, server))
			want := map[string]string{"driver_volume_type": "nfs", "export": shareOf[tc.id], "name": tc.name, "format": tc.format,
				"options": "None", "volume_id": tc.id, "access_mode": "rw", "status": "attaching"}
			for k, v := range want {
				if att[k] != v {
					t.Errorf("attachment-create --connect of %s: %s = %q, want %q (all: %v)", tc.id, k, att[k], v, att)
				}
			}
			cli.must("attachment-delete", att["id"])
			waitNFSVolume(t, s, tc.id, "available")
		}
	})

	t.Run("get-pools agrees with FSSTAT", func(t *testing.T) {
		pools, out := nfsPools(t, s)
		for _, share := range s.env.Shares[:2] {
			p, ok := pools[s.pool(share)]
			if !ok {
				t.Errorf("cinder get-pools --detail has no pool %s:\n%s", s.pool(share), out)
				continue
			}
			if p["backend_state"] != "up" || p["storage_protocol"] != "nfs" || p["volume_backend_name"] != nfsBackendName {
				t.Errorf("pool %s: backend_state %q storage_protocol %q volume_backend_name %q", share, p["backend_state"], p["storage_protocol"], p["volume_backend_name"])
			}
			host, export := nfsjudge.Split(share)
			st, err := nfsjudge.FSStat(ctx, host, export)
			if err != nil {
				t.Fatalf("FSSTAT %s: %v", share, err)
			}
			total, err1 := strconv.ParseFloat(p["total_capacity_gb"], 64)
			free, err2 := strconv.ParseFloat(p["free_capacity_gb"], 64)
			if err1 != nil || err2 != nil {
				t.Errorf("pool %s: total %q free %q are not numbers", share, p["total_capacity_gb"], p["free_capacity_gb"])
				continue
			}
			g := float64(gib)
			t.Logf("pool %s: total_capacity_gb %.2f free_capacity_gb %.2f; FSSTAT tbytes %.3f abytes %.3f fbytes %.3f GiB",
				share, total, free, float64(st.TotalBytes)/g, float64(st.AvailBytes)/g, float64(st.FreeBytes)/g)
			if d := math.Abs(total - float64(st.TotalBytes)/g); d > 0.011 {
				t.Errorf("pool %s: total_capacity_gb %.2f, FSSTAT tbytes %.2f GiB", share, total, float64(st.TotalBytes)/g)
			}
			// The file system is shared with the rest of the machine and the report is up to a
			// periodic interval old: the free space agrees within 1 GiB.
			if d := math.Abs(free - float64(st.AvailBytes)/g); d > 1 {
				t.Errorf("pool %s: free_capacity_gb %.2f, FSSTAT abytes %.2f GiB", share, free, float64(st.AvailBytes)/g)
			}
		}
	})

	t.Run("snapshot-delete and delete leave nothing on the exports", func(t *testing.T) {
		all := append(slices.Clone(vols), fromSnap, clone, snap)
		all = slices.DeleteFunc(all, func(id string) bool { return id == "" })
		if snap != "" {
			cli.must("snapshot-delete", snap)
			cliWaitStatus(t, cli, "snapshot-show", snap, "gone")
			dir := s.dirOf(t, shareOf[v0])
			if _, err := os.Stat(filepath.Join(dir, "volume-"+v0+"."+snap)); !os.IsNotExist(err) {
				t.Errorf("the overlay of deleted snapshot %s is still there (%v)", snap, err)
			}
			if info := readInfo(t, dir, v0); info["active"] != "volume-"+v0 || len(info) != 1 {
				t.Errorf("volume-%s.info after the snapshot's delete: %v, want only active = volume-%s", v0, info, v0)
			}
			got, err := nfsjudge.QemuIORead(ctx, nfsjudge.URL(shareOf[v0], "volume-"+v0), "raw", patternAt, int64(len(pattern)))
			if err != nil || !bytes.Equal(got, pattern) {
				t.Errorf("volume %s after its snapshot was merged: pattern not read back over nfs:// (%v)", v0, err)
			}
		}
		for _, id := range all {
			if id == snap {
				continue
			}
			cli.must("delete", id)
		}
		for _, id := range all {
			if id != snap {
				cliWaitStatus(t, cli, "show", id, "gone")
			}
		}
		if left := s.filesOf(t, all); len(left) > 0 {
			t.Errorf("files left on the exports after the deletes: %v", left)
		}
		for _, id := range vols {
			judgeEventually(t, "the server no longer shows volume-"+id, func() (bool, string) {
				size, _, err := judgeFile(t, shareOf[id], "volume-"+id)
				return err != nil, fmt.Sprintf("%s: size %d", nfsjudge.URL(shareOf[id], "volume-"+id), size)
			})
		}
	})

	t.Run("server stopped under the running service", func(t *testing.T) {
		nfsServerDownUp(t, s)
	})
}

// nfsScript runs deploy/nfs/<name> from the repository root.
func nfsScript(name string) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy", "nfs", name))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("deploy/nfs/%s: %w: %s", name, err, out)
	}
	return nil
}

// nfsServerDownUp stops the real NFS server under the running volume service: both pools must
// be reported down with the reason within a bounded wait, a create must end in error (nothing
// left creating), and once the server is up again the pools come back by themselves and a
// create succeeds. The server is always started again.
func nfsServerDownUp(t *testing.T, s nfsSetup) {
	t.Cleanup(func() {
		if err := nfsScript("nfs-up.sh"); err != nil {
			t.Errorf("start the NFS server again: %v", err)
		}
	})
	if err := nfsScript("nfs-down.sh"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	waitPools := func(state string) {
		t.Helper()
		err := cluster.Poll(context.Background(), 60*time.Second, time.Second, func() (bool, string, error) {
			if err := s.c.CheckProcesses(); err != nil {
				return false, "", err
			}
			pools, out := nfsPools(t, s)
			for _, share := range s.env.Shares[:2] {
				p := pools[s.pool(share)]
				if p["backend_state"] != state {
					return false, out, nil
				}
				if state == "down" && !strings.Contains(p["backend_state_reason"], share) {
					return false, out, nil
				}
			}
			return true, "", nil
		})
		if err != nil {
			t.Fatalf("pools never %s: %v", state, err)
		}
		pools, _ := nfsPools(t, s)
		t.Logf("pools %s after %s: %s: %s", state, time.Since(began).Round(time.Millisecond),
			s.pool(s.env.Shares[0]), pools[s.pool(s.env.Shares[0])]["backend_state_reason"])
	}
	waitPools("down")

	id := nfsCreate(t, s, "nfs-while-down", "1")
	shown := waitNFSVolume(t, s, id, "error")
	t.Logf("a create while the server is down: status %s host %q", shown["status"], shown["os-vol-host-attr:host"])
	for _, rec := range parseTable(s.cli.must("list")) {
		if rec["Status"] == "creating" {
			t.Errorf("volume %s is still creating with the server down", rec["ID"])
		}
	}
	s.cli.must("delete", id)
	cliWaitStatus(t, s.cli, "show", id, "gone")

	if err := nfsScript("nfs-up.sh"); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	waitPools("up")
	id = nfsCreate(t, s, "nfs-after-up", "1")
	shown = waitNFSVolume(t, s, id, "available")
	share := shareOfHost(shown["os-vol-host-attr:host"])
	if size, _, err := judgeFile(t, share, "volume-"+id); err != nil || size != gib {
		t.Errorf("after the server came back, the server shows volume-%s on %s with size %d (%v)", id, share, size, err)
	}
	s.cli.must("delete", id)
	cliWaitStatus(t, s.cli, "show", id, "gone")
	if left := s.filesOf(t, []string{id}); len(left) > 0 {
		t.Errorf("files left: %v", left)
	}
}
