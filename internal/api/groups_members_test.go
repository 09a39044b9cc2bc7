package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/keymanager"
	"github.com/scoria/scoria/internal/resource"
)

// groupPool records the capacity report of groupHost's pool: a thick pool of total GiB.
func (e *env) groupPool(total float64) {
	e.t.Helper()
	if err := e.store.UpsertPool(context.Background(), resource.PoolCapacity{Name: groupHost, Backend: "host1@lvm",
		TotalGB: &total, Ratio: 1, ReportedAt: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) poolAllocated() int64 {
	e.t.Helper()
	p, err := e.store.GetPool(context.Background(), groupHost)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.AllocatedGB
}

// TestGroupFromSourceCapacity: the members of a group made from a source claim their sizes
// on the source's pool with the rows; a pool that cannot hold them refuses the group with
// Cinder's words, and the group and its members are left in error, holding nothing, with a
// user message saying why.
func TestGroupFromSourceCapacity(t *testing.T) {
	for _, c := range []struct {
		name  string
		total float64 // the pool's size; 0: the pool never reported
		sizes []int
		fits  bool
	}{
		{"fits", 100, []int{10, 20}, true},
		{"exactly fits with the source", 60, []int{10, 20}, true},
		{"too big", 50, []int{10, 20}, false},
		{"pool never reported", 0, []int{1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.addGroupType("gt1", nil)
			src := e.createGroup(`{"group": {"group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
			e.placeGroup(src, resource.GroupStatusAvailable)
			total := 0
			for _, size := range c.sizes {
				id := e.memberVolume(src)
				if _, err := e.raw.Exec("UPDATE volumes SET size = ?, claimed_gb = ? WHERE id = ?", size, size, id); err != nil {
					t.Fatal(err)
				}
				total += size
			}
			var before int64
			if c.total > 0 {
				e.groupPool(c.total) // recomputes allocated_gb: the source's members hold total
				before = e.poolAllocated()
			}
			rec := e.do(call{method: "POST", path: "/v3/p1/groups/action", version: mv314, body: `{"create-from-src": {"source_group_id": "` + src + `"}}`})
			if c.fits {
				wantStatus(t, rec, http.StatusAccepted)
				id := str(t, obj(t, rec), "group", "id")
				if got := e.poolAllocated(); got != before+int64(total) {
					t.Errorf("allocated %d, want %d", got, before+int64(total))
				}
				vols, _ := e.store.ListGroupVolumes(context.Background(), id)
				if len(vols) != len(c.sizes) || vols[0].Status != resource.StatusCreating {
					t.Errorf("members = %+v", vols)
				}
				return
			}
			wantStatus(t, rec, http.StatusBadRequest)
			if !strings.Contains(rec.Body.String(), "Invalid Group: No valid host to create group ") {
				t.Fatalf("body %s", rec.Body)
			}
			var id string
			if err := e.raw.QueryRow("SELECT id FROM `groups` WHERE source_group_id = ?", src).Scan(&id); err != nil {
				t.Fatalf("the refused group was not recorded: %v", err)
			}
			if g := e.group(id); g.Status != resource.GroupStatusError {
				t.Errorf("refused group in %s, want error", g.Status)
			}
			vols, _ := e.store.ListGroupVolumes(context.Background(), id)
			if len(vols) != len(c.sizes) {
				t.Fatalf("%d members, want %d", len(vols), len(c.sizes))
			}
			for _, v := range vols {
				if v.Status != resource.StatusError {
					t.Errorf("member %s in %s, want error", v.ID, v.Status)
				}
			}
			if c.total > 0 && e.poolAllocated() != before {
				t.Errorf("allocated %d after a refusal, want %d", e.poolAllocated(), before)
			}
			rec = e.do(call{method: "GET", path: "/v3/p1/messages?resource_uuid=" + id, version: "volume 3.3"})
			if !strings.Contains(rec.Body.String(), "No valid host to create group "+id) {
				t.Errorf("user messages of the group: %s", rec.Body)
			}
			// The owner can delete what is left.
			wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/groups/" + id + "/action", version: mv313, body: `{"delete": {"delete-volumes": true}}`}), http.StatusAccepted)
		})
	}
}

// Barbican and Keystone of deploy/barbican and deploy/keystone (SCORIA_BARBICAN_URL and
// SCORIA_KEYSTONE_URL point elsewhere).
func testBarbicanURL() string { return envOr("SCORIA_BARBICAN_URL", "http://127.0.0.1:9311") }
func testKeystoneURL() string { return envOr("SCORIA_KEYSTONE_URL", "http://127.0.0.1:5000/v3") }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// requireTestService skips without the service at rawURL, or fails when CI=true.
func requireTestService(t *testing.T, name, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		msg := fmt.Sprintf("no %s on %s", name, u.Host)
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and " + msg)
		}
		t.Skip(msg)
	}
	c.Close()
}

// keystoneToken logs alice in to demo-a (deploy/keystone's test user) and returns the token.
func keystoneToken(t *testing.T) string {
	t.Helper()
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alice-secret"}}},"scope":{"project":{"name":"demo-a","domain":{"id":"default"}}}}}`
	resp, err := http.Post(testKeystoneURL()+"/auth/tokens?nocatalog", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("issue a token: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue a token: %s", resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}

// TestGroupMembersGetKeys drives the real Barbican: a volume created into a group of an
// encrypted type gets a key; the members of a group cloned from that group, and of a group
// made from its group snapshot, each get a copy of their source's key (a key of their own
// with the same material), as single clones do.
func TestGroupMembersGetKeys(t *testing.T) {
	requireTestService(t, "Keystone", testKeystoneURL())
	requireTestService(t, "Barbican", testBarbicanURL())
	token := keystoneToken(t)
	km := keymanager.New(keymanager.Config{Backend: "barbican", Endpoint: testBarbicanURL(), RetryDelay: 100 * time.Millisecond})
	e := newEnv(t, func(o *Options) { o.KeyManager = km })
	// noauth takes the token as the caller's project: the URL's project is the token.
	p := "/v3/" + token
	do := func(method, path, version, body string) *wire.Object {
		t.Helper()
		rec := e.do(call{method: method, path: p + path, version: version, body: body, token: token})
		if rec.Code != http.StatusAccepted && rec.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		if rec.Body.Len() == 0 {
			return nil
		}
		return obj(t, rec)
	}
	ctx := context.Background()
	material := func(id string) string {
		t.Helper()
		k, err := km.GetKey(ctx, token, id)
		if err != nil {
			t.Fatalf("key %s: %v", id, err)
		}
		return fmt.Sprintf("%x", k.Material)
	}
	const encType = "33333333-0000-0000-0000-0000000000a1"
	e.addVolumeType(encType, "group-luks")
	do("POST", "/types/"+encType+"/encryption", "",
		`{"encryption": {"provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}}`)
	gt := e.addGroupType("gt-enc", map[string]string{resource.ConsistentGroupSnapshotSpec: "<is> True"})
	e.groupPool(100)
	src := str(t, do("POST", "/groups", mv313, `{"group": {"group_type": "`+gt+`", "volume_types": ["`+encType+`"]}}`), "group", "id")
	e.placeGroup(src, resource.GroupStatusAvailable)

	// A volume created into the group: the normal create path gives it a key.
	vid := str(t, do("POST", "/volumes", mv313, `{"volume": {"size": 1, "volume_type": "`+encType+`", "group_id": "`+src+`"}}`), "volume", "id")
	v := e.volume(vid)
	if v.EncryptionKeyID == "" || v.GroupID != src {
		t.Fatalf("volume in the group: key %q, group %q", v.EncryptionKeyID, v.GroupID)
	}
	srcMaterial := material(v.EncryptionKeyID)
	e.place(vid, groupHost, resource.StatusAvailable)

	checkMembers := func(t *testing.T, group string) {
		t.Helper()
		vols, err := e.store.ListGroupVolumes(ctx, group)
		if err != nil || len(vols) != 1 {
			t.Fatalf("members %v, %v", vols, err)
		}
		m := vols[0]
		if m.EncryptionKeyID == "" || m.EncryptionKeyID == v.EncryptionKeyID {
			t.Fatalf("member key %q (source's %q): want a copy of its own", m.EncryptionKeyID, v.EncryptionKeyID)
		}
		if got := material(m.EncryptionKeyID); got != srcMaterial {
			t.Errorf("member's key is not a copy of the source's")
		}
	}
	t.Run("clone of the group", func(t *testing.T) {
		id := str(t, do("POST", "/groups/action", mv314, `{"create-from-src": {"source_group_id": "`+src+`"}}`), "group", "id")
		checkMembers(t, id)
	})
	t.Run("from a group snapshot", func(t *testing.T) {
		gsID := str(t, do("POST", "/group_snapshots", mv314, `{"group_snapshot": {"group_id": "`+src+`"}}`), "group_snapshot", "id")
		if err := e.store.FinishGroupSnapshot(ctx, gsID, nil, nil); err != nil {
			t.Fatal(err)
		}
		id := str(t, do("POST", "/groups/action", mv314, `{"create-from-src": {"group_snapshot_id": "`+gsID+`"}}`), "group", "id")
		checkMembers(t, id)
	})
	t.Run("group delete deletes the members' keys", func(t *testing.T) {
		id := str(t, do("POST", "/groups/action", mv314, `{"create-from-src": {"source_group_id": "`+src+`"}}`), "group", "id")
		vols, err := e.store.ListGroupVolumes(ctx, id)
		if err != nil || len(vols) != 1 || vols[0].EncryptionKeyID == "" {
			t.Fatalf("members %v, %v", vols, err)
		}
		e.place(vols[0].ID, groupHost, resource.StatusAvailable)
		if err := e.store.ResetGroupStatus(ctx, id, resource.GroupStatusAvailable); err != nil {
			t.Fatal(err)
		}
		do("POST", "/groups/"+id+"/action", mv313, `{"delete": {"delete-volumes": true}}`)
		if _, err := km.GetKey(ctx, token, vols[0].EncryptionKeyID); !errors.Is(err, keymanager.ErrNotFound) {
			t.Errorf("member's key after the group's delete: %v, want not found", err)
		}
		if got := material(v.EncryptionKeyID); got != srcMaterial {
			t.Errorf("the source's key changed")
		}
	})
	t.Run("no room: no key kept", func(t *testing.T) {
		e.groupPool(1) // the source and the clone above hold 2 GiB already
		rec := e.do(call{method: "POST", path: p + "/groups/action", version: mv314, token: token,
			body: `{"create-from-src": {"source_group_id": "` + src + `"}}`})
		wantStatus(t, rec, http.StatusBadRequest)
		var id string
		if err := e.raw.QueryRow("SELECT id FROM `groups` WHERE source_group_id = ? AND status = 'error'", src).Scan(&id); err != nil {
			t.Fatal(err)
		}
		vols, _ := e.store.ListGroupVolumes(ctx, id)
		for _, m := range vols {
			if m.EncryptionKeyID != "" {
				t.Errorf("refused member keeps key %s", m.EncryptionKeyID)
			}
		}
	})
}

// TestRenameGroupMakesAvailable: a name or description only update sets the group
// available whatever its status, as Cinder's group_api.update (no expected status there);
// one that adds or removes volumes still needs it available.
func TestRenameGroupMakesAvailable(t *testing.T) {
	for _, c := range []struct {
		status, body string
		code         int
		want         string
	}{
		{resource.GroupStatusError, `{"group": {"name": "renamed"}}`, http.StatusAccepted, resource.GroupStatusAvailable},
		{resource.GroupStatusUpdating, `{"group": {"description": "d2"}}`, http.StatusAccepted, resource.GroupStatusAvailable},
		{resource.GroupStatusAvailable, `{"group": {"name": "renamed"}}`, http.StatusAccepted, resource.GroupStatusAvailable},
		{resource.GroupStatusError, `{"group": {"name": "renamed", "add_volumes": "ADD"}}`, http.StatusBadRequest, resource.GroupStatusError},
	} {
		t.Run(c.status+" "+c.body, func(t *testing.T) {
			e := newEnv(t)
			e.addGroupType("gt1", nil)
			id := e.createGroup(`{"group": {"name": "g1", "group_type": "gt1", "volume_types": ["__DEFAULT__"]}}`)
			e.placeGroup(id, c.status)
			body := strings.ReplaceAll(c.body, "ADD", e.memberVolume(""))
			wantStatus(t, e.do(call{method: "PUT", path: "/v3/p1/groups/" + id, version: mv313, body: body}), c.code)
			if g := e.group(id); g.Status != c.want {
				t.Errorf("status %s, want %s", g.Status, c.want)
			}
		})
	}
}
