//go:build ceph

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// rbdQemuWrite writes len(data) bytes of one value at off into pool/image through qemu's rbd
// driver (qemu-io), as a guest writes its RBD disk.
func rbdQemuWrite(t *testing.T, ceph rbdTestCluster, image string, off, n int64, value byte) {
	t.Helper()
	target := fmt.Sprintf("rbd:%s/%s:conf=%s:id=%s:keyring=%s", ceph.pool, image, ceph.conf, ceph.user, ceph.keyring)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "qemu-io", "-f", "raw", "-c", fmt.Sprintf("write -P 0x%02x %d %d", value, off, n), target).CombinedOutput()
	if err != nil || strings.Contains(string(out), "error") {
		t.Fatalf("qemu-io write into %s: %v: %s", image, err, out)
	}
}

// rbdExport exports pool/image (or image@snap) to a file of t's and returns its path.
func rbdExport(t *testing.T, ceph rbdTestCluster, image, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if out, err := ceph.rbd("export", image, dst); err != nil {
		t.Fatalf("rbd export %s/%s: %v: %s", ceph.pool, image, err, out)
	}
	return dst
}

// rbdSnaps lists the snapshot names of image.
func rbdSnaps(t *testing.T, ceph rbdTestCluster, image string) []string {
	t.Helper()
	out, err := ceph.rbd("snap", "ls", "--format", "json", image)
	if err != nil {
		t.Fatalf("rbd snap ls %s/%s: %v", ceph.pool, image, err)
	}
	var snaps []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(out, &snaps); err != nil {
		t.Fatalf("rbd snap ls: %v: %s", err, out)
	}
	names := make([]string, len(snaps))
	for i, s := range snaps {
		names[i] = s.Name
	}
	return names
}

// TestBackupsCeph backs an RBD volume up with Cinder's Ceph backup driver into the backups
// pool of the single-node test cluster: the full backup is an image of the backups pool
// (volume-<volume>.backup.<backup>, Cinder's name) with a snapshot backup.<backup>.snap.*; an
// incremental after a 64 KiB write adds a snapshot whose `rbd diff` from the first moves only
// the changed extents (a few MiB at most, not the volume); each backup restored to a new RBD
// volume equals (`rbd export` + cmp) the volume when it was taken; the deletes remove the
// backup image.
func TestBackupsCeph(t *testing.T) {
	ceph := requireCeph(t)
	requireServers(t)
	for _, tool := range []string{"qemu-io", "cmp"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, "%s is not installed", tool)
		}
	}
	backupPool := os.Getenv("SCORIA_TEST_CEPH_BACKUP_POOL")
	if backupPool == "" {
		backupPool = "backups"
	}
	bceph := ceph
	bceph.pool = backupPool
	if _, err := bceph.rbd("ls"); err != nil {
		unavailable(t, "the backup pool %s of the Ceph test cluster cannot be listed: %v", backupPool, err)
	}
	c := startCluster(t, cluster.Options{
		Volumes: []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{Name: "ceph", Options: map[string]string{
			"volume_driver":       "cinder.volume.drivers.rbd.RBDDriver",
			"volume_backend_name": "ceph",
			"rbd_pool":            ceph.pool,
			"rbd_ceph_conf":       ceph.conf,
			"rbd_user":            ceph.user,
			"rbd_keyring_conf":    ceph.keyring,
			"rbd_secret_uuid":     "457eb676-33da-42ec-9a8c-9293d545c337",
		}}}}},
		Backups: []cluster.BackupSpec{{Host: "node1", Extra: map[string]string{
			"backup_driver":    "cinder.backup.drivers.ceph.CephBackupDriver",
			"backup_ceph_conf": ceph.conf,
			"backup_ceph_user": ceph.user,
			"backup_ceph_pool": backupPool,
		}}},
	})
	cli := attachCLI(t, c, backupCLIVersion)
	vid := parseProperties(cli.must("create", "--name", "rbd-bk", "1"))["id"]
	waitVolume(t, cli, vid, "available")
	image := "volume-" + vid
	rbdQemuWrite(t, ceph, image, 16<<20, 4<<20, 0x11)
	ref0 := rbdExport(t, ceph, image, "ref0")

	b0 := backupCreate(t, cli, "--name", "rbd-full", vid)
	waitBackup(t, cli, b0, "available")
	waitVolume(t, cli, vid, "available")
	base := fmt.Sprintf("volume-%s.backup.%s", vid, b0)
	if out, err := bceph.rbd("ls"); err != nil || !strings.Contains(string(out), base) {
		t.Fatalf("rbd ls %s: %s (%v); want the backup image %s", backupPool, out, err, base)
	}
	snap0 := ""
	for _, s := range rbdSnaps(t, bceph, base) {
		if strings.HasPrefix(s, "backup."+b0+".snap.") {
			snap0 = s
		}
	}
	if snap0 == "" {
		t.Fatalf("rbd snap ls %s/%s: %v; want backup.%s.snap.*", backupPool, base, rbdSnaps(t, bceph, base), b0)
	}

	rbdQemuWrite(t, ceph, image, 600<<20, 64<<10, 0x22)
	ref1 := rbdExport(t, ceph, image, "ref1")
	b1 := backupCreate(t, cli, "--incremental", "--name", "rbd-incr", vid)
	waitBackup(t, cli, b1, "available")
	waitVolume(t, cli, vid, "available")
	snap1 := ""
	for _, s := range rbdSnaps(t, bceph, base) {
		if strings.HasPrefix(s, "backup."+b1+".snap.") {
			snap1 = s
		}
	}
	if snap1 == "" {
		t.Fatalf("the incremental %s added no snapshot backup.%s.snap.* to %s: %v", b1, b1, base, rbdSnaps(t, bceph, base))
	}
	out, err := bceph.rbd("diff", "--format", "json", "--from-snap", snap0, base+"@"+snap1)
	if err != nil {
		t.Fatalf("rbd diff: %v", err)
	}
	var extents []struct {
		Offset, Length int64
	}
	if err := json.Unmarshal(out, &extents); err != nil {
		t.Fatalf("rbd diff: %v: %s", err, out)
	}
	var moved int64
	for _, e := range extents {
		moved += e.Length
	}
	t.Logf("the incremental after a 64 KiB write moved %d bytes in %d extents", moved, len(extents))
	if moved == 0 || moved > 8<<20 {
		t.Errorf("rbd diff of %s between the backups' snapshots: %d bytes; want the 64 KiB written (one or two 4 MiB objects at most)", base, moved)
	}

	for _, tc := range []struct{ id, ref string }{{b0, ref0}, {b1, ref1}} {
		r := backupRestore(t, cli, tc.id)
		waitVolume(t, cli, r["volume_id"], "available")
		got := rbdExport(t, ceph, "volume-"+r["volume_id"], "got-"+tc.id)
		cmpFiles(t, "RBD backup "+tc.id+" restored", tc.ref, got)
		cli.must("delete", r["volume_id"])
		cliWaitStatus(t, cli, "show", r["volume_id"], "gone")
	}
	for _, id := range []string{b1, b0} {
		cli.must("backup-delete", id)
		waitBackup(t, cli, id, "gone")
	}
	if out, _ := bceph.rbd("ls"); strings.Contains(string(out), vid) {
		t.Errorf("rbd ls %s after the backups' deletes still lists an image of %s: %s", backupPool, vid, out)
	}
	cli.must("delete", vid)
	cliWaitStatus(t, cli, "show", vid, "gone")
}
