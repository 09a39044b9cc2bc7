// Package blockstorage is a small client of the Block Storage API v3 (Cinder) with noauth
// tokens, for Scoria's end-to-end tests and load tool: plain net/http, faults as errors.
package blockstorage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Client talks to one Block Storage v3 endpoint as one user of one project (noauth: the token
// is "user:project").
type Client struct {
	Endpoint     string       // e.g. http://127.0.0.1:8776/v3
	Project      string       // project id in the URL and the token
	User         string       // user id in the token; defaults to Project
	HTTP         *http.Client // defaults to http.DefaultClient
	Microversion string       // sent as "OpenStack-API-Version: volume X" when not empty
	AuthToken    string       // a Keystone token sent instead of the noauth one, when not empty
}

// New returns a client of endpoint for project, acting as a user of the same name.
func New(endpoint, project string) *Client {
	return &Client{Endpoint: strings.TrimRight(endpoint, "/"), Project: project}
}

// Volume is what the tests read of a volume.
type Volume struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	Status           string            `json:"status"`
	Size             int               `json:"size"`
	AvailabilityZone string            `json:"availability_zone"`
	Host             string            `json:"os-vol-host-attr:host"`
	VolumeType       string            `json:"volume_type"`
	Metadata         map[string]string `json:"metadata"`
	UserID           string            `json:"user_id"`
	CreatedAt        string            `json:"created_at"`
}

// Service is one row of GET /os-services.
type Service struct {
	Binary         string  `json:"binary"`
	Host           string  `json:"host"`
	Zone           string  `json:"zone"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	UpdatedAt      *string `json:"updated_at"`
	DisabledReason *string `json:"disabled_reason"`
}

// CreateVolumeOpts are the fields of a create request the tests use.
type CreateVolumeOpts struct {
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Size        int               `json:"size"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Fault is an answer with an unexpected status, with Cinder's fault body decoded when it has
// one: {"itemNotFound": {"code": 404, "message": "…"}}.
type Fault struct {
	Method, URL string
	Status      int    // HTTP status
	Name        string // fault name: badRequest, itemNotFound, computeFault, …; "" without a fault body
	Code        int    // code inside the fault body
	Message     string // message inside the fault body
	Body        string // the raw body
}

func (f *Fault) Error() string {
	if f.Name != "" {
		return fmt.Sprintf("%s %s: %d %s: %s", f.Method, f.URL, f.Status, f.Name, f.Message)
	}
	return fmt.Sprintf("%s %s: %d: %.300s", f.Method, f.URL, f.Status, f.Body)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var f *Fault
	return errors.As(err, &f) && f.Status == http.StatusNotFound
}

// ParseFault decodes a Cinder fault body. ok is false when body is not one: a JSON object with
// exactly one key whose value has a numeric "code" and a string "message".
func ParseFault(body []byte) (name string, code int, message string, ok bool) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil || len(outer) != 1 {
		return "", 0, "", false
	}
	for k, raw := range outer {
		var inner struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(raw, &inner); err != nil || inner.Code == nil || inner.Message == nil {
			return "", 0, "", false
		}
		return k, *inner.Code, *inner.Message, true
	}
	return "", 0, "", false
}

// Response is a raw answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// URL is the address of path under the project: URL("/volumes") is {Endpoint}/{Project}/volumes.
func (c *Client) URL(path string) string {
	return c.Endpoint + "/" + c.Project + path
}

// Token is the token the client sends: AuthToken, else the noauth one.
func (c *Client) Token() string {
	if c.AuthToken != "" {
		return c.AuthToken
	}
	user := c.User
	if user == "" {
		user = c.Project
	}
	return user + ":" + c.Project
}

// Do sends one request to an absolute URL or to a path under the project, with body (may be
// nil) sent as JSON, and returns whatever came back. Headers in header are added last.
func (c *Client) Do(ctx context.Context, method, pathOrURL string, body []byte, header http.Header) (*Response, error) {
	u := pathOrURL
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = c.URL(pathOrURL)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Auth-Token", c.Token())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Microversion != "" {
		req.Header.Set("OpenStack-API-Version", "volume "+c.Microversion)
	}
	for k, vs := range header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, u, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// call sends in (when not nil) as JSON, checks the status is one of want, and decodes the
// answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, in any, want []int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := c.Do(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	if !slices.Contains(want, resp.Status) {
		f := &Fault{Method: method, URL: path, Status: resp.Status, Body: string(resp.Body)}
		f.Name, f.Code, f.Message, _ = ParseFault(resp.Body)
		return f
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("%s %s: decode %d answer: %w: %.300s", method, path, resp.Status, err, resp.Body)
		}
	}
	return nil
}

// CreateVolume sends POST /volumes and expects 202.
func (c *Client) CreateVolume(ctx context.Context, opts CreateVolumeOpts) (*Volume, error) {
	var out struct {
		Volume *Volume `json:"volume"`
	}
	if err := c.call(ctx, http.MethodPost, "/volumes", map[string]any{"volume": opts}, []int{http.StatusAccepted}, &out); err != nil {
		return nil, err
	}
	if out.Volume == nil || out.Volume.ID == "" {
		return nil, errors.New("POST /volumes: 202 without a volume id")
	}
	return out.Volume, nil
}

// GetVolume sends GET /volumes/{id}; a missing volume is a *Fault with Status 404.
func (c *Client) GetVolume(ctx context.Context, id string) (*Volume, error) {
	var out struct {
		Volume *Volume `json:"volume"`
	}
	if err := c.call(ctx, http.MethodGet, "/volumes/"+url.PathEscape(id), nil, []int{http.StatusOK}, &out); err != nil {
		return nil, err
	}
	if out.Volume == nil {
		return nil, fmt.Errorf("GET /volumes/%s: 200 without a volume", id)
	}
	return out.Volume, nil
}

// DeleteVolume sends DELETE /volumes/{id} and expects 202.
func (c *Client) DeleteVolume(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/volumes/"+url.PathEscape(id), nil, []int{http.StatusAccepted}, nil)
}

// ListVolumes sends GET /volumes/detail with query and follows the "next" links to the end.
func (c *Client) ListVolumes(ctx context.Context, query url.Values) ([]Volume, error) {
	path := "/volumes/detail"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	var all []Volume
	for page := 0; path != ""; page++ {
		if page > 10000 {
			return nil, errors.New("GET /volumes/detail: more than 10000 pages; the next links loop")
		}
		var out struct {
			Volumes []Volume `json:"volumes"`
			Links   []struct {
				Href string `json:"href"`
				Rel  string `json:"rel"`
			} `json:"volumes_links"`
		}
		if err := c.call(ctx, http.MethodGet, path, nil, []int{http.StatusOK}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Volumes...)
		path = ""
		for _, l := range out.Links {
			if l.Rel == "next" && len(out.Volumes) > 0 {
				path = l.Href
			}
		}
	}
	return all, nil
}

// ListServices sends GET /os-services.
func (c *Client) ListServices(ctx context.Context) ([]Service, error) {
	var out struct {
		Services []Service `json:"services"`
	}
	if err := c.call(ctx, http.MethodGet, "/os-services", nil, []int{http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return out.Services, nil
}
