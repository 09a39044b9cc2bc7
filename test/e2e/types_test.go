package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/noauth"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/qos"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"

	"github.com/scoria/scoria/test/cluster"
)

// TestTypesCinderCLI drives volume types, extra specs, type access, default types and QoS
// specs with the real cinder CLI, then volume types with the openstack CLI.
func TestTypesCinderCLI(t *testing.T) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, cluster.Options{})
	cli := cinderCLI{t: t, path: path, endpoint: c.Endpoint(), version: "3.62", home: t.TempDir()}

	row := func(out, col, want string) map[string]string {
		t.Helper()
		for _, rec := range parseTable(out) {
			if rec[col] == want {
				return rec
			}
		}
		t.Fatalf("no row with %s %q in\n%s", col, want, out)
		return nil
	}
	created := row(cli.must("type-create", "--description", "gold type", "gold"), "Name", "gold")
	id := created["ID"]
	if !uuidRE.MatchString(id) || created["Description"] != "gold type" || created["Is_Public"] != "True" {
		t.Fatalf("type-create printed %v", created)
	}
	row(cli.must("type-list"), "ID", id)
	if out, err := cli.run("type-create", "gold"); err == nil || !strings.Contains(out+err.Error(), "already exists") {
		t.Errorf("a second type-create gold: %v", err)
	}
	cli.must("type-update", "--name", "platinum", "--description", "shiny", id)
	shown := parseProperties(cli.must("type-show", id))
	if shown["name"] != "platinum" || shown["description"] != "shiny" || shown["qos_specs_id"] != "None" {
		t.Errorf("type-show after type-update: %v", shown)
	}
	// The description alone: cinderclient sends "name": null, which keeps the name.
	cli.must("type-update", "--description", "only the description", id)
	if shown := parseProperties(cli.must("type-show", id)); shown["name"] != "platinum" || shown["description"] != "only the description" {
		t.Errorf("type-show after type-update --description: %v", shown)
	}

	cli.must("type-key", id, "set", "volume_backend_name=file1", "k2=v2")
	specs := row(cli.must("extra-specs-list"), "ID", id)["extra_specs"]
	if !strings.Contains(specs, "'volume_backend_name': 'file1'") || !strings.Contains(specs, "'k2': 'v2'") {
		t.Errorf("extra-specs-list after type-key set: %q", specs)
	}
	cli.must("type-key", id, "unset", "k2")
	if specs := row(cli.must("extra-specs-list"), "ID", id)["extra_specs"]; strings.Contains(specs, "k2") {
		t.Errorf("extra-specs-list after type-key unset: %q", specs)
	}

	// A private type and its access list.
	priv := row(cli.must("type-create", "--is-public", "false", "hidden"), "Name", "hidden")["ID"]
	cli.must("type-access-add", "--volume-type", priv, "--project-id", "otherproject")
	row(cli.must("type-access-list", "--volume-type", priv), "Project_ID", "otherproject")
	cli.must("type-access-remove", "--volume-type", priv, "--project-id", "otherproject")
	if recs := parseTable(cli.must("type-access-list", "--volume-type", priv)); len(recs) != 0 {
		t.Errorf("type-access-list after remove: %v", recs)
	}

	// Default types.
	if got := row(cli.must("type-default"), "Name", "__DEFAULT__"); got == nil {
		t.Fatal("type-default")
	}
	cli.must("default-type-set", "platinum", "demo")
	row(cli.must("default-type-list"), "Project ID", "demo")
	row(cli.must("type-default"), "ID", id)
	vol := parseProperties(cli.must("create", "--name", "typed", "1"))
	if vol["volume_type"] != "platinum" {
		t.Errorf("a volume created without a type has type %q, want the project default platinum", vol["volume_type"])
	}
	cliWaitVolume(t, cli, vol["id"], "available")
	if _, err := cli.run("type-delete", id); err == nil {
		t.Errorf("type-delete of a type in use (and a project default) succeeded")
	}
	cli.must("delete", vol["id"])
	waitGone(t, cli, vol["id"])
	cli.must("default-type-unset", "demo")
	if recs := parseTable(cli.must("default-type-list")); len(recs) != 0 {
		t.Errorf("default-type-list after unset: %v", recs)
	}

	// QoS specs.
	q := parseProperties(cli.must("qos-create", "limits", "consumer=front-end", "total_iops_sec=500"))
	qid := q["id"]
	if !uuidRE.MatchString(qid) || q["consumer"] != "front-end" {
		t.Fatalf("qos-create printed %v", q)
	}
	row(cli.must("qos-list"), "ID", qid)
	cli.must("qos-key", qid, "set", "read_iops_sec=100")
	if specs := parseProperties(cli.must("qos-show", qid))["specs"]; !strings.Contains(specs, "read_iops_sec") {
		t.Errorf("qos-show after qos-key set: %q", specs)
	}
	cli.must("qos-key", qid, "unset", "read_iops_sec")
	if specs := parseProperties(cli.must("qos-show", qid))["specs"]; strings.Contains(specs, "read_iops_sec") {
		t.Errorf("qos-show after qos-key unset: %q", specs)
	}
	cli.must("qos-associate", qid, id)
	row(cli.must("qos-get-association", qid), "ID", id)
	if got := parseProperties(cli.must("type-show", id))["qos_specs_id"]; got != qid {
		t.Errorf("type-show qos_specs_id = %q, want %s", got, qid)
	}
	if _, err := cli.run("qos-delete", qid); err == nil {
		t.Errorf("qos-delete of associated specs without --force succeeded")
	}
	cli.must("qos-disassociate", qid, id)
	if recs := parseTable(cli.must("qos-get-association", qid)); len(recs) != 0 {
		t.Errorf("qos-get-association after disassociate: %v", recs)
	}
	cli.must("qos-associate", qid, id)
	cli.must("qos-delete", "--force", "True", qid)
	if _, err := cli.run("qos-show", qid); err == nil {
		t.Errorf("qos-show after qos-delete succeeded")
	}

	cli.must("type-delete", id)
	cli.must("type-delete", priv)
	for _, rec := range parseTable(cli.must("type-list")) {
		if rec["ID"] == id || rec["ID"] == priv {
			t.Errorf("type-list after type-delete shows %v", rec)
		}
	}

	openstackTypes(t, c)
}

