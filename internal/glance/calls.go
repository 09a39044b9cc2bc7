package glance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const patchMediaType = "application/openstack-images-v2.1-json-patch"

// request is one call to Glance.
type request struct {
	op          string
	method      string
	path        string // below the server's base URL, e.g. /v2/images/ID
	contentType string
	body        []byte        // a body that can be sent again
	stream      io.Reader     // a body sent once (uploads); tried again only when nothing of it was read
	size        int64         // the stream's length, -1 when unknown
	headers     http.Header   // more headers
	ok          []int         // the statuses that are a success
	streaming   bool          // the answer's body is read by the caller: no whole-call timeout
	cancel      func()        // set by do for streaming calls: cancels the call's context
	idle        *time.Timer   // set by do for streaming calls: fires after RequestTimeout idle
	timeout     time.Duration // 0: RequestTimeout
}

// do sends r to Glance with the caller's tokens, trying again after connection errors and
// unavailable answers (NumRetries more times, RetryDelay apart, on the next server of
// glance_api_servers), and returns the successful response. The caller closes its body.
func (c *Client) do(ctx context.Context, a Auth, r *request) (*http.Response, error) {
	servers, err := c.servers(ctx, a)
	if err != nil {
		return nil, &Error{Op: r.op, Kind: ErrNoEndpoint, Err: err}
	}
	attempts := 1 + c.cfg.NumRetries
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			t := time.NewTimer(c.cfg.RetryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, &Error{Op: r.op, Kind: ErrUnavailable, Err: errors.Join(ctx.Err(), last)}
			case <-t.C:
			}
		}
		server := servers[i%len(servers)]
		resp, retry, err := c.once(ctx, a, server, r)
		if err == nil {
			return resp, nil
		}
		last = err
		if !retry {
			return nil, err
		}
		extra := "retrying"
		if i == attempts-1 {
			extra = "done trying"
		}
		c.log.WithError(err).WithFields(map[string]any{"server": server, "attempt": i + 1, "of": attempts}).
			Warnf("glance: error contacting the image service for %s, %s", r.op, extra)
	}
	return nil, last
}

// once makes one attempt; retry says whether another may be made.
func (c *Client) once(ctx context.Context, a Auth, server string, r *request) (*http.Response, bool, error) {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = c.cfg.RequestTimeout
	}
	var (
		cctx   context.Context
		cancel context.CancelFunc
	)
	if r.streaming {
		// A transfer may last long: bounded by the wait for its answer (the transport's
		// ResponseHeaderTimeout, and idle below) and by pauses, not by its whole length.
		cctx, cancel = context.WithCancel(ctx)
	} else {
		cctx, cancel = context.WithTimeout(ctx, timeout)
	}
	var body io.Reader
	var sent *countingReader
	switch {
	case r.stream != nil:
		sent = &countingReader{r: r.stream}
		body = sent
	case r.body != nil:
		body = bytes.NewReader(r.body)
	}
	var idle *time.Timer
	if r.streaming {
		idle = time.AfterFunc(timeout, cancel)
		if sent != nil {
			sent.idle, sent.timeout = idle, timeout
		}
	}
	req, err := http.NewRequestWithContext(cctx, r.method, server+r.path, body)
	if err != nil {
		cancel()
		return nil, false, &Error{Op: r.op, Kind: ErrUnexpected, Err: err}
	}
	if r.stream != nil {
		req.ContentLength = r.size
		if r.size < 0 {
			req.ContentLength = -1 // chunked
		}
	}
	req.Header.Set("X-Auth-Token", a.Token)
	if a.ServiceToken != "" {
		req.Header.Set("X-Service-Token", a.ServiceToken)
	}
	if a.GlobalRequestID != "" {
		req.Header.Set("X-OpenStack-Request-ID", a.GlobalRequestID)
	}
	req.Header.Set("User-Agent", "scoria-glance")
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, vs := range r.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		stopIdle(idle)
		cancel()
		if ctx.Err() != nil { // the caller gave up: not Glance's fault, not retried
			return nil, false, &Error{Op: r.op, Kind: ErrUnavailable, Err: ctx.Err()}
		}
		// A connection error. A stream already partly sent cannot be sent again.
		again := sent == nil || sent.n == 0
		if sk, ok := r.stream.(io.Seeker); ok && !again {
			if _, serr := sk.Seek(0, io.SeekStart); serr == nil {
				again = true
			}
		}
		return nil, again, &Error{Op: r.op, Kind: ErrUnavailable, Err: err}
	}
	for _, s := range r.ok {
		if resp.StatusCode == s {
			if r.streaming {
				r.cancel, r.idle = cancel, idle
				idle.Reset(timeout)
			} else {
				// The body is small (a record); read it before the timeout's cancel.
				b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
				resp.Body.Close()
				cancel()
				if err != nil {
					return nil, true, &Error{Op: r.op, Kind: ErrUnavailable, Err: fmt.Errorf("read the answer: %w", err)}
				}
				resp.Body = io.NopCloser(bytes.NewReader(b))
			}
			return resp, false, nil
		}
	}
	msg := faultMessage(resp)
	resp.Body.Close()
	stopIdle(idle)
	cancel()
	e := &Error{Op: r.op, Status: resp.StatusCode, Message: msg, Kind: kindOf(resp.StatusCode)}
	again := retryable(resp.StatusCode)
	if again && sent != nil && sent.n > 0 {
		again = false
		if sk, ok := r.stream.(io.Seeker); ok {
			if _, serr := sk.Seek(0, io.SeekStart); serr == nil {
				again = true
			}
		}
	}
	return nil, again, e
}

