package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/scoria/scoria/test/cluster"
)

// keystoneURL is the test Keystone of deploy/keystone/keystone-up.sh.
const keystoneURL = "http://127.0.0.1:5000/v3"

// ksUser is a user of the test Keystone and its project.
type ksUser struct{ name, password, project string }

var (
	ksAdmin = ksUser{"admin", "admin-secret", "admin"}
	ksAlice = ksUser{"alice", "alice-secret", "demo-a"}
	ksBob   = ksUser{"bob", "bob-secret", "demo-b"}
	ksCarol = ksUser{"carol", "carol-secret", "demo-a"} // reader of alice's project
)

func requireKeystone(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:5000", 2*time.Second)
	if err != nil {
		msg := "no Keystone on 127.0.0.1:5000 (run deploy/keystone/keystone-up.sh)"
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and " + msg)
		}
		t.Skip(msg)
	}
	c.Close()
}

// ksCall sends one request to Keystone and decodes the answer into out (may be nil).
func ksCall(t *testing.T, method, path, token string, body any, want int, out any) http.Header {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("keystone %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, keystoneURL+path, rd)
	if err != nil {
		t.Fatalf("keystone %s %s: %v", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("keystone %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("keystone %s %s: read the answer: %v", method, path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("keystone %s %s: %s %s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("keystone %s %s: %v", method, path, err)
		}
	}
	return resp.Header
}

// ksLogin issues a project-scoped token for u and returns it with the project's id.
func ksLogin(t *testing.T, u ksUser) (token, projectID string) {
	t.Helper()
	var out struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	h := ksCall(t, "POST", "/auth/tokens?nocatalog", "", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": u.name, "password": u.password, "domain": map[string]string{"id": "default"}}}},
		"scope": map[string]any{"project": map[string]any{"name": u.project, "domain": map[string]string{"id": "default"}}},
	}}, http.StatusCreated, &out)
	return h.Get("X-Subject-Token"), out.Token.Project.ID
}

