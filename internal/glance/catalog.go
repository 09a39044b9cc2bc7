package glance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// readCatalog reads the caller's catalog from Keystone (GET /v3/auth/catalog with the user's
// token), for a call whose Auth carried none.
func (c *Client) readCatalog(ctx context.Context, a Auth) ([]CatalogService, error) {
	if c.cfg.AuthURL == "" {
		return nil, fmt.Errorf("glance: no glance_api_servers, no catalog with the request and no Keystone URL to read one: %w", ErrNoEndpoint)
	}
	u := strings.TrimRight(c.cfg.AuthURL, "/")
	if !strings.HasSuffix(u, "/v3") {
		u += "/v3"
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u+"/auth/catalog", nil)
	if err != nil {
		return nil, fmt.Errorf("glance: read the catalog: %w", err)
	}
	req.Header.Set("X-Auth-Token", a.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &Error{Op: "read the catalog", Kind: ErrUnavailable, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{Op: "read the catalog", Status: resp.StatusCode, Message: faultMessage(resp), Kind: kindOf(resp.StatusCode)}
	}
	var doc struct {
		Catalog []CatalogService `json:"catalog"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&doc); err != nil {
		return nil, &Error{Op: "read the catalog", Status: resp.StatusCode, Kind: ErrUnexpected, Err: err}
	}
	return doc.Catalog, nil
}
