package keymanager

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// barbican is the Barbican key manager (castellan's BarbicanKeyManager): keys are made by
// key orders, copies are stored as secrets, and each call carries the caller's token.
type barbican struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	endpoint string // the versioned base URL, once known
}

func newBarbican(cfg Config) *barbican {
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = "v1"
	}
	if cfg.EndpointType == "" {
		cfg.EndpointType = "public"
	}
	if cfg.Retries < 1 {
		cfg.Retries = 60
	}
	return &barbican{cfg: cfg, client: c}
}

// Error is an answer of Barbican's (or of Keystone's catalog) that is not a success.
type Error struct {
	Op     string
	Status int
	Body   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("key manager: %s: HTTP %d: %s", e.Op, e.Status, e.Body)
}

// base returns Barbican's versioned URL: barbican_endpoint, or the catalog's key-manager
// endpoint read with token (kept once found), with barbican_api_version appended.
func (b *barbican) base(ctx context.Context, token string) (string, error) {
	b.mu.Lock()
	known := b.endpoint
	b.mu.Unlock()
	if known != "" {
		return known, nil
	}
	ep := b.cfg.Endpoint
	if ep == "" {
		var err error
		if ep, err = b.fromCatalog(ctx, token); err != nil {
			return "", err
		}
	}
	ep = strings.TrimSuffix(ep, "/")
	if !strings.HasSuffix(ep, "/"+b.cfg.APIVersion) {
		ep += "/" + b.cfg.APIVersion
	}
	b.mu.Lock()
	b.endpoint = ep
	b.mu.Unlock()
	return ep, nil
}

// fromCatalog reads the caller's catalog (GET /v3/auth/catalog) and returns the key-manager
// endpoint of the configured interface and region.
func (b *barbican) fromCatalog(ctx context.Context, token string) (string, error) {
	if b.cfg.AuthEndpoint == "" {
		return "", fmt.Errorf("key manager: no barbican_endpoint and no auth_endpoint to find one")
	}
	var doc struct {
		Catalog []struct {
			Type      string `json:"type"`
			Endpoints []struct {
				Interface string `json:"interface"`
				RegionID  string `json:"region_id"`
				Region    string `json:"region"`
				URL       string `json:"url"`
			} `json:"endpoints"`
		} `json:"catalog"`
	}
	catalogURL := strings.TrimSuffix(b.cfg.AuthEndpoint, "/")
	if !strings.HasSuffix(catalogURL, "/v3") {
		catalogURL += "/v3"
	}
	if err := b.do(ctx, "read the catalog", token, http.MethodGet, catalogURL+"/auth/catalog", nil, "", &doc); err != nil {
		return "", err
	}
	for _, s := range doc.Catalog {
		if s.Type != "key-manager" {
			continue
		}
		for _, e := range s.Endpoints {
			region := e.RegionID
			if region == "" {
				region = e.Region
			}
			if e.Interface == b.cfg.EndpointType && (b.cfg.RegionName == "" || b.cfg.RegionName == region) {
				return e.URL, nil
			}
		}
	}
	return "", fmt.Errorf("key manager: the catalog has no key-manager endpoint (interface %s, region %q)", b.cfg.EndpointType, b.cfg.RegionName)
}

// do sends one request with token; a JSON body (in) is sent, a JSON answer decoded into out
// (nil: discarded), accept "" is application/json. 404 is ErrNotFound.
func (b *barbican) do(ctx context.Context, op, token, method, target string, in any, accept string, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("key manager: %s: %w", op, err)
	}
	req.Header.Set("X-Auth-Token", token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("key manager: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("key manager: %s: %w", op, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("key manager: %s: %w", op, ErrNotFound)
	case resp.StatusCode >= 300:
		return &Error{Op: op, Status: resp.StatusCode, Body: strings.TrimSpace(string(raw))}
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = raw
	default:
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("key manager: %s: answer %.200q: %w", op, raw, err)
		}
	}
	return nil
}

// idOf is the id at the end of a secret's href.
func idOf(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}