// ksDelete removes what a test registered in Keystone; a removal that fails is an error of
// the test, not something to leave behind silently.
func ksDelete(t *testing.T, adminToken, path string) {
	t.Helper()
	req, err := http.NewRequest("DELETE", keystoneURL+path, nil)
	if err != nil {
		t.Errorf("keystone DELETE %s: %v", path, err)
		return
	}
	req.Header.Set("X-Auth-Token", adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("keystone DELETE %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
		raw, _ := io.ReadAll(resp.Body) // for the message only
		t.Errorf("keystone DELETE %s: %s %s", path, resp.Status, raw)
	}
}

// ksRegion registers a region of its own whose volumev3 and block-storage endpoints point at
// endpoint, so that clients find this cluster through the catalog without touching the
// endpoints other tests use; both go at the end of t.
func ksRegion(t *testing.T, adminToken, endpoint string) string {
	t.Helper()
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	region := "e2e-" + hex.EncodeToString(suffix)
	ksCall(t, "POST", "/regions", adminToken, map[string]any{"region": map[string]string{"id": region}}, http.StatusCreated, nil)
	t.Cleanup(func() {
		ksDelete(t, adminToken, "/regions/"+region)
	})
	for _, typ := range []string{"volumev3", "block-storage"} {
		var services struct {
			Services []struct{ ID string } `json:"services"`
		}
		ksCall(t, "GET", "/services?type="+typ, adminToken, nil, http.StatusOK, &services)
		if len(services.Services) == 0 {
			t.Fatalf("no %s service in Keystone (keystone-up.sh makes it)", typ)
		}
		var ep struct {
			Endpoint struct{ ID string } `json:"endpoint"`
		}
		ksCall(t, "POST", "/endpoints", adminToken, map[string]any{"endpoint": map[string]string{
			"service_id": services.Services[0].ID, "interface": "public", "region_id": region,
			"url": endpoint + "/%(project_id)s",
		}}, http.StatusCreated, &ep)
		id := ep.Endpoint.ID
		t.Cleanup(func() {
			ksDelete(t, adminToken, "/endpoints/"+id)
		})
	}
	return region
}

// passwordCLI runs a python OpenStack CLI (openstack or cinder) as u with a password,
// finding Scoria through the catalog of region.
func passwordCLI(t *testing.T, tool string, u ksUser, region string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		unavailable(t, "no %s CLI (Debian python3-openstackclient / python3-cinderclient): %v", tool, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// openstack reads clouds.yaml (it has no environment variable for an endpoint override);
	// cinder reads the OS_ variables. The region has no image service, and openstack volume
	// create makes an image client all the same (never calling it without --image): a fixed
	// image API version and an override keep it from looking for one.
	home := t.TempDir()
	clouds := fmt.Sprintf(`clouds:
  e2e:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: Default
      project_domain_name: Default
    region_name: %s
    interface: public
    identity_api_version: 3
    volume_api_version: 3
    image_api_version: '2'
    image_endpoint_override: http://127.0.0.1:9/
`, keystoneURL, u.name, u.password, u.project, region)
	if err := os.WriteFile(home+"/clouds.yaml", []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C.UTF-8"}
	if tool == "openstack" {
		cmd.Env = append(cmd.Env, "OS_CLIENT_CONFIG_FILE="+home+"/clouds.yaml", "OS_CLOUD=e2e")
	} else {
		cmd.Env = append(cmd.Env, "OS_AUTH_URL="+keystoneURL, "OS_AUTH_TYPE=password",
			"OS_USERNAME="+u.name, "OS_PASSWORD="+u.password, "OS_PROJECT_NAME="+u.project,
			"OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default", "OS_REGION_NAME="+region)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", tool, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// TestKeystoneClients: a cluster with auth_strategy = keystone, found through Keystone's
// catalog by the openstack and cinder CLIs and gophercloud logging in with a password.
func TestKeystoneClients(t *testing.T) {
	requireKeystone(t)
	adminToken, adminProject := ksLogin(t, ksAdmin)
	c := startCluster(t, cluster.Options{
		Project: adminProject, AuthToken: adminToken,
		Extra: map[string]string{"auth_strategy": "keystone"},
		Sections: map[string]map[string]string{"keystone_authtoken": {
			"www_authenticate_uri": keystoneURL, "auth_url": keystoneURL, "auth_type": "password",
			"username": "scoria", "password": "scoria-secret", "project_name": "service",
			"user_domain_name": "Default", "project_domain_name": "Default",
		}},
	})
	region := ksRegion(t, adminToken, c.Endpoint())

	// Without a token: 401 with where to get one.
	resp, err := http.Get(c.Endpoint() + "/" + adminProject + "/volumes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), keystoneURL) {
		t.Errorf("no token: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}

	// Bob's volume, through gophercloud with a password.
	ctx := ctxT(t, 3*time.Minute)
	gc := func(u ksUser) *gophercloud.ServiceClient {
		provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: keystoneURL,
			Username: u.name, Password: u.password, DomainName: "Default", TenantName: u.project})
		if err != nil {
			t.Fatalf("gophercloud login %s: %v", u.name, err)
		}
		client, err := openstack.NewBlockStorageV3(provider, gophercloud.EndpointOpts{Region: region})
		if err != nil {
			t.Fatalf("gophercloud catalog %s: %v", u.name, err)
		}
		return client
	}
	bobs, err := volumes.Create(ctx, gc(ksBob), volumes.CreateOpts{Size: 1, Name: "bobs"}, nil).Extract()
	if err != nil {
		t.Fatalf("gophercloud create as bob: %v", err)
	}
	if _, err := c.WaitVolumeStatus(bobs.ID, time.Minute, "available"); err != nil {
		t.Fatal(err)
	}
	alice := gc(ksAlice)
	if _, err := volumes.Get(ctx, alice, bobs.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("gophercloud: alice gets bob's volume: %v, want 404", err)
	}
	pages, err := volumes.List(alice, volumes.ListOpts{AllTenants: true}).AllPages(ctx)
	if err != nil {
		t.Fatalf("gophercloud list as alice: %v", err)
	}
	if all, err := volumes.ExtractVolumes(pages); err != nil || len(all) != 0 {
		t.Errorf("gophercloud: alice lists %d volumes (%v), want none (bob's is not hers)", len(all), err)
	}

	// The openstack CLI as alice.
	out, err := passwordCLI(t, "openstack", ksAlice, region, "volume", "create", "--size", "1", "-f", "json", "alices")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" {
		t.Fatalf("openstack volume create: %v %s", err, out)
	}
	if _, err := c.WaitVolumeStatus(created.ID, time.Minute, "available"); err != nil {
		t.Fatal(err)
	}
	if out, err := passwordCLI(t, "openstack", ksAlice, region, "volume", "show", "-f", "json", created.ID); err != nil || !strings.Contains(out, `"alices"`) {
		t.Errorf("openstack volume show: %v %s", err, out)
	}
	out, err = passwordCLI(t, "openstack", ksAlice, region, "volume", "list", "-f", "value", "-c", "ID")
	if err != nil || !strings.Contains(out, created.ID) || strings.Contains(out, bobs.ID) {
		t.Errorf("openstack volume list as alice: %v\n%s\nwant %s and not bob's %s", err, out, created.ID, bobs.ID)
	}
	if out, err := passwordCLI(t, "openstack", ksAlice, region, "volume", "show", bobs.ID); err == nil {
		t.Errorf("openstack volume show of bob's volume as alice succeeded: %s", out)
	}
	if out, err := passwordCLI(t, "openstack", ksAdmin, region, "volume", "service", "list", "-f", "value", "-c", "Binary"); err != nil || !strings.Contains(out, "cinder-volume") {
		t.Errorf("openstack volume service list as admin: %v %s", err, out)
	}
	if out, err := passwordCLI(t, "openstack", ksAlice, region, "volume", "service", "list"); err == nil || !strings.Contains(out, "HTTP 403") {
		t.Errorf("openstack volume service list as alice: %v %s, want HTTP 403", err, out)
	}

	// The cinder CLI as alice.
	out, err = passwordCLI(t, "cinder", ksAlice, region, "list")
	if err != nil || !strings.Contains(out, created.ID) || strings.Contains(out, bobs.ID) {
		t.Errorf("cinder list as alice: %v\n%s", err, out)
	}

	// The reader of alice's project sees her volume; bob does not, and cannot transfer it.
	if out, err := passwordCLI(t, "openstack", ksCarol, region, "volume", "show", "-f", "value", "-c", "name", created.ID); err != nil || strings.TrimSpace(out) != "alices" {
		t.Errorf("openstack volume show as carol (reader): %v %s", err, out)
	}
	if out, err := passwordCLI(t, "openstack", ksBob, region, "volume", "transfer", "request", "create", created.ID); err == nil {
		t.Errorf("bob offered alice's volume for transfer: %s", out)
	}
	// A transfer: alice offers her volume, bob accepts it with the key; it is then bob's.
	out, err = passwordCLI(t, "openstack", ksAlice, region, "volume", "transfer", "request", "create", "-f", "json", created.ID)
	var transfer struct {
		ID      string `json:"id"`
		AuthKey string `json:"auth_key"`
	}
	if err != nil || json.Unmarshal([]byte(out), &transfer) != nil || transfer.AuthKey == "" {
		t.Fatalf("openstack volume transfer request create: %v %s", err, out)
	}
	if out, err := passwordCLI(t, "openstack", ksBob, region, "volume", "transfer", "request", "accept", "--auth-key", transfer.AuthKey, transfer.ID); err != nil {
		t.Fatalf("openstack volume transfer request accept as bob: %v %s", err, out)
	}
	if out, err := passwordCLI(t, "openstack", ksBob, region, "volume", "show", "-f", "value", "-c", "name", created.ID); err != nil || strings.TrimSpace(out) != "alices" {
		t.Errorf("openstack volume show as bob after the transfer: %v %s", err, out)
	}
	if out, err := passwordCLI(t, "openstack", ksAlice, region, "volume", "show", created.ID); err == nil {
		t.Errorf("alice still sees the volume she gave away: %s", out)
	}

	if _, err := passwordCLI(t, "openstack", ksBob, region, "volume", "delete", created.ID); err != nil {
		t.Error(err)
	}
	if err := c.WaitVolumeGone(created.ID, time.Minute); err != nil {
		t.Error(err)
	}
	if err := volumes.Delete(ctx, gc(ksBob), bobs.ID, nil).ExtractErr(); err != nil {
		t.Errorf("gophercloud delete as bob: %v", err)
	}
}
