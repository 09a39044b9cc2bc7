package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The real Glance of deploy/glance/glance-up.sh (Zed, on the test Keystone, stores `file` and
// `ceph`): SCORIA_TEST_GLANCE_* variables, or else its env file ($GLANCE_DIR/env, default
// /tmp/scoria-glance/env). The images of these tests belong to alice (demo-a), who also owns
// the volumes made from them.

// glanceSettings are the test Glance's SCORIA_TEST_GLANCE_* settings; it skips t (fails it
// under CI=true) when Glance does not answer.
func glanceSettings(t *testing.T) map[string]string {
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
	u := strings.TrimRight(env["SCORIA_TEST_GLANCE_URL"], "/")
	if u == "" {
		unavailable(t, "no test Glance: SCORIA_TEST_GLANCE_URL unset and no %s (run deploy/glance/glance-up.sh)", filepath.Join(dir, "env"))
	}
	env["SCORIA_TEST_GLANCE_URL"] = u
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/versions", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		unavailable(t, "the test Glance at %s does not answer: %v (run deploy/glance/glance-up.sh)", u, err)
	}
	resp.Body.Close()
	return env
}

// requireTool skips (fails under CI=true) without an executable.
func requireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		unavailable(t, "no %s (Debian %s)", name, pkg)
	}
}

// glanceAPI is the Image API v2 of the test Glance as one user (a Keystone token): what the
// tests need to make, inspect and remove images, in plain HTTP.
type glanceAPI struct {
	t     *testing.T
	url   string
	token string
}

func (g glanceAPI) do(method, path string, body io.Reader, header map[string]string, want ...int) ([]byte, int) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.url+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", g.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("glance %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatalf("glance %s %s: read the answer: %v", method, path, err)
	}
	if len(want) > 0 {
		ok := false
		for _, w := range want {
			ok = ok || resp.StatusCode == w
		}
		if !ok {
			g.t.Fatalf("glance %s %s: %s %.500s", method, path, resp.Status, raw)
		}
	}
	return raw, resp.StatusCode
}

// glanceImage is what the tests read of an image.
type glanceImage map[string]any