func cliWaitVolume(t *testing.T, cli cinderCLI, id, status string) {
	t.Helper()
	err := cluster.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run("show", id)
		if err != nil {
			return false, "", err
		}
		got := parseProperties(out)["status"]
		return got == status, "status " + got, nil
	})
	if err != nil {
		t.Fatalf("volume %s never %s: %v", id, status, err)
	}
}

func waitGone(t *testing.T, cli cinderCLI, id string) {
	t.Helper()
	err := cluster.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		_, err := cli.run("show", id)
		return err != nil, "still there", nil
	})
	if err != nil {
		t.Fatalf("volume %s never gone: %v", id, err)
	}
}

// openstackTypes drives volume types with the openstack CLI (python3-openstackclient),
// authenticated with a noauth token as an admin token.
func openstackTypes(t *testing.T, c *cluster.Cluster) {
	path, err := exec.LookPath("openstack")
	if err != nil {
		t.Logf("the openstack CLI is not installed (Debian python3-openstackclient); skipping its part")
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is required in CI")
		}
		return
	}
	home := t.TempDir()
	osc := func(args ...string) (string, error) {
		full := append([]string{"--os-auth-type", "admin_token", "--os-token", "demo:demo",
			"--os-endpoint", c.Endpoint() + "/demo", "--os-volume-api-version", "3"}, args...)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, full...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C.UTF-8"}
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("openstack %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, ee.Stderr)
			}
		}
		return string(out), err
	}
	mustJSON := func(v any, args ...string) {
		t.Helper()
		out, err := osc(append(args, "-f", "json")...)
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("openstack %s printed %q: %v", strings.Join(args, " "), out, err)
			}
		}
	}
	var created map[string]any
	mustJSON(&created, "volume", "type", "create", "--description", "from osc", "--property", "color=blue", "osc-type")
	id, _ := created["id"].(string)
	if !uuidRE.MatchString(id) || created["name"] != "osc-type" {
		t.Fatalf("openstack volume type create printed %v", created)
	}
	if _, err := osc("volume", "type", "set", "--name", "osc-renamed", "--property", "size=big", id); err != nil {
		t.Fatal(err)
	}
	var shown map[string]any
	mustJSON(&shown, "volume", "type", "show", id)
	if shown["name"] != "osc-renamed" || !strings.Contains(fmt.Sprint(shown["properties"]), "big") {
		t.Errorf("openstack volume type show: %v", shown)
	}
	// The description alone: openstackclient sends "name": null, which keeps the name.
	if _, err := osc("volume", "type", "set", "--description", "osc description only", id); err != nil {
		t.Fatal(err)
	}
	mustJSON(&shown, "volume", "type", "show", id)
	if shown["name"] != "osc-renamed" || shown["description"] != "osc description only" {
		t.Errorf("openstack volume type show after set --description: %v", shown)
	}
	var list []map[string]any
	mustJSON(&list, "volume", "type", "list")
	found := false
	for _, rec := range list {
		found = found || rec["ID"] == id
	}
	if !found {
		t.Errorf("openstack volume type list lacks %s: %v", id, list)
	}
	if _, err := osc("volume", "type", "delete", id); err != nil {
		t.Fatal(err)
	}
	if _, err := osc("volume", "type", "show", id); err == nil {
		t.Errorf("openstack volume type show after delete succeeded")
	}
}

