// Package auth validates Keystone tokens for the API, as keystonemiddleware's auth_token does
// for Cinder: the API's own service token, GET /v3/auth/tokens per unknown user token, and a
// bounded cache of valid tokens.
package auth

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors of Validate. ErrInvalid is answered with 401, ErrUnavailable with 503.
var (
	ErrInvalid     = errors.New("the token is not valid")
	ErrUnavailable = errors.New("identity service unavailable")
)

// Config is Cinder's [keystone_authtoken] section.
type Config struct {
	WWWAuthenticateURI string // www_authenticate_uri: sent in WWW-Authenticate
	AuthURL            string // auth_url: where the service user logs in, e.g. http://127.0.0.1:5000/v3
	Username           string
	Password           string
	ProjectName        string
	UserDomainName     string
	ProjectDomainName  string
	RegionName         string
	// TokenCacheTime is how long a valid token is trusted without asking Keystone again
	// (token_cache_time, default 300s); never past the token's expires_at. 0 or less: no cache.
	TokenCacheTime time.Duration
	// CacheSize bounds the cache (default 10000 tokens); the least recently used goes first.
	CacheSize int
	// HTTPClient talks to Keystone (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Identity is what a valid token says of its holder.
type Identity struct {
	UserID, UserName, UserDomainID          string
	ProjectID, ProjectName, ProjectDomainID string
	Roles                                   []string
	ExpiresAt                               time.Time
}

// Keystone validates tokens against one Keystone. Safe for concurrent use.
type Keystone struct {
	cfg  Config
	http *http.Client
	now  func() time.Time

	svcMu      sync.Mutex
	svcToken   string
	svcExpires time.Time

	valid   *tokenCache // identities of valid tokens
	invalid *tokenCache // tokens Keystone refused, so that a client retrying one does not reach Keystone each time

}

// tokenCache is a bounded LRU of token hashes, each trusted until its own time.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	items map[[32]byte]*list.Element
	lru   *list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	key   [32]byte
	id    *Identity // nil in the invalid cache
	until time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, items: map[[32]byte]*list.Element{}, lru: list.New()}
}

// get returns the entry of key if it is still good at now.
func (c *tokenCache) get(key [32]byte, now time.Time) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) {
		c.lru.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e, true
}

func (c *tokenCache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		c.lru.Remove(el)
	}
	c.items[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// New returns a validator for cfg; it does not contact Keystone until the first token.
func New(cfg Config) (*Keystone, error) {
	if cfg.AuthURL == "" {
		return nil, errors.New("keystone_authtoken: auth_url is required with auth_strategy = keystone")
	}
	if cfg.Username == "" || cfg.Password == "" || cfg.ProjectName == "" {
		return nil, errors.New("keystone_authtoken: username, password and project_name are required with auth_strategy = keystone")
	}
	if cfg.UserDomainName == "" {
		cfg.UserDomainName = "Default"
	}
	if cfg.ProjectDomainName == "" {
		cfg.ProjectDomainName = "Default"
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10000
	}
	k := &Keystone{cfg: cfg, http: cfg.HTTPClient, now: cfg.Now, valid: newTokenCache(cfg.CacheSize),
		invalid: newTokenCache(max(cfg.CacheSize/10, 100))}
	if k.http == nil {
		k.http = &http.Client{Timeout: 10 * time.Second}
	}
	if k.now == nil {
		k.now = time.Now
	}
	return k, nil
}

// AuthenticateURI is what WWW-Authenticate names: www_authenticate_uri, else auth_url.
func (k *Keystone) AuthenticateURI() string {
	if k.cfg.WWWAuthenticateURI != "" {
		return k.cfg.WWWAuthenticateURI
	}
	return k.cfg.AuthURL
}

// Validate returns the identity of token, from the cache or from Keystone. A token Keystone
// refused is remembered as refused for token_cache_time as well (as keystonemiddleware's
// store_invalid does): a token never becomes valid again.
func (k *Keystone) Validate(ctx context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, ErrInvalid
	}
	key := sha256.Sum256([]byte(token))
	now := k.now()
	if e, ok := k.valid.get(key, now); ok {
		return e.id, nil
	}
	if _, ok := k.invalid.get(key, now); ok {
		return nil, ErrInvalid
	}
	id, err := k.validate(ctx, token, false)
	if errors.Is(err, ErrInvalid) {
		k.remember(key, nil, now)
	}
	if err != nil {
		return nil, err
	}
	if !id.ExpiresAt.IsZero() && !id.ExpiresAt.After(now) {
		k.remember(key, nil, now)
		return nil, ErrInvalid
	}
	k.remember(key, id, now)
	return id, nil
}

