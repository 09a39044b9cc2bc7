package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// This file holds the set-up the encrypted-volume tests share: a Keystone cluster whose key
// manager is the test Barbican, and what they read back from Scoria and Barbican.

// barbicanURL is the test Barbican of deploy/barbican/barbican-up.sh (SCORIA_BARBICAN_URL
// points elsewhere); the cluster finds it through Keystone's catalog.
func barbicanURL() string {
	if v := os.Getenv("SCORIA_BARBICAN_URL"); v != "" {
		return v
	}
	return "http://127.0.0.1:9311"
}

func requireBarbican(t *testing.T) {
	t.Helper()
	u, err := url.Parse(barbicanURL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		unavailable(t, "no Barbican on %s (run deploy/barbican/barbican-up.sh)", u.Host)
	}
	c.Close()
}

// secretStatus is the status of GET /v1/secrets/{id} with token: 200 while the key exists.
func secretStatus(t *testing.T, token, id string) int {
	t.Helper()
	req, err := http.NewRequest("GET", barbicanURL()+"/v1/secrets/"+url.PathEscape(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("barbican GET secret %s: %v", id, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// barbicanCluster is a cluster with auth_strategy = keystone whose key manager is the test
// Barbican, as the encrypted-volume tests drive it: the python CLIs find it through a
// Keystone region of its own, and alice (ksAlice) owns the volumes.
type barbicanCluster struct {
	*cluster.Cluster
	t            *testing.T
	region       string // the Keystone region whose catalog has this cluster
	tag          string // a random suffix for the names of what the test makes
	aliceToken   string
	aliceProject string
}

// startBarbicanCluster starts a barbicanCluster for t, closed when t ends; without Keystone
// or Barbican the test skips, or fails under CI=true.
func startBarbicanCluster(t *testing.T) *barbicanCluster {
	t.Helper()
	requireKeystone(t)
	requireBarbican(t)
	adminToken, adminProject := ksLogin(t, ksAdmin)
	aliceToken, aliceProject := ksLogin(t, ksAlice)
	c := startCluster(t, cluster.Options{
		Project: adminProject, AuthToken: adminToken,
		Extra: map[string]string{"auth_strategy": "keystone"},
		Sections: map[string]map[string]string{
			"keystone_authtoken": {
				"www_authenticate_uri": keystoneURL, "auth_url": keystoneURL, "auth_type": "password",
				"username": "scoria", "password": "scoria-secret", "project_name": "service",
				"user_domain_name": "Default", "project_domain_name": "Default",
			},
			// auth_endpoint unset: the catalog is read from [keystone_authtoken] auth_url.
			"key_manager": {"backend": "barbican"},
			"barbican":    {"retry_delay": "1"},
		},
	})
	region := ksRegion(t, adminToken, c.Endpoint())
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	return &barbicanCluster{Cluster: c, t: t, region: region, tag: hex.EncodeToString(suffix),
		aliceToken: aliceToken, aliceProject: aliceProject}
}

// run runs the python CLI tool (openstack or cinder) as u through the cluster's region and
// returns its output; a failure fails the test.
func (b *barbicanCluster) run(tool string, u ksUser, args ...string) string {
	b.t.Helper()
	out, err := passwordCLI(b.t, tool, u, b.region, args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// createEncryptedType makes volume type name, encrypted with LUKS (aes-xts-plain64, 256-bit
// keys, front end), with the openstack CLI as admin.
func (b *barbicanCluster) createEncryptedType(name string) {
	b.t.Helper()
	b.run("openstack", ksAdmin, "volume", "type", "create", "--encryption-provider", "luks", "--encryption-cipher", "aes-xts-plain64",
		"--encryption-key-size", "256", "--encryption-control-location", "front-end", name)
}

// get reads one of alice's resources from Scoria with microversion 3.64 (encrypted,
// encryption_key_id) into out, when out is not nil and the answer is 200; it returns the
// status.
func (b *barbicanCluster) get(path string, out any) int {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.Endpoint()+"/"+b.aliceProject+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", b.aliceToken)
	req.Header.Set("OpenStack-API-Version", "volume 3.64")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// keyStatus is the status of alice's GET of key id in Barbican: 200 while it exists.
func (b *barbicanCluster) keyStatus(id string) int {
	b.t.Helper()
	return secretStatus(b.t, b.aliceToken, id)
}

// encVolume is the view of a volume with 3.64 that the encryption tests check.
type encVolume struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	Encrypted       bool   `json:"encrypted"`
	EncryptionKeyID string `json:"encryption_key_id"`
}
