package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/test/cluster"
)

// Group snapshots end to end: through the real cinder CLI (3.19) and openstack CLI, on the
// local-file backend (the generic path: one snapshot per member) and on RBD (one consistent
// rbd group snapshot, checked with the rbd CLI).

// cliGroup makes, with the cinder CLI, a group type asking for consistent group snapshots
// (group-type-create, group-type-key) and a group of it holding two new volumes (group-create,
// create --group-id), and waits for them; it returns the group and the two volumes.
func cliGroup(t *testing.T, cli cinderCLI) (group, a, b string) {
	t.Helper()
	gtype := "gs-type-" + uuid.NewString()[:6]
	cli.must("group-type-create", gtype)
	cli.must("group-type-key", gtype, "set", "consistent_group_snapshot_enabled=<is> True")
	group = parseProperties(cli.must("group-create", "--name", "gs-group", gtype, "__DEFAULT__"))["id"]
	if !uuidRE.MatchString(group) {
		t.Fatalf("cinder group-create printed no id")
	}
	waitGroup(t, cli, group, "available")
	member := func(name string) string {
		id := parseProperties(cli.must("create", "--group-id", group, "--name", name, "1"))["id"]
		if !uuidRE.MatchString(id) {
			t.Fatalf("cinder create --group-id printed no id")
		}
		cliWaitStatus(t, cli, "show", id, "available")
		return id
	}
	return group, member("gs-a"), member("gs-b")
}

// cephCheck is how the scenario looks at an RBD backend's pool: its name and the rbd CLI.
type cephCheck struct {
	pool string
	rbd  func(args ...string) ([]byte, error)
}

