package keymanager

import (
	"bytes"
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
)

// The test Barbican and Keystone of deploy/barbican/barbican-up.sh and
// deploy/keystone/keystone-up.sh; SCORIA_BARBICAN_URL and SCORIA_KEYSTONE_URL point elsewhere.
func barbicanURL() string { return envOr("SCORIA_BARBICAN_URL", "http://127.0.0.1:9311") }
func keystoneURL() string { return envOr("SCORIA_KEYSTONE_URL", "http://127.0.0.1:5000/v3") }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// requireService skips without the service at rawURL, or fails when CI=true.
func requireService(t *testing.T, name, rawURL, setup string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		msg := fmt.Sprintf("no %s on %s (run %s)", name, u.Host, setup)
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and " + msg)
		}
		t.Skip(msg)
	}
	c.Close()
}

// issue logs user in to project and returns the token.
func issue(t *testing.T, user, password, project string) string {
	t.Helper()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":{"id":"default"},"password":%q}}},"scope":{"project":{"name":%q,"domain":{"id":"default"}}}}}`, user, password, project)
	resp, err := http.Post(keystoneURL()+"/auth/tokens?nocatalog", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("issue a token for %s: %v", user, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue a token for %s: %s", user, resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}

// TestBarbicanKeys drives the real Barbican: a key made, read, copied and deleted, with the
// endpoint configured and found in the catalog.
func TestBarbicanKeys(t *testing.T) {
	requireService(t, "Keystone", keystoneURL(), "deploy/keystone/keystone-up.sh")
	requireService(t, "Barbican", barbicanURL(), "deploy/barbican/barbican-up.sh")
	alice := issue(t, "alice", "alice-secret", "demo-a")
	bob := issue(t, "bob", "bob-secret", "demo-b")
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"configured endpoint", Config{Backend: "barbican", Endpoint: barbicanURL(), RetryDelay: 100 * time.Millisecond}},
		{"catalog", Config{Backend: "castellan.key_manager.barbican_key_manager.BarbicanKeyManager", AuthEndpoint: keystoneURL(), RetryDelay: 100 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			km := New(c.cfg)
			id, err := km.CreateKey(ctx, alice, "aes", 256)
			if err != nil {
				t.Fatal(err)
			}
			k, err := km.GetKey(ctx, alice, id)
			if err != nil {
				t.Fatal(err)
			}
			if k.ID != id || k.Algorithm != "aes" || k.Bits != 256 || len(k.Material) != 32 {
				t.Fatalf("key %s: %s/%d, %d bytes; want aes/256, 32 bytes", id, k.Algorithm, k.Bits, len(k.Material))
			}
			cp, err := km.CopyKey(ctx, alice, id)
			if err != nil {
				t.Fatal(err)
			}
			if cp == id {
				t.Fatalf("the copy has the original's id %s", id)
			}
			kc, err := km.GetKey(ctx, alice, cp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(kc.Material, k.Material) || kc.Bits != 256 || kc.Algorithm != "aes" {
				t.Fatalf("the copy differs: %s/%d", kc.Algorithm, kc.Bits)
			}
			// Another project's user cannot read or delete it.
			if _, err := km.GetKey(ctx, bob, id); err == nil {
				t.Fatalf("bob read alice's key")
			}
			if err := km.DeleteKey(ctx, bob, id); err == nil {
				t.Fatalf("bob deleted alice's key")
			}
			for _, k := range []string{id, cp} {
				if err := km.DeleteKey(ctx, alice, k); err != nil {
					t.Fatal(err)
				}
				if _, err := km.GetKey(ctx, alice, k); !errors.Is(err, ErrNotFound) {
					t.Fatalf("read after delete: %v, want ErrNotFound", err)
				}
				if err := km.DeleteKey(ctx, alice, k); !errors.Is(err, ErrNotFound) {
					t.Fatalf("second delete: %v, want ErrNotFound", err)
				}
			}
			// A token Keystone does not know is Barbican's 401.
			var e *Error
			if _, err := km.CreateKey(ctx, "not-a-token", "aes", 256); !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
				t.Fatalf("create with a bad token: %v, want HTTP 401", err)
			}
		})
	}
}

// TestBarbicanUnreachable: a key manager that cannot be reached fails, never hangs or
// succeeds.
func TestBarbicanUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"endpoint down", Config{Backend: "barbican", Endpoint: dead}},
		{"keystone down", Config{Backend: "barbican", AuthEndpoint: dead + "/v3"}},
		{"no endpoint", Config{Backend: "barbican"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg).CreateKey(context.Background(), "t", "aes", 256); err == nil {
				t.Fatal("created a key")
			}
		})
	}
}

// TestNoKeyManager: any backend but Barbican is no key manager.
func TestNoKeyManager(t *testing.T) {
	ctx := context.Background()
	for _, backend := range []string{"", "cinder.keymgr.conf_key_mgr.ConfKeyManager", "vault"} {
		t.Run(backend, func(t *testing.T) {
			km := New(Config{Backend: backend, Endpoint: barbicanURL()})
			_, err1 := km.CreateKey(ctx, "t", "aes", 256)
			_, err2 := km.CopyKey(ctx, "t", "k")
			_, err3 := km.GetKey(ctx, "t", "k")
			err4 := km.DeleteKey(ctx, "t", "k")
			for i, err := range []error{err1, err2, err3, err4} {
				if !errors.Is(err, ErrNoKeyManager) {
					t.Errorf("call %d: %v, want ErrNoKeyManager", i+1, err)
				}
			}
		})
	}
}