// TestTypesGophercloud drives types, access and QoS through gophercloud, and checks that a
// private type is usable only by projects given access.
func TestTypesGophercloud(t *testing.T) {
	c := startCluster(t, cluster.Options{})
	client := func(project string, member bool) *gophercloud.ServiceClient {
		t.Helper()
		provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: "demo", TenantName: project})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: c.Endpoint()})
		if err != nil {
			t.Fatal(err)
		}
		if member {
			cl.MoreHeaders = map[string]string{"X-Roles": "member"}
		}
		return cl
	}
	admin, other := client("demo", false), client("other", true)
	ctx := ctxT(t, 3*time.Minute)

	public := false
	vt, err := volumetypes.Create(ctx, admin, volumetypes.CreateOpts{Name: "gc-private", Description: "private", IsPublic: &public,
		ExtraSpecs: map[string]string{"volume_backend_name": "file1"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if vt.IsPublic || vt.ExtraSpecs["volume_backend_name"] != "file1" {
		t.Errorf("create answered %+v", vt)
	}
	name := "gc-private2"
	if got, err := volumetypes.Update(ctx, admin, vt.ID, volumetypes.UpdateOpts{Name: &name}).Extract(); err != nil || got.Name != name {
		t.Fatalf("update: %+v, %v", got, err)
	}
	if _, err := volumetypes.CreateExtraSpecs(ctx, admin, vt.ID, volumetypes.ExtraSpecsOpts{"k": "v"}).Extract(); err != nil {
		t.Fatal(err)
	}
	if got, err := volumetypes.GetExtraSpec(ctx, admin, vt.ID, "k").Extract(); err != nil || got["k"] != "v" {
		t.Fatalf("get extra spec: %v, %v", got, err)
	}
	if err := volumetypes.DeleteExtraSpec(ctx, admin, vt.ID, "k").ExtractErr(); err != nil {
		t.Fatal(err)
	}

	// Without access the other project sees no such type; with it, it creates volumes.
	_, err = volumes.Create(ctx, other, volumes.CreateOpts{Size: 1, VolumeType: vt.ID}, nil).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("create with a private type without access: %v, want 404", err)
	}
	if _, err := volumetypes.Get(ctx, other, vt.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get a private type without access: %v, want 404", err)
	}
	if err := volumetypes.AddAccess(ctx, other, vt.ID, volumetypes.AddAccessOpts{Project: "other"}).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member adds access: %v, want 403", err)
	}
	if err := volumetypes.AddAccess(ctx, admin, vt.ID, volumetypes.AddAccessOpts{Project: "other"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	pages, err := volumetypes.ListAccesses(admin, vt.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	access, err := volumetypes.ExtractAccesses(pages)
	if err != nil || len(access) != 1 || access[0].ProjectID != "other" {
		t.Fatalf("access list %+v, %v", access, err)
	}
	v, err := volumes.Create(ctx, other, volumes.CreateOpts{Size: 1, VolumeType: vt.ID}, nil).Extract()
	if err != nil {
		t.Fatalf("create with a private type with access: %v", err)
	}
	if v.VolumeType != name {
		t.Errorf("volume type %q, want %s", v.VolumeType, name)
	}
	if st, err := c.WaitVolumeStatus(v.ID, time.Minute, "available"); err != nil {
		t.Fatalf("volume of the private type: %s, %v", st, err)
	}
	deleteAndWaitGone(t, c, []string{v.ID}, time.Minute)

	// QoS.
	q, err := qos.Create(ctx, admin, qos.CreateOpts{Name: "gc-qos", Consumer: qos.ConsumerFront, Specs: map[string]string{"total_iops_sec": "300"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if q.Consumer != "front-end" || q.Specs["total_iops_sec"] != "300" {
		t.Errorf("qos create answered %+v", q)
	}
	if _, err := qos.Update(ctx, admin, q.ID, qos.UpdateOpts{Consumer: qos.ConsumerBoth, Specs: map[string]string{"read_iops_sec": "20"}}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := qos.DeleteKeys(ctx, admin, q.ID, qos.DeleteKeysOpts{"read_iops_sec"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := qos.Associate(ctx, admin, q.ID, qos.AssociateOpts{VolumeTypeID: vt.ID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	apages, err := qos.ListAssociations(admin, q.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assoc, err := qos.ExtractAssociations(apages)
	if err != nil || len(assoc) != 1 || assoc[0].ID != vt.ID {
		t.Fatalf("associations %+v, %v", assoc, err)
	}
	got, err := qos.Get(ctx, admin, q.ID).Extract()
	if err != nil || got.Consumer != "both" || got.Specs["read_iops_sec"] != "" {
		t.Fatalf("qos get %+v, %v", got, err)
	}
	if err := qos.Delete(ctx, admin, q.ID, qos.DeleteOpts{}).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("delete associated qos: %v, want 400", err)
	}
	if err := qos.DisassociateAll(ctx, admin, q.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := qos.Delete(ctx, admin, q.ID, qos.DeleteOpts{}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := volumetypes.Delete(ctx, admin, vt.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
