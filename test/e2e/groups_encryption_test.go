package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestGroupEncryptionWithBarbican: a group of an encrypted volume type through the cinder
// CLI on a keystone cluster whose key manager is the real Barbican: a volume created into
// the group gets a key, the member of a clone of the group (group-create-from-src) a copy of
// its own, and deleting the groups with their volumes deletes the keys.
func TestGroupEncryptionWithBarbican(t *testing.T) {
	c := startBarbicanCluster(t)
	tag, run := c.tag, c.run
	cinder := func(args ...string) map[string]string {
		t.Helper()
		return parseProperties(run("cinder", ksAlice, append([]string{"--os-volume-api-version", "3.14"}, args...)...))
	}
	waitGroupStatus := func(id, want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var body struct{ Group struct{ Status string } }
			st := c.get("/groups/"+id, &body)
			if (want == "gone" && st == http.StatusNotFound) || (st == http.StatusOK && body.Group.Status == want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("group %s: %d %q, want %s", id, st, body.Group.Status, want)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	members := func(group string) []encVolume {
		t.Helper()
		var body struct{ Volumes []encVolume }
		if st := c.get("/volumes/detail?group_id="+group, &body); st != http.StatusOK {
			t.Fatalf("volumes of group %s: %d", group, st)
		}
		return body.Volumes
	}

	encType := "genc-" + tag
	c.createEncryptedType(encType)
	gtype := addGroupType(t, c.Cluster)

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
	if st := c.keyStatus(src[0].EncryptionKeyID); st != http.StatusOK {
		t.Fatalf("member's key: Barbican answers %d", st)
	}

	g2 := cinder("group-create-from-src", "--source-group", gid, "--name", "eg2-"+tag)["id"]
	waitGroupStatus(g2, "available")
	clones := members(g2)
	if len(clones) != 1 || clones[0].Status != "available" || !clones[0].Encrypted || clones[0].EncryptionKeyID == "" ||
		clones[0].EncryptionKeyID == src[0].EncryptionKeyID {
		t.Fatalf("the clone's member %+v (source key %s): want available, encrypted, with a key of its own", clones, src[0].EncryptionKeyID)
	}
	if st := c.keyStatus(clones[0].EncryptionKeyID); st != http.StatusOK {
		t.Fatalf("the clone's member's key: Barbican answers %d", st)
	}

	for _, g := range []struct {
		id  string
		key string
	}{{g2, clones[0].EncryptionKeyID}, {gid, src[0].EncryptionKeyID}} {
		run("cinder", ksAlice, "--os-volume-api-version", "3.14", "group-delete", "--delete-volumes", g.id)
		waitGroupStatus(g.id, "gone")
		if st := c.keyStatus(g.key); st != http.StatusNotFound {
			t.Errorf("group %s deleted with its volumes, the key %s: Barbican answers %d, want 404", g.id, g.key, st)
		}
	}
	run("openstack", ksAdmin, "volume", "type", "delete", encType)
}
