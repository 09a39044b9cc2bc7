package glance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real Glance of deploy/glance/glance-up.sh: SCORIA_TEST_GLANCE_URL and the other
// SCORIA_TEST_GLANCE_* variables, or else its env file ($GLANCE_DIR/env, default
// /tmp/scoria-glance/env). Tokens come from the test Keystone of deploy/keystone/keystone-up.sh
// (SCORIA_KEYSTONE_URL, default http://127.0.0.1:5000/v3) for its demo user alice (demo-a).

// glanceEnv returns the test Glance's settings, skipping (or failing under CI=true) without it.
func glanceEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	dir := os.Getenv("GLANCE_DIR")
	if dir == "" {
		dir = "/tmp/scoria-glance"
	}
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok {
				env[k] = v
			}
		}
		f.Close()
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SCORIA_TEST_GLANCE_") {
			env[k] = v
		}
	}
	missing := func(msg string) {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and " + msg)
		}
		t.Skip(msg)
	}
	u := env["SCORIA_TEST_GLANCE_URL"]
	if u == "" {
		missing("no test Glance: SCORIA_TEST_GLANCE_URL unset and no " + filepath.Join(dir, "env") + " (run deploy/glance/glance-up.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(u, "/")+"/versions", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missing(fmt.Sprintf("the test Glance at %s does not answer: %v (run deploy/glance/glance-up.sh)", u, err))
	}
	resp.Body.Close()
	return env
}

func keystoneURL() string {
	if v := os.Getenv("SCORIA_KEYSTONE_URL"); v != "" {
		return v
	}
	return "http://127.0.0.1:5000/v3"
}

