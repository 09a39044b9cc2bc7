package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The test Keystone of deploy/keystone/keystone-up.sh and its users.
const (
	keystoneURL = "http://127.0.0.1:5000/v3"
)

// requireKeystone skips without the test Keystone, or fails when CI=true.
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

// issue logs user in to project with Keystone and returns the token.
func issue(t *testing.T, user, password, project string) string {
	t.Helper()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":{"id":"default"},"password":%q}}},"scope":{"project":{"name":%q,"domain":{"id":"default"}}}}}`, user, password, project)
	resp, err := http.Post(keystoneURL+"/auth/tokens?nocatalog", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("issue a token for %s: %v", user, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue a token for %s: %s", user, resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}

// revoke revokes token (Keystone then answers 404 for it, as for an expired one).
func revoke(t *testing.T, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, keystoneURL+"/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Subject-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %s", resp.Status)
	}
}

// proxy stands between the validator and Keystone: it counts validation requests and can
// play an unreachable Keystone.
type proxy struct {
	srv         *httptest.Server
	validations atomic.Int64
	down        atomic.Bool
}

func newProxy(t *testing.T) *proxy {
	p := &proxy{}
	target, _ := url.Parse("http://127.0.0.1:5000")
	rp := httputil.NewSingleHostReverseProxy(target)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v3/auth/tokens") {
			p.validations.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func validator(t *testing.T, authURL string, mod ...func(*Config)) *Keystone {
	t.Helper()
	cfg := Config{AuthURL: authURL, Username: "scoria", Password: "scoria-secret", ProjectName: "service",
		TokenCacheTime: 300 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestValidate: valid, garbage, revoked and empty tokens against the real Keystone.
func TestValidate(t *testing.T) {
	requireKeystone(t)
	k := validator(t, keystoneURL)
	ctx := context.Background()
	alice := issue(t, "alice", "alice-secret", "demo-a")
	id, err := k.Validate(ctx, alice)
	if err != nil {
		t.Fatalf("alice's token: %v", err)
	}
	if id.UserName != "alice" || id.ProjectName != "demo-a" || id.ProjectID == "" || id.UserID == "" ||
		!contains(id.Roles, "member") || contains(id.Roles, "admin") || !id.ExpiresAt.After(time.Now()) {
		t.Errorf("alice = %+v", id)
	}
	carol := issue(t, "carol", "carol-secret", "demo-a")
	if id, err := k.Validate(ctx, carol); err != nil || !contains(id.Roles, "reader") || contains(id.Roles, "member") {
		t.Errorf("carol = %+v, %v", id, err)
	}
	revoked := issue(t, "bob", "bob-secret", "demo-b")
	revoke(t, revoked)
	for name, tok := range map[string]string{"garbage": "gAAAAABnot-a-token", "revoked": revoked, "empty": "", "spaces": "a b"} {
		if _, err := k.Validate(ctx, tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s token: %v, want ErrInvalid", name, err)
		}
	}
}

// TestKeystoneUnreachable: no Keystone is ErrUnavailable, never a pass; a wrong service
// password too (the caller cannot help it).
func TestKeystoneUnreachable(t *testing.T) {
	requireKeystone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/v3"
	ln.Close()
	alice := issue(t, "alice", "alice-secret", "demo-a")
	if _, err := validator(t, dead).Validate(context.Background(), alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Keystone down: %v, want ErrUnavailable", err)
	}
	wrong := validator(t, keystoneURL, func(c *Config) { c.Password = "wrong" })
	if _, err := wrong.Validate(context.Background(), alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("wrong service password: %v, want ErrUnavailable", err)
	}
}

// TestCache: a cached token is not validated again within token_cache_time, is after it,
// the cache is bounded, and Keystone going away leaves cached tokens working and new ones
// unavailable until it is back.
func TestCache(t *testing.T) {
	requireKeystone(t)
	p := newProxy(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	k := validator(t, p.srv.URL+"/v3", func(c *Config) { c.TokenCacheTime = 60 * time.Second; c.CacheSize = 2; c.Now = clock })
	ctx := context.Background()
	alice := issue(t, "alice", "alice-secret", "demo-a")
	bob := issue(t, "bob", "bob-secret", "demo-b")
	carol := issue(t, "carol", "carol-secret", "demo-a")

	for i := 0; i < 5; i++ {
		if _, err := k.Validate(ctx, alice); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.validations.Load(); n != 1 {
		t.Errorf("%d validations for 5 uses of one token, want 1", n)
	}
	advance(61 * time.Second)
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if n := p.validations.Load(); n != 2 {
		t.Errorf("%d validations after token_cache_time, want 2", n)
	}
	for _, tok := range []string{bob, carol} {
		if _, err := k.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := k.CacheLen(); n != 2 {
		t.Errorf("cache holds %d tokens, bound 2", n)
	}

	// Keystone away: the cached tokens (bob, carol) work, alice (evicted) is unavailable.
	p.down.Store(true)
	for _, tok := range []string{bob, carol} {
		if _, err := k.Validate(ctx, tok); err != nil {
			t.Errorf("a cached token while Keystone is down: %v", err)
		}
	}
	if _, err := k.Validate(ctx, alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("an uncached token while Keystone is down: %v, want ErrUnavailable", err)
	}
	p.down.Store(false)
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Errorf("Keystone back: %v", err)
	}
}

// TestCacheNotPastExpiry: a token is never trusted past its expires_at, whatever
// token_cache_time says.
func TestCacheNotPastExpiry(t *testing.T) {
	requireKeystone(t)
	p := newProxy(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	k := validator(t, p.srv.URL+"/v3", func(c *Config) { c.TokenCacheTime = 48 * time.Hour; c.Now = clock })
	alice := issue(t, "alice", "alice-secret", "demo-a")
	id, err := k.Validate(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = id.ExpiresAt.Add(time.Second)
	mu.Unlock()
	// Keystone itself still thinks the token valid (its clock is real): the validator must
	// ask again, and then refuse it as expired by its own clock.
	if _, err := k.Validate(context.Background(), alice); !errors.Is(err, ErrInvalid) {
		t.Errorf("a token past expires_at: %v, want ErrInvalid", err)
	}
	if n := p.validations.Load(); n != 2 {
		t.Errorf("%d validations, want 2 (the cache must not outlive expires_at)", n)
	}
}

// TestRefusedTokensRemembered: a token Keystone refused (garbage, revoked) is refused again
// from the cache for token_cache_time without asking Keystone, and does not displace valid
// tokens; Keystone unreachable is not a refusal and is not remembered.
func TestRefusedTokensRemembered(t *testing.T) {
	requireKeystone(t)
	p := newProxy(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	k := validator(t, p.srv.URL+"/v3", func(c *Config) { c.TokenCacheTime = time.Minute; c.Now = clock; c.CacheSize = 2 })
	ctx := context.Background()
	alice := issue(t, "alice", "alice-secret", "demo-a")
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Fatal(err)
	}
	revoked := issue(t, "bob", "bob-secret", "demo-b")
	revoke(t, revoked)
	for _, c := range []struct {
		name, token string
	}{{"garbage", "gAAAAAB-garbage"}, {"revoked", revoked}} {
		before := p.validations.Load()
		for i := 0; i < 3; i++ {
			if _, err := k.Validate(ctx, c.token); !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: %v, want ErrInvalid", c.name, err)
			}
		}
		if n := p.validations.Load() - before; n != 1 {
			t.Errorf("%s: %d validations for 3 tries, want 1", c.name, n)
		}
	}
	// Many refused tokens leave the valid one cached.
	for i := 0; i < 20; i++ {
		_, _ = k.Validate(ctx, fmt.Sprintf("gAAAAAB-garbage-%d", i))
	}
	before := p.validations.Load()
	if _, err := k.Validate(ctx, alice); err != nil || p.validations.Load() != before {
		t.Errorf("alice after a flood of refused tokens: %v, %d more validations", err, p.validations.Load()-before)
	}
	// After token_cache_time Keystone is asked again.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	before = p.validations.Load()
	if _, err := k.Validate(ctx, "gAAAAAB-garbage"); !errors.Is(err, ErrInvalid) || p.validations.Load() != before+1 {
		t.Errorf("garbage after the cache time: %v, %d validations", err, p.validations.Load()-before)
	}
	// Keystone down: unavailable, not remembered as refused.
	p.down.Store(true)
	tok := issue(t, "carol", "carol-secret", "demo-a")
	if _, err := k.Validate(ctx, tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Keystone down: %v", err)
	}
	p.down.Store(false)
	if _, err := k.Validate(ctx, tok); err != nil {
		t.Errorf("a token first seen while Keystone was down: %v", err)
	}
}

// TestServiceTokenRenewed: a revoked service token is replaced by a new login, and one
// close to expiry is renewed before it is used.
func TestServiceTokenRenewed(t *testing.T) {
	requireKeystone(t)
	k := validator(t, keystoneURL, func(c *Config) { c.TokenCacheTime = 0 })
	ctx := context.Background()
	alice := issue(t, "alice", "alice-secret", "demo-a")
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Fatal(err)
	}
	first := k.svcToken
	revoke(t, first)
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Fatalf("after the service token was revoked: %v", err)
	}
	if k.svcToken == first {
		t.Error("the revoked service token is still used")
	}
	second := k.svcToken
	k.svcMu.Lock()
	k.svcExpires = time.Now().Add(time.Minute) // within serviceRefresh
	k.svcMu.Unlock()
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if k.svcToken == second {
		t.Error("a service token about to expire was not renewed")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
