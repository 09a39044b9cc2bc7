package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// cinderCLI runs the real cinder CLI with noauth, as a user would.
type cinderCLI struct {
	t        *testing.T
	path     string
	endpoint string
	version  string // --os-volume-api-version; "" lets the CLI negotiate
	home     string
	project  string // --os-project-id and --os-user-id; "" is demo
}

// run runs `cinder <args>` and returns its stdout; a failure carries stdout and stderr.
func (c cinderCLI) run(args ...string) (string, error) {
	project := c.project
	if project == "" {
		project = "demo"
	}
	full := []string{"--os-auth-type", "noauth", "--os-endpoint", c.endpoint, "--os-project-id", project, "--os-user-id", project}
	if c.version != "" {
		full = append(full, "--os-volume-api-version", c.version)
	}
	full = append(full, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"HOME=" + c.home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C.UTF-8"}
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("cinder %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(full, " "), err, stdout.String(), stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		c.t.Logf("cinder %s: stderr: %s", strings.Join(args, " "), s)
	}
	return stdout.String(), nil
}

// must is run that fails the test on an error.
func (c cinderCLI) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// parseTable reads a prettytable: the first row is the header, each later row a record.
func parseTable(out string) []map[string]string {
	var header []string
	var records []map[string]string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			continue
		}
		rec := map[string]string{}
		for i, h := range header {
			if i < len(cells) {
				rec[h] = cells[i]
			}
		}
		records = append(records, rec)
	}
	return records
}

// parseProperties reads a Property/Value table into a map.
func parseProperties(out string) map[string]string {
	props := map[string]string{}
	last := ""
	for _, rec := range parseTable(out) {
		if rec["Property"] == "" && last != "" {
			props[last] += "\n" + rec["Value"]
			continue
		}
		last = rec["Property"]
		props[last] = rec["Value"]
	}
	return props
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestCinderCLI drives a volume's life with the real cinder CLI (python3-cinderclient) at
// microversion 3.0 and at the version the CLI negotiates, and checks the file on the backend.
func TestCinderCLI(t *testing.T) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, cluster.Options{})
	for _, tc := range []struct{ name, version string }{
		{"microversion 3.0", "3.0"},
		{"negotiated microversion", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cinderCLI{t: t, path: path, endpoint: c.Endpoint(), version: tc.version, home: t.TempDir()}
			cinderScenario(t, c, cli)
		})
	}
}

func cinderScenario(t *testing.T, c *cluster.Cluster, cli cinderCLI) {
	created := parseProperties(cli.must("create", "--name", "v1", "1"))
	id := created["id"]
	if !uuidRE.MatchString(id) {
		t.Fatalf("cinder create printed no volume id; properties: %v", created)
	}
	t.Cleanup(func() { // whatever happens below, leave nothing for the next scenario
		_ = c.Client().DeleteVolume(context.Background(), id)
	})
	if created["name"] != "v1" || created["size"] != "1" {
		t.Errorf("cinder create printed name %q size %q, want v1 and 1", created["name"], created["size"])
	}

	var shown map[string]string
	err := cluster.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run("show", id)
		if err != nil {
			return false, "", err
		}
		shown = parseProperties(out)
		switch shown["status"] {
		case "available":
			return true, "", nil
		case "error":
			return false, "", fmt.Errorf("volume %s went to error: %v", id, shown)
		}
		return false, "status " + shown["status"], nil
	})
	if err != nil {
		t.Fatalf("cinder show %s: %v", id, err)
	}
	host := shown["os-vol-host-attr:host"]
	if host != "node1@file1#file1" {
		t.Errorf("cinder show: os-vol-host-attr:host = %q, want node1@file1#file1", host)
	}

	listed := false
	for _, rec := range parseTable(cli.must("list")) {
		if rec["ID"] == id {
			listed = true
			if rec["Name"] != "v1" || rec["Status"] != "available" || rec["Size"] != "1" {
				t.Errorf("cinder list row of %s: %v, want name v1, available, size 1", id, rec)
			}
		}
	}
	if !listed {
		t.Errorf("cinder list does not show %s", id)
	}

	cli.must("rename", "v1", "v2")
	if got := parseProperties(cli.must("show", id))["name"]; got != "v2" {
		t.Errorf("after cinder rename v1 v2, cinder show prints name %q", got)
	}
	if got := parseProperties(cli.must("show", "v2"))["id"]; got != id {
		t.Errorf("cinder show v2 (by name) prints id %q, want %s", got, id)
	}

	out := cli.must("service-list")
	t.Logf("cinder service-list:\n%s", out)
	services := parseTable(out)
	want := map[string]bool{"cinder-scheduler controller": false, "cinder-volume node1@file1": false}
	for _, rec := range services {
		key := rec["Binary"] + " " + rec["Host"]
		if _, ok := want[key]; ok {
			want[key] = true
			if rec["State"] != "up" || rec["Status"] != "enabled" {
				t.Errorf("cinder service-list: %s is %s/%s, want enabled/up", key, rec["Status"], rec["State"])
			}
		}
		if !strings.HasPrefix(rec["Binary"], "cinder-") {
			t.Errorf("cinder service-list shows binary %q; clients expect cinder-* names", rec["Binary"])
		}
	}
	for key, seen := range want {
		if !seen {
			t.Errorf("cinder service-list has no row %q: %v", key, services)
		}
	}

	checkVolumeFile(t, c, "node1", id, 1)

	out = cli.must("delete", "v2")
	if !strings.Contains(out, "accepted") {
		t.Logf("cinder delete v2 printed: %q", out)
	}
	err = cluster.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run("show", id)
		if err != nil {
			if strings.Contains(err.Error(), "No volume with a name or ID") {
				return true, "", nil
			}
			return false, "", err
		}
		return false, "status " + parseProperties(out)["status"], nil
	})
	if err != nil {
		t.Fatalf("after cinder delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.VolumeDir("node1"), "volume-"+id)); !os.IsNotExist(err) {
		t.Errorf("the file of deleted volume %s is still there (stat: %v)", id, err)
	}
	checkNoVolumeFiles(t, c)
}
