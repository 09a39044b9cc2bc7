package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/test/cluster"
)

// consistencyGroupScenario drives Cinder Zed's deprecated consistency groups with the real
// cinder CLI (consisgroup-*, cgsnapshot-*) and openstack CLI (consistency group …): a CG is a
// group of default_cgsnapshot_type, so the whole life runs through the group code.
func consistencyGroupScenario(t *testing.T, c *cluster.Cluster, cli cinderCLI) {
	cg := parseProperties(cli.must("consisgroup-create", "--name", "cg1", "__DEFAULT__"))["id"]
	if !uuidRE.MatchString(cg) {
		t.Fatalf("consisgroup-create printed no id")
	}
	shown := cliWaitStatus(t, cli, "consisgroup-show", cg, "available")
	if shown["name"] != "cg1" || shown["availability_zone"] != "nova" || shown["volume_types"] == "" {
		t.Errorf("consisgroup-show: %v", shown)
	}
	// The generic group API leaves it to the CG API, as Cinder does.
	cliRefused(t, cli, "reserved for migrating CGs", "group-show", cg)

	// A volume added, and the CG renamed, with consisgroup-update.
	vol := cliVolume(t, cli, "cg-member")
	cliWaitStatus(t, cli, "show", vol, "available")
	cli.must("consisgroup-update", cg, "--add-volumes", vol, "--name", "cg1b")
	cliWaitStatus(t, cli, "consisgroup-show", cg, "available")
	if got := cliWaitStatus(t, cli, "show", vol, "available")["group_id"]; got != cg {
		t.Errorf("after consisgroup-update --add-volumes the volume's group_id is %q, want %s", got, cg)
	}
	if out := cli.must("consisgroup-list"); !strings.Contains(out, cg) || !strings.Contains(out, "cg1b") {
		t.Errorf("consisgroup-list has no %s named cg1b:\n%s", cg, out)
	}
	cliRefused(t, cli, "can not be all empty", "consisgroup-update", cg, "--name", "")

	// A cgsnapshot of it, and a CG from the cgsnapshot and one from the CG.
	snap := parseProperties(cli.must("cgsnapshot-create", "--name", "cgs1", cg))["id"]
	if !uuidRE.MatchString(snap) {
		t.Fatalf("cgsnapshot-create printed no id")
	}
	if got := cliWaitStatus(t, cli, "cgsnapshot-show", snap, "available")["consistencygroup_id"]; got != cg {
		t.Errorf("cgsnapshot-show: consistencygroup_id %q, want %s", got, cg)
	}
	if out := cli.must("cgsnapshot-list"); !strings.Contains(out, snap) {
		t.Errorf("cgsnapshot-list has no %s:\n%s", snap, out)
	}
	fromSnap := parseProperties(cli.must("consisgroup-create-from-src", "--cgsnapshot", snap, "--name", "cg2"))["id"]
	cliWaitStatus(t, cli, "consisgroup-show", fromSnap, "available")
	fromCG := parseProperties(cli.must("consisgroup-create-from-src", "--source-cg", cg, "--name", "cg3"))["id"]
	cliWaitStatus(t, cli, "consisgroup-show", fromCG, "available")
	for _, id := range []string{fromSnap, fromCG} {
		if members := parseTable(cli.must("list", "--group_id", id)); len(members) != 1 || members[0]["Status"] != "available" {
			t.Errorf("members of %s: %v, want one available", id, members)
		}
	}
	cli.must("cgsnapshot-delete", snap)
	cliWaitStatus(t, cli, "cgsnapshot-show", snap, "gone")

	// The openstack CLI: list, create, delete.
	out := openstackCLI(t, c, "consistency", "group", "list", "-f", "json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("openstack consistency group list: %v: %s", err, out)
	}
	var ids []string
	for _, g := range listed {
		ids = append(ids, fmt.Sprint(g["ID"]))
	}
	if !slices.Contains(ids, cg) || !slices.Contains(ids, fromCG) {
		t.Errorf("openstack consistency group list: %v, want %s and %s", ids, cg, fromCG)
	}
	var made map[string]any
	out = openstackCLI(t, c, "consistency", "group", "create", "--volume-type", "__DEFAULT__", "-f", "json", "osc-cg")
	if err := json.Unmarshal([]byte(out), &made); err != nil {
		t.Fatalf("openstack consistency group create: %v: %s", err, out)
	}
	osc := fmt.Sprint(made["id"])
	cliWaitStatus(t, cli, "consisgroup-show", osc, "available")
	openstackCLI(t, c, "consistency", "group", "delete", osc)
	cliWaitStatus(t, cli, "consisgroup-show", osc, "gone")

	// Delete: with volumes only with --force, which deletes them too.
	cliRefused(t, cli, "still contains volumes", "consisgroup-delete", cg)
	for _, id := range []string{fromSnap, fromCG, cg} {
		cli.must("consisgroup-delete", "--force", id)
		cliWaitStatus(t, cli, "consisgroup-show", id, "gone")
	}
	waitVolumeGoneCLI(t, cli, vol)
	if rows := parseTable(cli.must("consisgroup-list")); len(rows) != 0 {
		t.Errorf("consisgroup-list after the deletes: %v", rows)
	}
}

// TestConsistencyGroupsCLI runs the consistency group scenario on local files (whose
// cgsnapshots are taken member by member, Cinder's generic path).
func TestConsistencyGroupsCLI(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{})
	consistencyGroupScenario(t, c, attachCLI(t, c, "3.20"))
}