// remember caches a validation: id for a valid token (never past its expires_at), nil for
// a refused one.
func (k *Keystone) remember(key [32]byte, id *Identity, now time.Time) {
	if k.cfg.TokenCacheTime <= 0 {
		return
	}
	until := now.Add(k.cfg.TokenCacheTime)
	if id == nil {
		k.invalid.put(&cacheEntry{key: key, until: until})
		return
	}
	if !id.ExpiresAt.IsZero() && id.ExpiresAt.Before(until) {
		until = id.ExpiresAt
	}
	k.valid.put(&cacheEntry{key: key, id: id, until: until})
}

// CacheLen is the number of cached valid tokens.
func (k *Keystone) CacheLen() int { return k.valid.len() }

// tokenBody is the part of Keystone's token document Scoria reads.
type tokenBody struct {
	Token struct {
		ExpiresAt time.Time `json:"expires_at"`
		User      struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"project"`
		Roles []struct {
			Name string `json:"name"`
		} `json:"roles"`
	} `json:"token"`
}

func (b *tokenBody) identity() *Identity {
	t := b.Token
	id := &Identity{UserID: t.User.ID, UserName: t.User.Name, UserDomainID: t.User.Domain.ID, ExpiresAt: t.ExpiresAt}
	if t.Project != nil {
		id.ProjectID, id.ProjectName, id.ProjectDomainID = t.Project.ID, t.Project.Name, t.Project.Domain.ID
	}
	for _, r := range t.Roles {
		id.Roles = append(id.Roles, r.Name)
	}
	return id
}

// validate asks Keystone about token; a 401 for the service token makes it log in again
// once (the service token was revoked or expired early).
func (k *Keystone) validate(ctx context.Context, token string, retried bool) (*Identity, error) {
	svc, err := k.serviceToken(ctx, retried)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url("/auth/tokens?nocatalog"), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("X-Auth-Token", svc)
	req.Header.Set("X-Subject-Token", token)
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the validation: %v", ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var b tokenBody
		if err := json.Unmarshal(body, &b); err != nil {
			return nil, fmt.Errorf("%w: the validation is not JSON: %v", ErrUnavailable, err)
		}
		return b.identity(), nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, ErrInvalid
	case resp.StatusCode == http.StatusUnauthorized && !retried:
		return k.validate(ctx, token, true)
	case resp.StatusCode == http.StatusBadRequest:
		return nil, ErrInvalid // e.g. a malformed token
	default:
		return nil, fmt.Errorf("%w: token validation answered %s", ErrUnavailable, resp.Status)
	}
}

func (k *Keystone) url(path string) string {
	base := strings.TrimRight(k.cfg.AuthURL, "/")
	if !strings.HasSuffix(base, "/v3") {
		base += "/v3"
	}
	return base + path
}

// serviceRefresh is how long before its expiry the service token is replaced.
const serviceRefresh = 5 * time.Minute

// serviceToken returns the API's own token, logging in when there is none, it expires
// within serviceRefresh, or force.
func (k *Keystone) serviceToken(ctx context.Context, force bool) (string, error) {
	k.svcMu.Lock()
	defer k.svcMu.Unlock()
	if !force && k.svcToken != "" && k.now().Add(serviceRefresh).Before(k.svcExpires) {
		return k.svcToken, nil
	}
	tok, exp, err := k.login(ctx)
	if err != nil {
		return "", err
	}
	k.svcToken, k.svcExpires = tok, exp
	return tok, nil
}

func (k *Keystone) login(ctx context.Context) (string, time.Time, error) {
	var doc struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string            `json:"name"`
						Domain   map[string]string `json:"domain"`
						Password string            `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					Name   string            `json:"name"`
					Domain map[string]string `json:"domain"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	a := &doc.Auth
	a.Identity.Methods = []string{"password"}
	a.Identity.Password.User.Name = k.cfg.Username
	a.Identity.Password.User.Domain = map[string]string{"name": k.cfg.UserDomainName}
	a.Identity.Password.User.Password = k.cfg.Password
	a.Scope.Project.Name = k.cfg.ProjectName
	a.Scope.Project.Domain = map[string]string{"name": k.cfg.ProjectDomainName}
	raw, _ := json.Marshal(doc)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.url("/auth/tokens?nocatalog"), bytes.NewReader(raw))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: service login: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusCreated {
		// A refused service login is a configuration problem, not the caller's: 503.
		return "", time.Time{}, fmt.Errorf("%w: service user %s could not log in: %s", ErrUnavailable, k.cfg.Username, resp.Status)
	}
	var b tokenBody
	if err := json.Unmarshal(body, &b); err != nil {
		return "", time.Time{}, fmt.Errorf("%w: service login answer: %v", ErrUnavailable, err)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", time.Time{}, fmt.Errorf("%w: service login gave no X-Subject-Token", ErrUnavailable)
	}
	return tok, b.Token.ExpiresAt, nil
}

// ServiceToken returns a token of the configured service user (logging in when it has none
// or it is about to expire): what a service sends where it holds no user token, such as a
// volume service reaching Glance after a restart.
func (k *Keystone) ServiceToken(ctx context.Context) (string, error) {
	return k.serviceToken(ctx, false)
}