func (i glanceImage) str(k string) string {
	v, ok := i[k]
	if !ok || v == nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case float64: // JSON numbers: sizes in bytes, not 4.5e+06
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// create registers an image (container bare, private) with extra fields and properties, and
// deletes it when t ends.
func (g glanceAPI) create(name, diskFormat string, fields map[string]any) string {
	g.t.Helper()
	body := map[string]any{"name": name, "disk_format": diskFormat, "container_format": "bare", "visibility": "private"}
	for k, v := range fields {
		body[k] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		g.t.Fatal(err)
	}
	out, _ := g.do("POST", "/v2/images", bytes.NewReader(raw), map[string]string{"Content-Type": "application/json"}, http.StatusCreated)
	var img struct{ ID string }
	if err := json.Unmarshal(out, &img); err != nil || img.ID == "" {
		g.t.Fatalf("glance create %s: %v %s", name, err, out)
	}
	g.cleanup(img.ID)
	return img.ID
}

// cleanup deletes image id (a protected one is unprotected first) when t ends; it may be gone.
func (g glanceAPI) cleanup(id string) {
	g.t.Cleanup(func() {
		g.do("PATCH", "/v2/images/"+id, strings.NewReader(`[{"op":"replace","path":"/protected","value":false}]`),
			map[string]string{"Content-Type": "application/openstack-images-v2.1-json-patch"})
		if _, code := g.do("DELETE", "/v2/images/"+id, nil, nil); code != http.StatusNoContent && code != http.StatusNotFound {
			g.t.Errorf("glance: delete image %s: HTTP %d", id, code)
		}
	})
}

// upload sends the file's bytes as image id's data, to store ("" the default store).
func (g glanceAPI) upload(id, path, store string) {
	g.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer f.Close()
	h := map[string]string{"Content-Type": "application/octet-stream"}
	if store != "" {
		h["X-Image-Meta-Store"] = store
	}
	g.do("PUT", "/v2/images/"+id+"/file", f, h, http.StatusNoContent)
}

// image makes an active image of the file at path: create, upload, and check it is active.
func (g glanceAPI) image(name, diskFormat, path, store string, fields map[string]any) string {
	g.t.Helper()
	id := g.create(name, diskFormat, fields)
	g.upload(id, path, store)
	if img := g.show(id); img.str("status") != "active" {
		g.t.Fatalf("glance image %s (%s) after upload: status %q", name, id, img.str("status"))
	}
	return id
}

// show is GET /v2/images/{id}; nil when Glance answers 404.
func (g glanceAPI) show(id string) glanceImage {
	g.t.Helper()
	out, code := g.do("GET", "/v2/images/"+id, nil, nil, http.StatusOK, http.StatusNotFound)
	if code == http.StatusNotFound {
		return nil
	}
	var img glanceImage
	if err := json.Unmarshal(out, &img); err != nil {
		g.t.Fatalf("glance show %s: %v", id, err)
	}
	return img
}

// waitStatus polls image id until its status is want ("gone": 404 or deleted).
func (g glanceAPI) waitStatus(id, want string, timeout time.Duration) glanceImage {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	last := "nothing yet"
	for {
		img := g.show(id)
		switch {
		case img == nil && want == "gone":
			return nil
		case img != nil && (img.str("status") == want || (want == "gone" && img.str("status") == "deleted")):
			return img
		case img != nil:
			last = "status " + img.str("status")
		default:
			last = "404"
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("glance image %s never %s in %s; last saw %s", id, want, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// download writes image id's data to path.
func (g glanceAPI) download(id, path string) {
	g.t.Helper()
	out, _ := g.do("GET", "/v2/images/"+id+"/file", nil, nil, http.StatusOK)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

// testImages are the images' files on disk, made once per test.
type testImages struct {
	dir   string
	qcow2 string // 64 MiB virtual qcow2: 3 MiB of 0x5c at 1 MiB, 1 MiB of 0xa7 at 40 MiB
	raw   string // 16 MiB raw: 1 MiB of random bytes at 0, 1 MiB of 0x3e at 10 MiB, zeros elsewhere
	big   string // 64 MiB of random bytes, raw (long enough to be cut or killed mid-transfer)
}

// makeImageFiles writes the test images with qemu-img, qemu-io and Go.
func makeImageFiles(t *testing.T, withBig bool) testImages {
	t.Helper()
	requireTool(t, "qemu-img", "qemu-utils")
	requireTool(t, "qemu-io", "qemu-utils")
	dir := t.TempDir()
	im := testImages{dir: dir, qcow2: filepath.Join(dir, "small.qcow2"), raw: filepath.Join(dir, "small.raw")}
	for _, args := range [][]string{
		{"qemu-img", "create", "-q", "-f", "qcow2", im.qcow2, "64M"},
		{"qemu-io", "-f", "qcow2", "-c", "write -P 0x5c 1M 3M", im.qcow2},
		{"qemu-io", "-f", "qcow2", "-c", "write -P 0xa7 40M 1M", im.qcow2},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	f, err := os.Create(im.raw)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 1<<20)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	_, err1 := f.WriteAt(random, 0)
	_, err2 := f.WriteAt(bytes.Repeat([]byte{0x3e}, 1<<20), 10<<20)
	err3 := f.Truncate(16 << 20)
	if err := errors.Join(err1, err2, err3, f.Close()); err != nil {
		t.Fatal(err)
	}
	if withBig {
		im.big = filepath.Join(dir, "big.raw")
		f, err := os.Create(im.big)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(f, rand.Reader, 64<<20); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return im
}

// qemuCompare runs qemu-img compare (not strict: the longer may only hold zeros beyond the
// shorter) and fails t when the two differ.
func qemuCompare(t *testing.T, what, a, aFormat, b, bFormat string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "qemu-img", "compare", "-f", aFormat, "-F", bFormat, a, b).CombinedOutput()
	if err != nil {
		t.Errorf("%s: qemu-img compare -f %s %s -F %s %s: %v: %s", what, aFormat, a, bFormat, b, err, out)
	}
}

// randomTag is 8 hex digits for the names of what a test makes.
func randomTag(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// glanceProxy is a TCP proxy between Scoria's services (glance_api_servers) and the shared
// test Glance. It STANDS IN FOR GLANCE DYING: Cut closes every connection and stops
// listening (new connections are refused, as by a dead glance-api), Restore listens again on
// the same address. Other test packages use the real Glance at the same time, so it is never
// stopped itself. It can also throttle each connection, so that a transfer lasts long enough
// to be cut or to kill a service in its middle, and counts the image data downloads it
// carried (GET /v2/images/<id>/file request lines).
type glanceProxy struct {
	t      *testing.T
	target string // host:port of Glance
	addr   string // 127.0.0.1:port the proxy listens on

	rate atomic.Int64 // bytes per second per direction and connection; 0 unthrottled
	down atomic.Int64 // bytes carried from Glance
	up   atomic.Int64 // bytes carried to Glance

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	gets  map[string]int // image id → GET /v2/images/<id>/file seen
}

func startGlanceProxy(t *testing.T, glanceURL string) *glanceProxy {
	t.Helper()
	target := strings.TrimPrefix(strings.TrimPrefix(glanceURL, "http://"), "https://")
	target, _, _ = strings.Cut(target, "/")
	p := &glanceProxy{t: t, target: target, conns: map[net.Conn]struct{}{}, gets: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

// URL is the proxy's address as glance_api_servers names it.
func (p *glanceProxy) URL() string { return "http://" + p.addr }

func (p *glanceProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
}

func (p *glanceProxy) handle(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut in the meantime
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := func() {
		client.Close()
		server.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}
	go func() { defer done(); p.copy(server, client, &p.up, true) }()
	go func() { defer done(); p.copy(client, server, &p.down, false) }()
}

// copy carries bytes from src to dst at the proxy's rate; requests (toGlance) are scanned
// for image downloads.
func (p *glanceProxy) copy(dst, src net.Conn, counter *atomic.Int64, toGlance bool) {
	buf := make([]byte, 32<<10)
	var tail []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if toGlance {
				tail = p.scan(append(tail, buf[:n]...), len(tail))
			}
			if r := p.rate.Load(); r > 0 {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / r))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			counter.Add(int64(n))
		}
		if err != nil {
			return
		}
	}
}

// scan counts the request lines GET /v2/images/<id>/file that end after offset old of b, and
// returns the tail of b to prepend to the next read (a line may straddle two reads).
func (p *glanceProxy) scan(b []byte, old int) []byte {
	const prefix = "GET /v2/images/"
	const line = len(prefix) + 36 + len("/file ")
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(prefix))
		if j < 0 {
			break
		}
		start := i + j
		if start+line > len(b) {
			break // incomplete: kept in the tail
		}
		if start+line > old && bytes.Equal(b[start+len(prefix)+36:start+line], []byte("/file ")) {
			p.mu.Lock()
			p.gets[string(b[start+len(prefix):start+len(prefix)+36])]++
			p.mu.Unlock()
		}
		i = start + 1
	}
	if len(b) > line {
		b = b[len(b)-line:]
	}
	return append([]byte(nil), b...)
}

// Downloads is how many times image id's data was asked for through the proxy.
func (p *glanceProxy) Downloads(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets[id]
}

// Cut stands in for Glance dying: every connection through the proxy is closed and new
// ones are refused until Restore.
func (p *glanceProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// Restore listens again on the same address (Glance back); it does nothing when listening.
func (p *glanceProxy) Restore() {
	p.t.Helper()
	p.mu.Lock()
	listening := p.ln != nil
	p.mu.Unlock()
	if listening {
		return
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("glance proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// waitBytes waits until counter has grown by at least n bytes since from.
func waitBytes(t *testing.T, what string, counter *atomic.Int64, from, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for counter.Load()-from < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %d bytes through the Glance proxy in %s, waited for %d", what, counter.Load()-from, timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGlanceProxy checks the proxy the failure tests rely on, against the real Glance: it
// carries requests, counts image downloads, throttles, refuses connections once cut and
// carries them again once restored.
func TestGlanceProxy(t *testing.T) {
	requireKeystone(t)
	settings := glanceSettings(t)
	token, _ := ksLogin(t, ksAlice)
	real := glanceAPI{t: t, url: settings["SCORIA_TEST_GLANCE_URL"], token: token}
	files := makeImageFiles(t, false)
	id := real.image("e2e-proxy-"+randomTag(t), "raw", files.raw, "file", nil)

	p := startGlanceProxy(t, real.url)
	via := glanceAPI{t: t, url: p.URL(), token: token}
	p.rate.Store(8 << 20)
	start := time.Now()
	got := filepath.Join(t.TempDir(), "got")
	via.download(id, got)
	if d := time.Since(start); d < time.Second {
		t.Errorf("16 MiB at 8 MiB/s took %s", d)
	}
	p.rate.Store(0)
	via.download(id, got)
	qemuCompare(t, "downloaded through the proxy", files.raw, "raw", got, "raw")
	if n := p.Downloads(id); n != 2 {
		t.Errorf("proxy counted %d downloads of %s, want 2", n, id)
	}
	if p.down.Load() < 32<<20 || p.up.Load() == 0 {
		t.Errorf("proxy counters: down %d up %d", p.down.Load(), p.up.Load())
	}
	p.Cut()
	if _, err := http.Get(p.URL() + "/versions"); err == nil {
		t.Error("the cut proxy still accepts connections")
	}
	p.Restore()
	if img := via.show(id); img.str("id") != id {
		t.Errorf("show through the restored proxy: %v", img)
	}
}
