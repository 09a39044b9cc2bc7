package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

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

// TestEncryptionWithBarbican: volume type encryption through the cinder and openstack CLIs
// on a keystone cluster whose key manager is the real Barbican: an encrypted volume's key
// exists in Barbican, a clone and a volume from a snapshot get keys of their own, a delete
// removes the key, and the type's encryption cannot change while volumes use it.
func TestEncryptionWithBarbican(t *testing.T) {
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
	tag := hex.EncodeToString(suffix)
	run := func(tool string, u ksUser, args ...string) string {
		t.Helper()
		out, err := passwordCLI(t, tool, u, region, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// The cinder CLI: create, show, update, list, delete an encryption type.
	cliType := "enc-cli-" + tag
	run("cinder", ksAdmin, "type-create", cliType)
	out := run("cinder", ksAdmin, "encryption-type-create", "--cipher", "aes-xts-plain64", "--key-size", "256",
		"--control-location", "front-end", cliType, "luks")
	if !strings.Contains(out, "aes-xts-plain64") || !strings.Contains(out, "front-end") {
		t.Errorf("cinder encryption-type-create:\n%s", out)
	}
	if out := run("cinder", ksAdmin, "encryption-type-show", cliType); !strings.Contains(out, "luks") || !strings.Contains(out, "256") {
		t.Errorf("cinder encryption-type-show:\n%s", out)
	}
	run("cinder", ksAdmin, "encryption-type-update", "--key-size", "512", cliType)
	if out := run("cinder", ksAdmin, "encryption-type-show", cliType); !strings.Contains(out, "512") {
		t.Errorf("cinder encryption-type-show after update (key size 512):\n%s", out)
	}
	if out := run("cinder", ksAdmin, "encryption-type-list"); !strings.Contains(out, "aes-xts-plain64") {
		t.Errorf("cinder encryption-type-list:\n%s", out)
	}
	run("cinder", ksAdmin, "encryption-type-delete", cliType)
	if out := run("cinder", ksAdmin, "encryption-type-show", cliType); strings.Contains(out, "luks") {
		t.Errorf("cinder encryption-type-show after delete:\n%s", out)
	}
	run("cinder", ksAdmin, "type-delete", cliType)

	// The openstack CLI: a type created with its encryption.
	encType := "enc-" + tag
	run("openstack", ksAdmin, "volume", "type", "create", "--encryption-provider", "luks", "--encryption-cipher", "aes-xts-plain64",
		"--encryption-key-size", "256", "--encryption-control-location", "front-end", encType)
	if out := run("openstack", ksAdmin, "volume", "type", "show", "--encryption-type", "-f", "json", encType); !strings.Contains(out, "aes-xts-plain64") {
		t.Errorf("openstack volume type show --encryption-type:\n%s", out)
	}

	// volume is the view of a volume with 3.64 (encrypted, encryption_key_id) as alice.
	type volume struct {
		ID              string `json:"id"`
		Status          string `json:"status"`
		Encrypted       bool   `json:"encrypted"`
		EncryptionKeyID string `json:"encryption_key_id"`
	}
	// get reads one of alice's resources from Scoria with 3.64 into out; the status.
	get := func(path string, out any) int {
		t.Helper()
		req, err := http.NewRequest("GET", c.Endpoint()+"/"+aliceProject+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Auth-Token", aliceToken)
		req.Header.Set("OpenStack-API-Version", "volume 3.64")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		if out != nil && resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		return resp.StatusCode
	}
	show := func(id string) volume {
		t.Helper()
		var body struct{ Volume volume }
		if st := get("/volumes/"+id, &body); st != http.StatusOK {
			t.Fatalf("GET volume %s: %d", id, st)
		}
		return body.Volume
	}
	create := func(args ...string) volume {
		t.Helper()
		out := run("openstack", ksAlice, append([]string{"volume", "create", "-f", "json"}, args...)...)
		var created volume
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" {
			t.Fatalf("openstack volume create %v: %v %s", args, err, out)
		}
		if _, err := c.WaitVolumeStatus(created.ID, 2*time.Minute, "available"); err != nil {
			t.Fatal(err)
		}
		v := show(created.ID)
		if !v.Encrypted || v.EncryptionKeyID == "" {
			t.Fatalf("volume %s (%v): encrypted %v, key %q; want encrypted with a key", created.ID, args, v.Encrypted, v.EncryptionKeyID)
		}
		if st := secretStatus(t, aliceToken, v.EncryptionKeyID); st != http.StatusOK {
			t.Fatalf("volume %s's key %s: Barbican answers %d, want 200", v.ID, v.EncryptionKeyID, st)
		}
		return v
	}

	orig := create("--type", encType, "--size", "1", "encrypted-"+tag)
	// What Nova reads to attach it.
	var meta map[string]any
	if st := get("/volumes/"+orig.ID+"/encryption", &meta); st != http.StatusOK || meta["encryption_key_id"] != orig.EncryptionKeyID ||
		meta["provider"] != "luks" || meta["cipher"] != "aes-xts-plain64" || meta["control_location"] != "front-end" {
		t.Errorf("GET /volumes/%s/encryption: %d %v", orig.ID, st, meta)
	}
	clone := create("--source", orig.ID, "--size", "1", "clone-"+tag)
	if clone.EncryptionKeyID == orig.EncryptionKeyID {
		t.Errorf("the clone shares its source's key %s, want a copy of its own", orig.EncryptionKeyID)
	}
	snap := run("openstack", ksAlice, "volume", "snapshot", "create", "-f", "value", "-c", "id", "--volume", orig.ID, "snap-"+tag)
	snapID := strings.TrimSpace(snap)
	snapshotStatus := func() (int, string) {
		var body struct{ Snapshot struct{ Status string } }
		st := get("/snapshots/"+snapID, &body)
		return st, body.Snapshot.Status
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, st := snapshotStatus(); st == "available" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot %s not available", snapID)
		}
		time.Sleep(500 * time.Millisecond)
	}
	fromSnap := create("--snapshot", snapID, "--size", "1", "from-snap-"+tag)
	if fromSnap.EncryptionKeyID == orig.EncryptionKeyID || fromSnap.EncryptionKeyID == clone.EncryptionKeyID {
		t.Errorf("the volume from the snapshot shares a key (%s), want one of its own", fromSnap.EncryptionKeyID)
	}

	// The type's encryption is frozen while volumes use it.
	if out, err := passwordCLI(t, "cinder", ksAdmin, region, "encryption-type-delete", encType); err == nil || !strings.Contains(out, "Volume type in use") {
		t.Errorf("cinder encryption-type-delete of a type in use: %v %s, want 'Volume type in use'", err, out)
	}

	// Deletes: each volume's key goes with it (the snapshot first, which keeps orig's key).
	run("openstack", ksAlice, "volume", "snapshot", "delete", snapID)
	deadline = time.Now().Add(2 * time.Minute)
	for {
		if st, _ := snapshotStatus(); st == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot %s not deleted", snapID)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, v := range []volume{orig, clone, fromSnap} {
		run("openstack", ksAlice, "volume", "delete", v.ID)
		if st := secretStatus(t, aliceToken, v.EncryptionKeyID); st != http.StatusNotFound {
			t.Errorf("volume %s deleted, its key %s: Barbican answers %d, want 404", v.ID, v.EncryptionKeyID, st)
		}
	}
	for _, v := range []volume{orig, clone, fromSnap} {
		if err := c.WaitVolumeGone(v.ID, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	run("cinder", ksAdmin, "encryption-type-delete", encType)
	run("openstack", ksAdmin, "volume", "type", "delete", encType)
}