func stopIdle(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// faultMessage reads Glance's explanation from an error answer: a JSON fault, or the first
// line of its text/HTML body.
func faultMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var fault struct {
		Message string `json:"message"`
		Error   struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &fault) == nil {
		if fault.Message != "" {
			return fault.Message
		}
		if fault.Error.Message != "" {
			return fault.Error.Message
		}
	}
	s := string(b)
	// webob's text answers: "404 Not Found\n\nNo image found with ID x\n\n"; HTML ones alike.
	for _, tag := range []string{"<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<h1>", "</h1>", "<br />"} {
		s = strings.ReplaceAll(s, tag, "\n")
	}
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "<title>") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 1 && strings.HasPrefix(lines[0], fmt.Sprint(resp.StatusCode)) {
		lines = lines[1:]
	}
	out := strings.Join(lines, " ")
	if len(out) > 300 {
		out = out[:300] + "…"
	}
	return out
}

// countingReader counts what was read of an upload and keeps its idle timer from firing
// while data flows.
type countingReader struct {
	r       io.Reader
	n       int64
	idle    *time.Timer
	timeout time.Duration
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.idle != nil && n > 0 {
		c.idle.Reset(c.timeout)
	}
	return n, err
}

func imagePath(id string, rest ...string) string {
	return "/v2/images/" + url.PathEscape(id) + strings.Join(rest, "")
}

func decode[T any](resp *http.Response, op string) (*T, error) {
	defer resp.Body.Close()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, &Error{Op: op, Status: resp.StatusCode, Kind: ErrUnexpected, Err: fmt.Errorf("decode the answer: %w", err)}
	}
	return &v, nil
}

// Show returns the image record (GET /v2/images/{id}).
func (c *Client) Show(ctx context.Context, a Auth, id string) (*Image, error) {
	op := "show image " + id
	resp, err := c.do(ctx, a, &request{op: op, method: http.MethodGet, path: imagePath(id), ok: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	return decode[Image](resp, op)
}

// Create makes an image record in status queued (POST /v2/images); Upload gives it data.
func (c *Client) Create(ctx context.Context, a Auth, r CreateRequest) (*Image, error) {
	op := fmt.Sprintf("create image %q", r.Name)
	b, err := r.body()
	if err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalid, Err: err}
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalid, Err: err}
	}
	resp, err := c.do(ctx, a, &request{op: op, method: http.MethodPost, path: "/v2/images",
		contentType: "application/json", body: raw, ok: []int{http.StatusCreated}})
	if err != nil {
		return nil, err
	}
	return decode[Image](resp, op)
}

// Update applies a JSON patch to an image (PATCH /v2/images/{id}) and returns the record.
func (c *Client) Update(ctx context.Context, a Auth, id string, patch ...Patch) (*Image, error) {
	op := "update image " + id
	if patch == nil {
		patch = []Patch{}
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalid, Err: err}
	}
	resp, err := c.do(ctx, a, &request{op: op, method: http.MethodPatch, path: imagePath(id),
		contentType: patchMediaType, body: raw, ok: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	return decode[Image](resp, op)
}

// Delete deletes an image (DELETE /v2/images/{id}).
func (c *Client) Delete(ctx context.Context, a Auth, id string) error {
	return c.noContent(ctx, a, "delete image "+id, http.MethodDelete, imagePath(id))
}

// Deactivate makes an active image's data unavailable to non-admins (POST
// /v2/images/{id}/actions/deactivate).
func (c *Client) Deactivate(ctx context.Context, a Auth, id string) error {
	return c.noContent(ctx, a, "deactivate image "+id, http.MethodPost, imagePath(id, "/actions/deactivate"))
}

// Reactivate makes a deactivated image active again (POST /v2/images/{id}/actions/reactivate).
func (c *Client) Reactivate(ctx context.Context, a Auth, id string) error {
	return c.noContent(ctx, a, "reactivate image "+id, http.MethodPost, imagePath(id, "/actions/reactivate"))
}

func (c *Client) noContent(ctx context.Context, a Auth, op, method, path string) error {
	resp, err := c.do(ctx, a, &request{op: op, method: method, path: path, ok: []int{http.StatusNoContent, http.StatusOK}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Upload sends an image's data (PUT /v2/images/{id}/file) into Glance's default store; size
// is the data's length, or -1 when unknown (sent chunked). The data is streamed: memory
// stays bounded whatever the size. A failed attempt is tried again only when none of the
// data was read yet or body is an io.Seeker.
func (c *Client) Upload(ctx context.Context, a Auth, id string, body io.Reader, size int64) error {
	return c.UploadToStore(ctx, a, id, "", body, size)
}

// UploadToStore is Upload into one store of a multi-store Glance (X-Image-Meta-Store, as
// Cinder's store_id); store "" is the default store.
func (c *Client) UploadToStore(ctx context.Context, a Auth, id, store string, body io.Reader, size int64) error {
	r := &request{op: "upload image " + id, method: http.MethodPut, path: imagePath(id, "/file"),
		contentType: "application/octet-stream", stream: body, size: size,
		ok: []int{http.StatusNoContent, http.StatusCreated, http.StatusOK}, streaming: true}
	if store != "" {
		r.headers = http.Header{"X-Image-Meta-Store": {store}}
	}
	resp, err := c.do(ctx, a, r)
	if err != nil {
		return err
	}
	resp.Body.Close()
	r.idle.Stop()
	r.cancel()
	return nil
}