// demoToken logs alice in to demo-a.
func demoToken(t *testing.T) string {
	t.Helper()
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alice-secret"}}},"scope":{"project":{"name":"demo-a","domain":{"id":"default"}}}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, keystoneURL()+"/auth/tokens?nocatalog", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, and no Keystone: %v", err)
		}
		t.Skipf("no Keystone at %s: %v", keystoneURL(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("alice's token: %s", resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}

// qcow2 makes a small real qcow2 (64 MiB virtual, 3 MiB written) with qemu-img and qemu-io.
func qcow2(t *testing.T) (string, []byte) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and no qemu-img (qemu-utils)")
		}
		t.Skip("no qemu-img (qemu-utils)")
	}
	p := filepath.Join(t.TempDir(), "image.qcow2")
	for _, args := range [][]string{
		{"qemu-img", "create", "-q", "-f", "qcow2", p, "64M"},
		{"qemu-io", "-f", "qcow2", "-c", "write -P 0x5c 1M 3M", p},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestRealGlance: an image's life on the real Glance as a project member, in each store.
func TestRealGlance(t *testing.T) {
	env := glanceEnv(t)
	a := Auth{Token: demoToken(t)}
	path, data := qcow2(t)
	c, err := New(Config{APIServers: []string{env["SCORIA_TEST_GLANCE_URL"]}, RequestTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stores := strings.Split(env["SCORIA_TEST_GLANCE_STORES"], ",")
	if env["SCORIA_TEST_GLANCE_STORES"] == "" {
		stores = []string{"file"}
	}
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			img, err := c.Create(ctx, a, CreateRequest{Name: "scoria-glance-test-" + store, DiskFormat: "qcow2",
				ContainerFormat: "bare", Visibility: "private", Properties: map[string]string{"scoria_test": store}})
			if err != nil {
				t.Fatal(err)
			}
			id := img.ID
			t.Cleanup(func() {
				if err := c.Delete(context.Background(), a, id); err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("clean-up: %v", err)
				}
			})
			if img.Status != StatusQueued || img.Size != nil {
				t.Fatalf("new image: status %s, size %v", img.Status, img.Size)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			upload := store
			if store == "file" {
				upload = "" // the default store
			}
			// Without Seek: the data is streamed as a caller's pipe would be.
			if err := c.UploadToStore(ctx, a, id, upload, io.MultiReader(f), int64(len(data))); err != nil {
				t.Fatal(err)
			}

			img, err = c.Show(ctx, a, id)
			if err != nil {
				t.Fatal(err)
			}
			if img.Status != StatusActive || img.Size == nil || *img.Size != int64(len(data)) || img.Stores != store {
				t.Fatalf("after upload: status %s, size %v, stores %q", img.Status, img.Size, img.Stores)
			}
			if img.VirtualSize == nil || *img.VirtualSize != 64<<20 {
				t.Errorf("virtual_size %v, want %d", img.VirtualSize, 64<<20)
			}
			if img.Checksum == "" || img.HashAlgo == "" || img.HashValue == "" {
				t.Errorf("no checksum or hash: %+v", img)
			}
			if img.Properties["scoria_test"] != store {
				t.Errorf("properties %v", img.Properties)
			}
			scheme := map[string]string{"file": "file://", "ceph": "rbd://"}[store]
			if !strings.HasPrefix(img.DirectURL, scheme) || len(img.Locations) == 0 || img.Locations[0].Metadata["store"] != store {
				t.Errorf("direct_url %q, locations %+v: want %s in store %s", img.DirectURL, img.Locations, scheme, store)
			}
			if store == "ceph" && !strings.HasSuffix(img.DirectURL, "/"+env["SCORIA_TEST_GLANCE_RBD_POOL"]+"/"+id+"/snap") {
				t.Errorf("direct_url %q: want rbd://<fsid>/<pool>/<id>/snap", img.DirectURL)
			}

			got := download(ctx, t, c, a, id)
			if !bytes.Equal(got, data) {
				t.Fatalf("downloaded %d bytes that differ from the %d uploaded", len(got), len(data))
			}

			img, err = c.Update(ctx, a, id, SetProperty("scoria_note", "patched"), RemoveProperty("scoria_test"))
			if err != nil {
				t.Fatal(err)
			}
			if img.Properties["scoria_note"] != "patched" || img.Properties["scoria_test"] != nil {
				t.Errorf("after update: %v", img.Properties)
			}

			if err := c.Deactivate(ctx, a, id); err != nil {
				t.Fatal(err)
			}
			if img, err = c.Show(ctx, a, id); err != nil || img.Status != StatusDeactivated {
				t.Fatalf("after deactivate: %v %+v", err, img)
			}
			if rc, err := c.Download(ctx, a, id); !errors.Is(err, ErrForbidden) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("download of a deactivated image: %v, want ErrForbidden", err)
			}
			if err := c.Reactivate(ctx, a, id); err != nil {
				t.Fatal(err)
			}
			if img, err = c.Show(ctx, a, id); err != nil || img.Status != StatusActive {
				t.Fatalf("after reactivate: %v %+v", err, img)
			}

			if err := c.Delete(ctx, a, id); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Show(ctx, a, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("show after delete: %v, want ErrNotFound", err)
			}
			if err := c.Delete(ctx, a, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("second delete: %v, want ErrNotFound", err)
			}
		})
	}
}

func download(ctx context.Context, t *testing.T, c *Client, a Auth, id string) []byte {
	t.Helper()
	rc, err := c.Download(ctx, a, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealGlanceThroughCatalog: without glance_api_servers the endpoint comes from the user's
// catalog in the test Keystone (image:glance:publicURL, RegionOne); a bad token is refused.
func TestRealGlanceThroughCatalog(t *testing.T) {
	env := glanceEnv(t)
	a := Auth{Token: demoToken(t)}
	c, err := New(Config{AuthURL: keystoneURL(), RegionName: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img, err := c.Create(ctx, a, CreateRequest{Name: "scoria-glance-catalog", DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(context.Background(), a, img.ID)
	if _, err := c.Show(ctx, a, img.ID); err != nil {
		t.Fatal(err)
	}
	// The catalog's endpoint is the one glance-up.sh registered.
	servers, err := c.servers(ctx, a)
	if err != nil || len(servers) != 1 || servers[0] != strings.TrimRight(env["SCORIA_TEST_GLANCE_URL"], "/") {
		t.Errorf("catalog endpoint %v (%v), want %s", servers, err, env["SCORIA_TEST_GLANCE_URL"])
	}
	direct, _ := New(Config{APIServers: []string{env["SCORIA_TEST_GLANCE_URL"]}})
	if _, err := direct.Show(ctx, Auth{Token: "not-a-token"}, img.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a bad token: %v, want ErrForbidden", err)
	}
}
