package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/noauth"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/scoria/scoria/test/cluster"
)

// TestVolumesExtraCLI drives list filters, metadata, image metadata and the admin and flag
// actions with the real cinder CLI, then lists with filters and pages through gophercloud.
func TestVolumesExtraCLI(t *testing.T) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, cluster.Options{})
	cli := cinderCLI{t: t, path: path, endpoint: c.Endpoint(), version: "3.60", home: t.TempDir()}

	var ids []string
	for i, name := range []string{"ex-a", "ex-b", "ex-c"} {
		props := parseProperties(cli.must("create", "--name", name, "--metadata", fmt.Sprintf("n=%d", i), "1"))
		ids = append(ids, props["id"])
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = c.Client().DeleteVolume(context.Background(), id)
		}
	})
	for _, id := range ids {
		cliWaitVolume(t, cli, id, "available")
	}

	listNames := func(args ...string) []string {
		var out []string
		for _, rec := range parseTable(cli.must(append([]string{"list"}, args...)...)) {
			out = append(out, rec["Name"])
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "ex-b"}, "ex-b"},
		{[]string{"--status", "available", "--sort", "name:asc"}, "ex-a,ex-b,ex-c"},
		{[]string{"--metadata", "n=2"}, "ex-c"},
		{[]string{"--sort", "name:desc", "--limit", "1"}, "ex-c"},
		{[]string{"--sort", "name:asc", "--marker", ids[0]}, "ex-b,ex-c"},
		{[]string{"--all-tenants", "--name", "ex-a"}, "ex-a"},
	} {
		if got := strings.Join(listNames(tc.args...), ","); got != tc.want {
			t.Errorf("cinder list %v: %s, want %s", tc.args, got, tc.want)
		}
	}

	id := ids[0]
	cli.must("metadata", id, "set", "colour=red", "shape=round")
	cli.must("metadata", id, "unset", "shape")
	md := metadataTable(cli.must("metadata-show", id))
	if md["colour"] != "red" || md["shape"] != "" {
		t.Errorf("cinder metadata-show after set/unset: %v", md)
	}
	cli.must("metadata-update-all", id, "only=this")
	if md := metadataTable(cli.must("metadata-show", id)); md["only"] != "this" || md["colour"] != "" {
		t.Errorf("cinder metadata-show after metadata-update-all: %v", md)
	}
	cli.must("readonly-mode-update", id, "True")
	cli.must("set-bootable", id, "true")
	shown := parseProperties(cli.must("show", id))
	if shown["bootable"] != "true" || !strings.Contains(shown["metadata"], "readonly") {
		t.Errorf("cinder show after readonly-mode-update and set-bootable: bootable %q metadata %q", shown["bootable"], shown["metadata"])
	}
	cli.must("image-metadata", id, "set", "os_distro=debian")
	if im := cli.must("image-metadata-show", id); !strings.Contains(im, "debian") {
		t.Errorf("cinder image-metadata-show: %s", im)
	}
	cli.must("image-metadata", id, "unset", "os_distro")
	if out := cli.must("summary"); !strings.Contains(out, "3") {
		t.Errorf("cinder summary: %s", out)
	}
	cli.must("reset-state", "--state", "error", "--attach-status", "detached", ids[1])
	cliWaitVolume(t, cli, ids[1], "error")
	cli.must("force-delete", ids[1])
	_, oscErr := exec.LookPath("openstack")
	if oscErr != nil {
		t.Logf("the openstack CLI is not installed (Debian python3-openstackclient); skipping its part")
		if os.Getenv("CI") == "true" {
			t.Error("the openstack CLI is required in CI")
		}
	}
	if oscErr == nil {
		osc := func(args ...string) string {
			t.Helper()
			full := append([]string{"--os-auth-type", "none", "--os-endpoint", c.Endpoint() + "/notused", "--os-volume-api-version", "3.60"}, args...)
			out, err := exec.Command("openstack", full...).CombinedOutput()
			if err != nil {
				t.Errorf("openstack %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		osc("volume", "set", "--property", "k=v", "--bootable", "--read-only", ids[2])
		osc("volume", "unset", "--property", "k", ids[2])
		if out := osc("volume", "list", "--all-projects", "--name", "ex-c"); !strings.Contains(out, ids[2]) {
			t.Errorf("openstack volume list --all-projects --name ex-c:\n%s", out)
		}
	}

	provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: "demo", TenantName: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: c.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = volumes.List(client, volumes.ListOpts{Limit: 1, Sort: "name:asc", Metadata: map[string]string{"n": "2"}}).EachPage(ctxT(t, time.Minute),
		func(_ context.Context, page pagination.Page) (bool, error) {
			vols, err := volumes.ExtractVolumes(page)
			for _, v := range vols {
				names = append(names, v.Name)
			}
			return true, err
		})
	if err != nil || strings.Join(names, ",") != "ex-c" {
		t.Errorf("gophercloud list with metadata filter: %v, %v", names, err)
	}
}

// metadataTable reads the two-column table cinder metadata-show prints (its header names
// differ between client versions) into a map.
func metadataTable(out string) map[string]string {
	md := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 4 {
			continue
		}
		k, v := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		md[k] = v
	}
	return md
}
