package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// TestGroupEncryptionWithBarbican: a group of an encrypted volume type through the cinder
// CLI on a keystone cluster whose key manager is the real Barbican: a volume created into
// the group gets a key, the member of a clone of the group (group-create-from-src) a copy of
// its own, and deleting the groups with their volumes deletes the keys.
func TestGroupEncryptionWithBarbican(t *testing.T) {
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
	cinder := func(args ...string) map[string]string {
		t.Helper()
		return parseProperties(run("cinder", ksAlice, append([]string{"--os-volume-api-version", "3.14"}, args...)...))
	}
	// get reads one of alice's resources with 3.64 into out; the status.
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
	waitGroupStatus := func(id, want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var body struct{ Group struct{ Status string } }
			st := get("/groups/"+id, &body)
			if (want == "gone" && st == http.StatusNotFound) || (st == http.StatusOK && body.Group.Status == want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("group %s: %d %q, want %s", id, st, body.Group.Status, want)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	type volume struct {
		ID              string `json:"id"`
		Status          string `json:"status"`
		Encrypted       bool   `json:"encrypted"`
		EncryptionKeyID string `json:"encryption_key_id"`
	}
	members := func(group string) []volume {
		t.Helper()
		var body struct{ Volumes []volume }
		if st := get("/volumes/detail?group_id="+group, &body); st != http.StatusOK {
			t.Fatalf("volumes of group %s: %d", group, st)
		}
		return body.Volumes
	}

	encType := "genc-" + tag
	run("openstack", ksAdmin, "volume", "type", "create", "--encryption-provider", "luks", "--encryption-cipher", "aes-xts-plain64",
		"--encryption-key-size", "256", "--encryption-control-location", "front-end", encType)
	gtype := addGroupType(t, c)

	gid := cinder("group-create", "--name", "eg-"+tag, gtype, encType)["id"]
	waitGroupStatus(gid, "available")
	mid := cinder("create", "--group-id", gid, "--volume-type", encType, "--name", "m-"+tag, "1")["id"]
	if _, err := c.WaitVolumeStatus(mid, 2*time.Minute, "available"); err != nil {
		t.Fatal(err)
	}
	src := members(gid)
	if len(src) != 1 || !src[0].Encrypted || src[0].EncryptionKeyID == "" {
		t.Fatalf("the volume created into the group: %+v, want encrypted with a key", src)
	}
	if st := secretStatus(t, aliceToken, src[0].EncryptionKeyID); st != http.StatusOK {
		t.Fatalf("member's key: Barbican answers %d", st)
	}

	g2 := cinder("group-create-from-src", "--source-group", gid, "--name", "eg2-"+tag)["id"]
	waitGroupStatus(g2, "available")
	clones := members(g2)
	if len(clones) != 1 || clones[0].Status != "available" || !clones[0].Encrypted || clones[0].EncryptionKeyID == "" ||
		clones[0].EncryptionKeyID == src[0].EncryptionKeyID {
		t.Fatalf("the clone's member %+v (source key %s): want available, encrypted, with a key of its own", clones, src[0].EncryptionKeyID)
	}
	if st := secretStatus(t, aliceToken, clones[0].EncryptionKeyID); st != http.StatusOK {
		t.Fatalf("the clone's member's key: Barbican answers %d", st)
	}

	for _, g := range []struct {
		id  string
		key string
	}{{g2, clones[0].EncryptionKeyID}, {gid, src[0].EncryptionKeyID}} {
		run("cinder", ksAlice, "--os-volume-api-version", "3.14", "group-delete", "--delete-volumes", g.id)
		waitGroupStatus(g.id, "gone")
		if st := secretStatus(t, aliceToken, g.key); st != http.StatusNotFound {
			t.Errorf("group %s deleted with its volumes, the key %s: Barbican answers %d, want 404", g.id, g.key, st)
		}
	}
	run("openstack", ksAdmin, "volume", "type", "delete", encType)
}