// CreateKey orders a key and waits for the order to be active, as castellan's create_key.
func (b *barbican) CreateKey(ctx context.Context, token, algorithm string, bits int) (string, error) {
	base, err := b.base(ctx, token)
	if err != nil {
		return "", err
	}
	order := map[string]any{"type": "key", "meta": map[string]any{
		"name": "Scoria volume key", "algorithm": algorithm, "bit_length": bits,
		"payload_content_type": "application/octet-stream"}}
	var created struct {
		OrderRef string `json:"order_ref"`
	}
	if err := b.do(ctx, "order a key", token, http.MethodPost, base+"/orders", order, "", &created); err != nil {
		return "", err
	}
	if created.OrderRef == "" {
		return "", fmt.Errorf("key manager: order a key: no order_ref in the answer")
	}
	for attempt := 0; ; attempt++ {
		var o struct {
			Status    string `json:"status"`
			SecretRef string `json:"secret_ref"`
			Reason    string `json:"error_reason"`
		}
		if err := b.do(ctx, "read a key order", token, http.MethodGet, created.OrderRef, nil, "", &o); err != nil {
			return "", err
		}
		switch o.Status {
		case "ACTIVE":
			return idOf(o.SecretRef), nil
		case "ERROR":
			return "", fmt.Errorf("key manager: key order %s failed: %s", idOf(created.OrderRef), o.Reason)
		}
		if attempt+1 >= b.cfg.Retries {
			return "", fmt.Errorf("key manager: key order %s still %s after %d polls", idOf(created.OrderRef), o.Status, attempt+1)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(b.cfg.RetryDelay):
		}
	}
}

// GetKey reads a secret's metadata and payload.
func (b *barbican) GetKey(ctx context.Context, token, id string) (*Key, error) {
	base, err := b.base(ctx, token)
	if err != nil {
		return nil, err
	}
	var meta struct {
		Algorithm string `json:"algorithm"`
		BitLength int    `json:"bit_length"`
	}
	if err := b.do(ctx, "read key "+id, token, http.MethodGet, base+"/secrets/"+url.PathEscape(id), nil, "", &meta); err != nil {
		return nil, err
	}
	var material []byte
	if err := b.do(ctx, "read key "+id+"'s payload", token, http.MethodGet, base+"/secrets/"+url.PathEscape(id)+"/payload", nil, "application/octet-stream", &material); err != nil {
		return nil, err
	}
	return &Key{ID: id, Algorithm: meta.Algorithm, Bits: meta.BitLength, Material: material}, nil
}

// CopyKey stores a new secret with the material of key id.
func (b *barbican) CopyKey(ctx context.Context, token, id string) (string, error) {
	k, err := b.GetKey(ctx, token, id)
	if err != nil {
		return "", err
	}
	base, err := b.base(ctx, token)
	if err != nil {
		return "", err
	}
	secret := map[string]any{
		"name": "Scoria volume key", "secret_type": "symmetric",
		"payload": base64.StdEncoding.EncodeToString(k.Material), "payload_content_type": "application/octet-stream",
		"payload_content_encoding": "base64"}
	if k.Algorithm != "" {
		secret["algorithm"] = k.Algorithm
	}
	if k.Bits > 0 {
		secret["bit_length"] = k.Bits
	}
	var created struct {
		SecretRef string `json:"secret_ref"`
	}
	if err := b.do(ctx, "store a copy of key "+id, token, http.MethodPost, base+"/secrets", secret, "", &created); err != nil {
		return "", err
	}
	if created.SecretRef == "" {
		return "", fmt.Errorf("key manager: store a copy of key %s: no secret_ref in the answer", id)
	}
	return idOf(created.SecretRef), nil
}

// DeleteKey deletes a secret.
func (b *barbican) DeleteKey(ctx context.Context, token, id string) error {
	base, err := b.base(ctx, token)
	if err != nil {
		return err
	}
	return b.do(ctx, "delete key "+id, token, http.MethodDelete, base+"/secrets/"+url.PathEscape(id), nil, "", nil)
}
