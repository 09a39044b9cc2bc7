package glance

import (
	"context"
	"crypto/md5"  //nolint:gosec // Glance's checksum is MD5
	"crypto/sha1" //nolint:gosec // an os_hash_algo Glance may be configured with
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"
)

// Download streams an image's data (GET /v2/images/{id}/file). It reads the record first
// (the image must have data) and verifies what is read against the record at EOF: the
// os_hash_value with its os_hash_algo (sha512 by default), else the MD5 checksum, else the
// Content-MD5 header, and the size. A mismatch is returned by the Read that reaches EOF,
// wrapping ErrChecksum, so a caller copying the stream sees the error before it trusts the
// copy. Memory stays bounded whatever the size; a pause longer than glance_request_timeout
// fails the Read. The caller closes the stream.
func (c *Client) Download(ctx context.Context, a Auth, id string) (io.ReadCloser, error) {
	img, err := c.Show(ctx, a, id)
	if err != nil {
		return nil, err
	}
	op := "download image " + id
	r := &request{op: op, method: http.MethodGet, path: imagePath(id, "/file"),
		ok: []int{http.StatusOK, http.StatusNoContent}, streaming: true}
	resp, err := c.do(ctx, a, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNoContent {
		resp.Body.Close()
		r.idle.Stop()
		r.cancel()
		return nil, &Error{Op: op, Status: resp.StatusCode, Kind: ErrNoData}
	}
	v := &verifier{op: op, body: resp.Body, idle: r.idle, timeout: c.cfg.RequestTimeout, cancel: r.cancel, want: -1}
	if img.Size != nil {
		v.want = *img.Size
	}
	h, sum, what := chooseHash(img, resp.Header.Get("Content-MD5"))
	if h != nil {
		v.hash, v.sum, v.what = h, sum, what
	}
	return v, nil
}

// chooseHash picks what the data is checked against, the strongest first.
func chooseHash(img *Image, contentMD5 string) (hash.Hash, string, string) {
	if img.HashValue != "" {
		var h hash.Hash
		switch strings.ToLower(img.HashAlgo) {
		case "sha512":
			h = sha512.New()
		case "sha384":
			h = sha512.New384()
		case "sha256":
			h = sha256.New()
		case "sha1":
			h = sha1.New() //nolint:gosec // Glance's choice
		case "md5":
			h = md5.New() //nolint:gosec // Glance's choice
		}
		if h != nil {
			return h, strings.ToLower(img.HashValue), "os_hash_value (" + img.HashAlgo + ")"
		}
	}
	if img.Checksum != "" {
		return md5.New(), strings.ToLower(img.Checksum), "checksum (md5)" //nolint:gosec // Glance's checksum
	}
	if contentMD5 != "" {
		return md5.New(), strings.ToLower(contentMD5), "Content-MD5" //nolint:gosec // Glance's checksum
	}
	return nil, "", ""
}

// verifier is the stream Download returns.
type verifier struct {
	op      string
	body    io.ReadCloser
	idle    *time.Timer
	timeout time.Duration
	cancel  func()
	hash    hash.Hash
	sum     string
	what    string
	want    int64 // the size, -1 unknown
	n       int64
	done    bool
	err     error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.body.Read(p)
	if n > 0 {
		v.idle.Reset(v.timeout)
		v.n += int64(n)
		if v.hash != nil {
			v.hash.Write(p[:n])
		}
	}
	switch {
	case err == io.EOF:
		v.err = v.check()
		if v.err == nil {
			v.err = io.EOF
		}
		return n, v.err
	case err != nil:
		v.err = &Error{Op: v.op, Kind: ErrUnavailable, Err: fmt.Errorf("after %d bytes: %w", v.n, err)}
		return n, v.err
	}
	return n, nil
}

func (v *verifier) check() error {
	if v.want >= 0 && v.n != v.want {
		return &Error{Op: v.op, Kind: ErrChecksum, Err: fmt.Errorf("read %d bytes, the image has %d", v.n, v.want)}
	}
	if v.hash != nil {
		if got := hex.EncodeToString(v.hash.Sum(nil)); got != v.sum {
			return &Error{Op: v.op, Kind: ErrChecksum, Err: fmt.Errorf("%s is %s, the data's is %s", v.what, v.sum, got)}
		}
	}
	return nil
}

// Close ends the transfer (before EOF too) and releases the connection.
func (v *verifier) Close() error {
	v.idle.Stop()
	err := v.body.Close()
	v.cancel()
	if v.err == nil {
		v.err = &Error{Op: v.op, Kind: ErrUnexpected, Err: fmt.Errorf("read after Close")}
	}
	return err
}
