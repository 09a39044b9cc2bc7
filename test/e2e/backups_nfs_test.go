package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/nfsjudge"
	"github.com/scoria/scoria/test/cluster"
)

// TestBackupsNFS runs scoria-backup with Cinder's NFS backup driver (backup_driver =
// cinder.backup.drivers.nfs.NFSBackupDriver, backup_share on the real test NFS server,
// nfs-ganesha of deploy/nfs) reached through the bind-mount TEST STAND-IN
// (scoria_test_nfs_exports in [DEFAULT]; this machine has no kernel NFS client), in a private
// mount namespace. A full and an incremental backup of a local-file volume are written to the
// share (the server, asked over NFSv3, shows the objects), restored to new volumes and
// compared with cmp, then deleted, leaving nothing of theirs in the export.
func TestBackupsNFS(t *testing.T) {
	requireServers(t)
	env := nfsjudge.Require(t)
	if os.Geteuid() != 0 {
		unavailable(t, "the NFS backup driver's TEST STAND-IN mount (mount --bind in a private mount namespace) needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		unavailable(t, "unshare (util-linux) is not installed: it gives the backup process its private mount namespace")
	}
	share, dir := env.Shares[0], env.Dirs[0]
	c := startCluster(t, cluster.Options{Backups: []cluster.BackupSpec{{Host: "node1", Wrap: cluster.PrivateMountNamespace,
		Extra: map[string]string{
			"backup_driver":           "cinder.backup.drivers.nfs.NFSBackupDriver",
			"backup_share":            share,
			"backup_mount_point_base": "$state_path/backup_mount",
			"scoria_test_nfs_exports": strings.Join(env.SubstituteExports(), ","),
		}}}})
	cli := attachCLI(t, c, backupCLIVersion)
	vid := parseProperties(cli.must("create", "--name", "nfs-bk", "1"))["id"]
	waitVolume(t, cli, vid, "available")
	vfile := localVolumeFile(c, vid)
	writeAt(t, vfile, 8<<20, pattern(51, 2<<20))
	ref0 := keepCopy(t, vfile, "ref0")
	b0 := backupCreate(t, cli, "--name", "nfs-full", vid)
	waitBackup(t, cli, b0, "available")
	waitVolume(t, cli, vid, "available")
	writeAt(t, vfile, 900<<20, pattern(52, 128<<10))
	ref1 := keepCopy(t, vfile, "ref1")
	b1 := backupCreate(t, cli, "--incremental", "--name", "nfs-incr", vid)
	waitBackup(t, cli, b1, "available")
	waitVolume(t, cli, vid, "available")
	t.Cleanup(func() { // whatever happened, leave nothing of these backups on the shared export
		for _, f := range filesUnder(t, dir, b0, b1) {
			_ = os.Remove(filepath.Join(dir, f))
		}
	})

	for _, id := range []string{b0, b1} {
		files := filesUnder(t, dir, id)
		if len(files) < 2 {
			t.Errorf("the export %s holds %v for backup %s; want its objects and its metadata", dir, files, id)
			continue
		}
		judgeEventually(t, "the NFS server shows "+files[0], func() (bool, string) {
			size, _, err := judgeFile(t, share, files[0])
			return err == nil && size > 0, fmt.Sprintf("%s: size %d (%v)", nfsjudge.URL(share, files[0]), size, err)
		})
	}
	for _, tc := range []struct{ id, ref string }{{b0, ref0}, {b1, ref1}} {
		r := backupRestore(t, cli, tc.id)
		waitVolume(t, cli, r["volume_id"], "available")
		cmpFiles(t, "backup "+tc.id+" on NFS restored", tc.ref, localVolumeFile(c, r["volume_id"]))
		cli.must("delete", r["volume_id"])
	}
	for _, id := range []string{b1, b0} {
		cli.must("backup-delete", id)
		waitBackup(t, cli, id, "gone")
	}
	if left := filesUnder(t, dir, b0, b1); len(left) > 0 {
		t.Errorf("objects left on the export after the deletes: %v", left)
	}
	cli.must("delete", vid)
}
