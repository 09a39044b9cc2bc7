package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// Snapshots through the real cinder CLI. TestSnapshotsCLI checks what the API does (the
// statuses it sets, its refusals); TestSnapshotsCLILifecycle needs the volume service's
// snapshot handlers to finish what the API starts.

// cliWaitStatus polls `cinder <show> id` until its status is want; gone waits for
// "not found" instead.
func cliWaitStatus(t *testing.T, cli cinderCLI, show, id, want string) map[string]string {
	t.Helper()
	var props map[string]string
	err := cluster.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run(show, id)
		if err != nil {
			if want == "gone" && strings.Contains(err.Error(), "No ") {
				return true, "", nil
			}
			return false, "", err
		}
		props = parseProperties(out)
		if props["status"] == want {
			return true, "", nil
		}
		return false, "status " + props["status"], nil
	})
	if err != nil {
		t.Fatalf("cinder %s %s, waiting for %s: %v", show, id, want, err)
	}
	return props
}

// cliRefused runs a command that must fail with an answer containing part.
func cliRefused(t *testing.T, cli cinderCLI, part string, args ...string) {
	t.Helper()
	_, err := cli.run(args...)
	if err == nil {
		t.Fatalf("cinder %s succeeded, want a refusal containing %q", strings.Join(args, " "), part)
	}
	if !strings.Contains(err.Error(), part) {
		t.Errorf("cinder %s: %v\nwant a refusal containing %q", strings.Join(args, " "), err, part)
	}
}

// snapshotsCLI starts a cluster and returns a CLI that negotiates its microversion.
func snapshotsCLI(t *testing.T) (*cluster.Cluster, cinderCLI) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, cluster.Options{})
	return c, cinderCLI{t: t, path: path, endpoint: c.Endpoint(), home: t.TempDir()}
}

// cliVolume creates an available volume named name and returns its id.
func cliVolume(t *testing.T, cli cinderCLI, name string) string {
	t.Helper()
	id := parseProperties(cli.must("create", "--name", name, "1"))["id"]
	if !uuidRE.MatchString(id) {
		t.Fatalf("cinder create printed no id")
	}
	cliWaitStatus(t, cli, "show", id, "available")
	return id
}

func TestSnapshotsCLI(t *testing.T) {
	_, cli := snapshotsCLI(t)
	vol := cliVolume(t, cli, "snapvol")

	created := parseProperties(cli.must("snapshot-create", "--name", "s1", "--metadata", "k1=v1", "--", vol))
	snap := created["id"]
	if !uuidRE.MatchString(snap) || created["status"] != "creating" || created["volume_id"] != vol || created["size"] != "1" {
		t.Fatalf("cinder snapshot-create printed %v", created)
	}

	shown := parseProperties(cli.must("snapshot-show", snap))
	if shown["name"] != "s1" || shown["os-extended-snapshot-attributes:project_id"] != "demo" || !strings.Contains(shown["metadata"], "k1") {
		t.Errorf("cinder snapshot-show printed %v", shown)
	}
	found := false
	for _, rec := range parseTable(cli.must("snapshot-list", "--volume-id", vol)) {
		if rec["ID"] == snap {
			found = rec["Name"] == "s1" && rec["Volume ID"] == vol
		}
	}
	if !found {
		t.Errorf("cinder snapshot-list --volume-id does not list %s as s1", snap)
	}
	if rows := parseTable(cli.must("snapshot-list", "--name", "no-such-name")); len(rows) != 0 {
		t.Errorf("cinder snapshot-list --name no-such-name lists %v", rows)
	}

	cli.must("snapshot-rename", snap, "s2", "--description", "renamed")
	if got := parseProperties(cli.must("snapshot-show", "s2")); got["id"] != snap || got["description"] != "renamed" {
		t.Errorf("after snapshot-rename: %v", got)
	}
	cli.must("snapshot-metadata", snap, "set", "k2=v2")
	cli.must("snapshot-metadata", snap, "unset", "k1")
	if md := parseProperties(cli.must("snapshot-show", snap))["metadata"]; strings.Contains(md, "k1") || !strings.Contains(md, "k2") {
		t.Errorf("metadata after set k2, unset k1: %s", md)
	}

	// The API refuses what the snapshot's state forbids: hold it in creating, as a slow backend would.
	cli.must("snapshot-reset-state", "--state", "creating", snap)
	cliRefused(t, cli, "Snapshot status must be available or error", "snapshot-delete", snap)
	cliRefused(t, cli, "have snapshots", "delete", vol)
	cliRefused(t, cli, "have snapshots", "delete", "--cascade", vol) // a creating snapshot blocks a cascade

	cli.must("snapshot-reset-state", "--state", "available", snap)
	cliWaitStatus(t, cli, "snapshot-show", snap, "available")
	cliRefused(t, cli, "have snapshots", "delete", vol)

	// A second snapshot: the first is no longer the latest, so it cannot be reverted to.
	second := parseProperties(cli.must("snapshot-create", "--name", "s3", vol))["id"]
	cliWaitStatus(t, cli, "snapshot-show", second, "available")
	cliRefused(t, cli, "not the latest one", "revert-to-snapshot", snap)

	// The latest snapshot in error: a revert to it conflicts with its state; a delete removes it.
	cli.must("snapshot-reset-state", "--state", "error", second)
	cliRefused(t, cli, "Snapshot's status must be 'available'", "revert-to-snapshot", second)
	cli.must("snapshot-delete", second)
	err := cluster.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run("snapshot-show", second)
		return err != nil && strings.Contains(err.Error(), "No snapshot with a name or ID"), out, nil
	})
	if err != nil {
		t.Errorf("snapshot %s after snapshot-delete: %v", second, err)
	}
}

func TestSnapshotsCLILifecycle(t *testing.T) {
	_, cli := snapshotsCLI(t)
	vol := cliVolume(t, cli, "lifevol")
	snap := parseProperties(cli.must("snapshot-create", "--name", "l1", vol))["id"]
	cliWaitStatus(t, cli, "snapshot-show", snap, "available")
	if p := parseProperties(cli.must("snapshot-show", snap))["os-extended-snapshot-attributes:progress"]; p != "100%" {
		t.Errorf("progress of an available snapshot: %q", p)
	}

	cli.must("revert-to-snapshot", snap)
	cliWaitStatus(t, cli, "show", vol, "available")
	cliWaitStatus(t, cli, "snapshot-show", snap, "available")

	cli.must("snapshot-delete", snap)
	cliWaitStatus(t, cli, "snapshot-show", snap, "gone")

	for i := range 2 {
		s := parseProperties(cli.must("snapshot-create", "--name", fmt.Sprint("c", i), vol))["id"]
		cliWaitStatus(t, cli, "snapshot-show", s, "available")
	}
	cli.must("delete", "--cascade", vol)
	cliWaitStatus(t, cli, "show", vol, "gone")
	if rows := parseTable(cli.must("snapshot-list", "--volume-id", vol)); len(rows) != 0 {
		t.Errorf("snapshots left after delete --cascade: %v", rows)
	}
}
