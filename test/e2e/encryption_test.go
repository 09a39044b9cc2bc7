package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEncryptionWithBarbican: volume type encryption through the cinder and openstack CLIs
// on a keystone cluster whose key manager is the real Barbican: an encrypted volume's key
// exists in Barbican, a clone and a volume from a snapshot get keys of their own, a delete
// removes the key, and the type's encryption cannot change while volumes use it.
func TestEncryptionWithBarbican(t *testing.T) {
	c := startBarbicanCluster(t)
	tag, run := c.tag, c.run

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
	c.createEncryptedType(encType)
	if out := run("openstack", ksAdmin, "volume", "type", "show", "--encryption-type", "-f", "json", encType); !strings.Contains(out, "aes-xts-plain64") {
		t.Errorf("openstack volume type show --encryption-type:\n%s", out)
	}

	show := func(id string) encVolume {
		t.Helper()
		var body struct{ Volume encVolume }
		if st := c.get("/volumes/"+id, &body); st != http.StatusOK {
			t.Fatalf("GET volume %s: %d", id, st)
		}
		return body.Volume
	}
	create := func(args ...string) encVolume {
		t.Helper()
		out := run("openstack", ksAlice, append([]string{"volume", "create", "-f", "json"}, args...)...)
		var created encVolume
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
		if st := c.keyStatus(v.EncryptionKeyID); st != http.StatusOK {
			t.Fatalf("volume %s's key %s: Barbican answers %d, want 200", v.ID, v.EncryptionKeyID, st)
		}
		return v
	}

	orig := create("--type", encType, "--size", "1", "encrypted-"+tag)
	// What Nova reads to attach it.
	var meta map[string]any
	if st := c.get("/volumes/"+orig.ID+"/encryption", &meta); st != http.StatusOK || meta["encryption_key_id"] != orig.EncryptionKeyID ||
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
		st := c.get("/snapshots/"+snapID, &body)
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
	if out, err := passwordCLI(t, "cinder", ksAdmin, c.region, "encryption-type-delete", encType); err == nil || !strings.Contains(out, "Volume type in use") {
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
	for _, v := range []encVolume{orig, clone, fromSnap} {
		run("openstack", ksAlice, "volume", "delete", v.ID)
		if st := c.keyStatus(v.EncryptionKeyID); st != http.StatusNotFound {
			t.Errorf("volume %s deleted, its key %s: Barbican answers %d, want 404", v.ID, v.EncryptionKeyID, st)
		}
	}
	for _, v := range []encVolume{orig, clone, fromSnap} {
		if err := c.WaitVolumeGone(v.ID, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	run("cinder", ksAdmin, "encryption-type-delete", encType)
	run("openstack", ksAdmin, "volume", "type", "delete", encType)
}