// groupSnapshotScenario runs the group snapshot life cycle on c's one backend with the real
// CLIs: a group of two volumes, a group snapshot of it (cinder group-snapshot-create and
// openstack volume group snapshot create), a group made from it (group-create-from-src
// --group-snapshot), reset-state and the deletes. ceph, when set, is the cluster an RBD
// backend uses.
func groupSnapshotScenario(t *testing.T, c *cluster.Cluster, cli cinderCLI, ceph *cephCheck) {
	group, a, b := cliGroup(t, cli)

	gs := parseProperties(cli.must("group-snapshot-create", "--name", "gs1", group))["id"]
	if !uuidRE.MatchString(gs) {
		t.Fatalf("group-snapshot-create printed no id")
	}
	shown := cliWaitStatus(t, cli, "group-snapshot-show", gs, "available")
	if shown["group_id"] != group || shown["name"] != "gs1" {
		t.Errorf("group-snapshot-show: %v", shown)
	}
	if out := cli.must("group-snapshot-list"); !strings.Contains(out, gs) {
		t.Errorf("group-snapshot-list has no %s:\n%s", gs, out)
	}
	if out := cli.must("group-snapshot-list", "--status", "available", "--group-id", group); !strings.Contains(out, gs) {
		t.Errorf("group-snapshot-list --status --group-id has no %s:\n%s", gs, out)
	}

	// Each member is an ordinary snapshot that names its group snapshot.
	var members []string
	for _, row := range parseTable(cli.must("snapshot-list")) {
		sid := row["ID"]
		if props := parseProperties(cli.must("snapshot-show", sid)); props["group_snapshot_id"] == gs {
			if props["status"] != "available" {
				t.Errorf("member %s in %s", sid, props["status"])
			}
			members = append(members, sid)
		}
	}
	if len(members) != 2 {
		t.Fatalf("%d member snapshots of %s, want 2", len(members), gs)
	}
	cliRefused(t, cli, "must not be part of a group", "snapshot-delete", members[0])

	// A volume from a member works as from any snapshot.
	from := parseProperties(cli.must("create", "--snapshot-id", members[0], "--name", "gs-from", "1"))["id"]
	cliWaitStatus(t, cli, "show", from, "available")

	// A group from the group snapshot: one volume made from each member snapshot.
	g2 := parseProperties(cli.must("group-create-from-src", "--group-snapshot", gs, "--name", "gs-clone"))["id"]
	if !uuidRE.MatchString(g2) {
		t.Fatalf("group-create-from-src --group-snapshot printed no id")
	}
	if shown := waitGroup(t, cli, g2, "available"); shown["group_snapshot_id"] != gs {
		t.Errorf("group from the group snapshot: group_snapshot_id %q, want %s", shown["group_snapshot_id"], gs)
	}
	clones := parseTable(cli.must("list", "--group_id", g2))
	if len(clones) != 2 {
		t.Errorf("members of the group from the group snapshot: %v, want 2", clones)
	}
	for _, row := range clones {
		if got := cliWaitStatus(t, cli, "show", row["ID"], "available")["snapshot_id"]; !slices.Contains(members, got) {
			t.Errorf("volume %s of the group from the group snapshot has snapshot_id %q, not a member of %s", row["ID"], got, gs)
		}
	}

	if ceph != nil {
		out, err := ceph.rbd("group", "snap", "ls", ceph.pool+"/group-snapshot-"+gs)
		if err != nil || strings.Count(string(out), "group-snapshot-"+gs) != 1 {
			t.Errorf("rbd group snap ls: want one group snapshot: %s %v", out, err)
		}
		for _, v := range []string{a, b} {
			if out, err := ceph.rbd("snap", "ls", "--all", "volume-"+v); err != nil || !strings.Contains(string(out), "group-snapshot-"+gs) {
				t.Errorf("rbd snap ls --all volume-%s: no snapshot of the group snapshot: %s %v", v, out, err)
			}
		}
	}

	// The openstack CLI makes and sees group snapshots too.
	if path, err := exec.LookPath("openstack"); err == nil {
		osc := func(args ...string) string {
			t.Helper()
			full := append([]string{"--os-auth-type", "admin_token", "--os-token", c.Project + ":" + c.Project,
				"--os-endpoint", c.Endpoint() + "/" + c.Project, "--os-volume-api-version", "3.14"}, args...)
			cmd := exec.Command(path, full...)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "LC_ALL=C.UTF-8"}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("openstack %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		var created map[string]any
		out := osc("volume", "group", "snapshot", "create", "--name", "gs-osc", "-f", "json", group)
		if err := json.Unmarshal([]byte(out), &created); err != nil || !uuidRE.MatchString(fmt.Sprint(created["ID"])) {
			t.Errorf("openstack volume group snapshot create printed no id: %v\n%s", err, out)
		} else {
			gsOSC := fmt.Sprint(created["ID"])
			cliWaitStatus(t, cli, "group-snapshot-show", gsOSC, "available")
			if out := osc("volume", "group", "snapshot", "list"); !strings.Contains(out, gs) || !strings.Contains(out, gsOSC) || !strings.Contains(out, "available") {
				t.Errorf("openstack volume group snapshot list has not both available %s and %s:\n%s", gs, gsOSC, out)
			}
			osc("volume", "group", "snapshot", "delete", gsOSC)
			cliWaitStatus(t, cli, "group-snapshot-show", gsOSC, "gone")
		}
		// (`openstack volume group snapshot show` of Debian's python3-openstackclient fails in
		// the client itself: "'GroupManager' object has no attribute 'show'".)
	} else if os.Getenv("CI") == "true" {
		t.Error("the openstack CLI is required in CI")
	}

	// What was made from the group snapshot goes first (on RBD a clone holds its parent).
	cli.must("group-delete", "--delete-volumes", g2)
	waitGroup(t, cli, g2, "gone")
	cli.must("delete", from)
	waitVolumeGoneCLI(t, cli, from)

	// reset_status (3.19, admin), then back and delete: the members and the storage go too.
	cli.must("reset-state", "--type", "group-snapshot", "--state", "error", gs)
	cliWaitStatus(t, cli, "group-snapshot-show", gs, "error")
	cli.must("group-snapshot-delete", gs)
	cliWaitStatus(t, cli, "group-snapshot-show", gs, "gone")
	for _, sid := range members {
		cliWaitStatus(t, cli, "snapshot-show", sid, "gone")
	}
	if ceph != nil {
		if out, err := ceph.rbd("group", "ls"); err != nil || strings.Contains(string(out), gs) {
			t.Errorf("rbd group ls after the delete: %s %v", out, err)
		}
		for _, v := range []string{a, b} {
			if out, err := ceph.rbd("snap", "ls", "--all", "volume-"+v); err != nil || strings.TrimSpace(string(out)) != "" {
				t.Errorf("snapshots left on volume-%s: %s %v", v, out, err)
			}
		}
	}

	// With no group snapshot left, the group goes with its volumes.
	cli.must("group-delete", "--delete-volumes", group)
	waitGroup(t, cli, group, "gone")
	waitVolumeGoneCLI(t, cli, a)
	waitVolumeGoneCLI(t, cli, b)
}

func TestGroupSnapshotsCLI(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{})
	groupSnapshotScenario(t, c, attachCLI(t, c, "3.19"), nil)
}
