package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// slowBackupData is how much incompressible data the crash tests put into their volume: with
// backup_compression_algorithm = bz2 (a slow store, some MB/s on this machine) a backup or a
// restore of it takes many seconds, so the kill lands while it runs.
const slowBackupData = 256 << 20

// TestBackupServiceKilledMidBackup kills -9 scoria-backup (its own process on the split
// services) while it reads a volume into a backup; after its restart the backup is error, the
// volume available again, and deleting the failed backup leaves no object of it in
// backup_posix_path (Cinder's _cleanup_incomplete_backup_operations, then the delete).
func TestBackupServiceKilledMidBackup(t *testing.T) {
	c, cli := backupCluster(t, map[string]string{"backup_compression_algorithm": "bz2"})
	vid := parseProperties(cli.must("create", "--name", "crash-bk", "1"))["id"]
	waitVolume(t, cli, vid, "available")
	writeAt(t, localVolumeFile(c, vid), 0, pattern(31, slowBackupData))

	bid := backupCreate(t, cli, "--name", "killed", vid)
	waitBackupRunning(t, c, cli, bid, vid, "backing-up")
	if err := c.Kill(cluster.BackupProcess("node1")); err != nil {
		t.Fatal(err)
	}
	if s := parseProperties(cli.must("backup-show", bid))["status"]; s != "creating" {
		t.Fatalf("backup %s was %q at the kill; the kill did not land mid-backup (raise slowBackupData)", bid, s)
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Restart(cluster.BackupProcess("node1")); err != nil {
		t.Fatal(err)
	}
	waitBackup(t, cli, bid, "error")
	waitVolume(t, cli, vid, "available")
	noTransitional(t, cli)

	cli.must("backup-delete", bid)
	waitBackup(t, cli, bid, "gone")
	if left := filesUnder(t, c.BackupPosixPath(), bid); len(left) > 0 {
		t.Errorf("objects of the killed backup %s left after its delete: %v", bid, left)
	}
	// The service works after the recovery: a backup of the same volume completes.
	again := backupCreate(t, cli, "--name", "after-kill", vid)
	waitBackup(t, cli, again, "available")
	waitVolume(t, cli, vid, "available")
}

// TestBackupServiceKilledMidRestore kills -9 scoria-backup while it writes a backup over a
// volume; after its restart the volume is error_restoring (Cinder's status for a restore that
// did not finish) and the backup available, nothing stays restoring; a reset of the volume
// and a new restore give back the backup's bytes.
func TestBackupServiceKilledMidRestore(t *testing.T) {
	c, cli := backupCluster(t, map[string]string{"backup_compression_algorithm": "bz2"})
	vid := parseProperties(cli.must("create", "--name", "crash-rs", "1"))["id"]
	waitVolume(t, cli, vid, "available")
	vfile := localVolumeFile(c, vid)
	writeAt(t, vfile, 0, pattern(41, slowBackupData))
	ref := keepCopy(t, vfile, "ref")
	bid := backupCreate(t, cli, "--name", "to-restore", vid)
	waitBackup(t, cli, bid, "available")
	waitVolume(t, cli, vid, "available")
	writeAt(t, vfile, 0, pattern(42, 1<<20))

	backupRestore(t, cli, "--volume", vid, bid)
	waitBackupRunning(t, c, cli, bid, vid, "restoring-backup")
	if err := c.Kill(cluster.BackupProcess("node1")); err != nil {
		t.Fatal(err)
	}
	if s := parseProperties(cli.must("show", vid))["status"]; s != "restoring-backup" {
		t.Fatalf("volume %s was %q at the kill; the kill did not land mid-restore (raise slowBackupData)", vid, s)
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Restart(cluster.BackupProcess("node1")); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, vid, "error_restoring")
	waitBackup(t, cli, bid, "available")
	noTransitional(t, cli)

	cli.must("reset-state", "--state", "available", vid)
	waitVolume(t, cli, vid, "available")
	backupRestore(t, cli, "--volume", vid, bid)
	waitVolume(t, cli, vid, "available")
	waitBackup(t, cli, bid, "available")
	cmpFiles(t, "restore after the killed one", ref, vfile)
}

// waitBackupRunning waits until the backup service works on backup bid: the volume is in
// volStatus and the backup service's log names the backup; then a moment more, so that the
// data is flowing.
func waitBackupRunning(t *testing.T, c *cluster.Cluster, cli cinderCLI, bid, vid, volStatus string) {
	t.Helper()
	err := cluster.Poll(ctxT(t, time.Minute), time.Minute, 100*time.Millisecond, func() (bool, string, error) {
		v := parseProperties(cli.must("show", vid))
		inLog := false
		for _, line := range c.Grep(bid) {
			inLog = inLog || strings.HasPrefix(line, cluster.BackupProcess("node1")+":")
		}
		return v["status"] == volStatus && inLog, "volume " + v["status"], nil
	})
	if err != nil {
		t.Fatalf("the backup service never started on %s: %v", bid, err)
	}
	time.Sleep(time.Second)
}

// noTransitional fails t when a backup or a volume is left in a transitional status.
func noTransitional(t *testing.T, cli cinderCLI) {
	t.Helper()
	for _, rec := range parseTable(cli.must("backup-list")) {
		switch rec["Status"] {
		case "creating", "restoring", "deleting":
			t.Errorf("backup %s left %s", rec["ID"], rec["Status"])
		}
	}
	for _, rec := range parseTable(cli.must("list")) {
		switch rec["Status"] {
		case "backing-up", "restoring-backup", "creating", "deleting":
			t.Errorf("volume %s left %s", rec["ID"], rec["Status"])
		}
	}
}
