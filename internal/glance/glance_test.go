package glance

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// quiet is a logger that keeps retries out of the test output.
func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// newClient is a client of the given servers with fast retries.
func newClient(t *testing.T, mod func(*Config), servers ...string) *Client {
	t.Helper()
	cfg := Config{APIServers: servers, RetryDelay: 10 * time.Millisecond, RequestTimeout: 5 * time.Second, Log: quiet()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var user = Auth{Token: "user-token"}

const imageID = "4a4e6f6c-7d6b-4bb2-9a4b-3c2e1f0e9d8c"

// recordJSON is an image record as Glance 25 (Zed) sends it with show_multiple_locations.
const recordJSON = `{"hw_disk_bus": "scsi", "owner_specified.openstack.md5": "", "scoria_check": "1",
 "name": "cirros", "disk_format": "qcow2", "container_format": "bare", "visibility": "shared",
 "size": 3473408, "virtual_size": 67108864, "status": "active", "checksum": "8d4e2a1c",
 "protected": false, "min_ram": 0, "min_disk": 1, "owner": "p1", "os_hidden": false,
 "os_hash_algo": "sha512", "os_hash_value": "abcd", "id": "` + imageID + `",
 "created_at": "2026-12-07T19:00:00Z", "updated_at": "2026-12-07T19:00:01Z",
 "locations": [{"url": "rbd://fsid/images/` + imageID + `/snap", "metadata": {"store": "ceph"}}],
 "direct_url": "rbd://fsid/images/` + imageID + `/snap", "tags": [], "self": "/v2/images/` + imageID + `",
 "file": "/v2/images/` + imageID + `/file", "schema": "/v2/schemas/image", "stores": "ceph"}`

func TestShowWireShape(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, recordJSON)
	}))
	defer srv.Close()
	c := newClient(t, nil, srv.URL+"/v2/") // a versioned URL in glance_api_servers works too
	img, err := c.Show(context.Background(), Auth{Token: "user-token", ServiceToken: "svc-token", GlobalRequestID: "req-1"}, imageID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct{ name, want string }{
		{"X-Auth-Token", "user-token"}, {"X-Service-Token", "svc-token"}, {"X-OpenStack-Request-ID", "req-1"},
	} {
		if v := got.Header.Get(h.name); v != h.want {
			t.Errorf("header %s = %q, want %q", h.name, v, h.want)
		}
	}
	if got.Method != http.MethodGet || got.URL.Path != "/v2/images/"+imageID {
		t.Errorf("request %s %s", got.Method, got.URL.Path)
	}
	if img.Status != StatusActive || img.DiskFormat != "qcow2" || img.ContainerFormat != "bare" ||
		img.Size == nil || *img.Size != 3473408 || img.VirtualSize == nil || *img.VirtualSize != 64<<20 ||
		img.MinDisk != 1 || img.HashAlgo != "sha512" || img.Stores != "ceph" {
		t.Errorf("record: %+v", img)
	}
	if img.DirectURL != "rbd://fsid/images/"+imageID+"/snap" || len(img.Locations) != 1 || img.Locations[0].Metadata["store"] != "ceph" {
		t.Errorf("locations: %q %+v", img.DirectURL, img.Locations)
	}
	wantProps := map[string]any{"hw_disk_bus": "scsi", "owner_specified.openstack.md5": "", "scoria_check": "1"}
	if fmt.Sprint(img.Properties) != fmt.Sprint(wantProps) {
		t.Errorf("properties %v, want %v", img.Properties, wantProps)
	}
}

func TestQueuedRecordHasNoSize(t *testing.T) {
	var img Image
	if err := json.Unmarshal([]byte(`{"id":"x","status":"queued","size":null,"virtual_size":null}`), &img); err != nil {
		t.Fatal(err)
	}
	if img.Size != nil || img.VirtualSize != nil || len(img.Properties) != 0 {
		t.Errorf("%+v", img)
	}
}

// TestErrors: each answer maps to its sentinel, and only unavailable answers are retried.
func TestErrors(t *testing.T) {
	cases := []struct {
		status   int
		body     string
		want     error
		attempts int64
		message  string
	}{
		{400, `{"message": "bad disk_format"}`, ErrInvalid, 1, "bad disk_format"},
		{401, "401 Unauthorized\n\nThis server could not verify that you are authorized", ErrForbidden, 1, "This server could not verify"},
		{403, "403 Forbidden\n\nYou are not authorized to complete get_image action.\n\n", ErrForbidden, 1, "not authorized to complete get_image"},
		{404, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>No image found with ID x<br /><br /></body></html>", ErrNotFound, 1, "No image found with ID x"},
		{409, "409 Conflict\n\nImage status transition from active to deactivated is not allowed", ErrConflict, 1, "transition"},
		{413, "413 Request Entity Too Large", ErrLimitExceeded, 1, ""},
		{415, "", ErrInvalid, 1, ""},
		{500, "500 Internal Server Error", ErrUnavailable, 1, ""},
		{502, "", ErrUnavailable, 4, ""},
		{503, "503 Service Unavailable", ErrUnavailable, 4, ""},
		{504, "", ErrUnavailable, 4, ""},
		{302, "", ErrUnexpected, 1, ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := newClient(t, nil, srv.URL)
			_, err := c.Show(context.Background(), user, "x")
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status {
				t.Fatalf("error %#v, want status %d", err, tc.status)
			}
			if tc.message != "" && !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q, want it to contain %q", e.Message, tc.message)
			}
			if n.Load() != tc.attempts {
				t.Errorf("%d attempts, want %d", n.Load(), tc.attempts)
			}
		})
	}
}

// TestRetries: connection errors are retried NumRetries times, on the next server of
// glance_api_servers; a server that recovers answers the last attempt.
func TestRetries(t *testing.T) {
	dead := func(t *testing.T) string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	t.Run("all dead", func(t *testing.T) {
		c := newClient(t, func(c *Config) { c.NumRetries = 2 }, dead(t))
		start := time.Now()
		_, err := c.Show(context.Background(), user, "x")
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("error %v, want ErrUnavailable", err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != 0 || e.Err == nil {
			t.Fatalf("error %#v: want a transport error", err)
		}
		if d := time.Since(start); d < 20*time.Millisecond { // two pauses of 10 ms: it retried
			t.Errorf("gave up after %v: no retries", d)
		}
	})
	t.Run("one of two dead", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, recordJSON) }))
		defer srv.Close()
		for i := 0; i < 5; i++ { // the servers are shuffled: either comes first
			c := newClient(t, func(c *Config) { c.NumRetries = 1 }, dead(t), strings.TrimPrefix(srv.URL, "http://"))
			if _, err := c.Show(context.Background(), user, imageID); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("recovers", func(t *testing.T) {
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, recordJSON)
		}))
		defer srv.Close()
		c := newClient(t, func(c *Config) { c.NumRetries = 2 }, srv.URL)
		if _, err := c.Show(context.Background(), user, imageID); err != nil {
			t.Fatalf("third attempt should succeed: %v", err)
		}
		if n.Load() != 3 {
			t.Errorf("%d attempts", n.Load())
		}
	})
	t.Run("no retries", func(t *testing.T) {
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		c := newClient(t, func(c *Config) { c.NumRetries = -1 }, srv.URL)
		if _, err := c.Show(context.Background(), user, "x"); !errors.Is(err, ErrUnavailable) || n.Load() != 1 {
			t.Errorf("error %v after %d attempts, want ErrUnavailable after 1", err, n.Load())
		}
	})
}

// TestTimeout: a metadata call that gets no answer ends after glance_request_timeout.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond; c.NumRetries = 1 }, srv.URL)
	start := time.Now()
	_, err := c.Show(context.Background(), user, "x")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestCreateUpdateDeleteActions(t *testing.T) {
	type seen struct {
		method, path, ctype string
		body                string
	}
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		last = seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b)}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v2/images":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"new","status":"queued","size":null,"name":"n","k":"v"}`)
		case r.Method == http.MethodPatch:
			io.WriteString(w, recordJSON)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	c := newClient(t, nil, srv.URL)
	ctx := context.Background()
	prot := true
	img, err := c.Create(ctx, user, CreateRequest{Name: "n", DiskFormat: "raw", ContainerFormat: "bare",
		Visibility: "private", Protected: &prot, MinDisk: 2, Properties: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(last.body), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "n", "disk_format": "raw", "container_format": "bare", "visibility": "private",
		"protected": true, "min_disk": float64(2), "k": "v"}
	if fmt.Sprint(body) != fmt.Sprint(want) || last.ctype != "application/json" {
		t.Errorf("create body %v (%s), want %v", body, last.ctype, want)
	}
	if img.ID != "new" || img.Status != StatusQueued || img.Size != nil || img.Properties["k"] != "v" {
		t.Errorf("created %+v", img)
	}

	if _, err := c.Update(ctx, user, imageID, SetProperty("a/b", "1"), RemoveProperty("old~x")); err != nil {
		t.Fatal(err)
	}
	if last.ctype != patchMediaType || last.body != `[{"op":"add","path":"/a~1b","value":"1"},{"op":"remove","path":"/old~0x"}]` {
		t.Errorf("patch %s %s", last.ctype, last.body)
	}

	actions := []struct {
		name         string
		call         func() error
		method, path string
	}{
		{"delete", func() error { return c.Delete(ctx, user, imageID) }, http.MethodDelete, "/v2/images/" + imageID},
		{"deactivate", func() error { return c.Deactivate(ctx, user, imageID) }, http.MethodPost, "/v2/images/" + imageID + "/actions/deactivate"},
		{"reactivate", func() error { return c.Reactivate(ctx, user, imageID) }, http.MethodPost, "/v2/images/" + imageID + "/actions/reactivate"},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			if err := a.call(); err != nil {
				t.Fatal(err)
			}
			if last.method != a.method || last.path != a.path {
				t.Errorf("sent %s %s, want %s %s", last.method, last.path, a.method, a.path)
			}
		})
	}
}

func TestCreateRefusesBaseProperty(t *testing.T) {
	c := newClient(t, nil, "127.0.0.1:1") // never reached
	_, err := c.Create(context.Background(), user, CreateRequest{Name: "n", Properties: map[string]string{"status": "active"}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v, want ErrInvalid", err)
	}
}

func TestUpload(t *testing.T) {
	cases := []struct {
		name    string
		size    int64
		store   string
		wantLen int64
		chunked bool
	}{
		{"known size", 1 << 20, "", 1 << 20, false},
		{"unknown size, ceph store", -1, "ceph", -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("scoria!"), (1<<20)/7+1)[:1<<20]
			var got []byte
			var r *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				r = req.Clone(context.Background())
				got, _ = io.ReadAll(req.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			c := newClient(t, nil, srv.URL)
			// io.MultiReader hides any Seek or Len a transport could use.
			if err := c.UploadToStore(context.Background(), user, imageID, tc.store, io.MultiReader(bytes.NewReader(data)), tc.size); err != nil {
				t.Fatal(err)
			}
			if r.Method != http.MethodPut || r.URL.Path != "/v2/images/"+imageID+"/file" || r.Header.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("sent %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			}
			if r.ContentLength != tc.wantLen || (len(r.TransferEncoding) > 0) != tc.chunked {
				t.Errorf("Content-Length %d, Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
			}
			if r.Header.Get("X-Image-Meta-Store") != tc.store {
				t.Errorf("X-Image-Meta-Store %q, want %q", r.Header.Get("X-Image-Meta-Store"), tc.store)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("Glance got %d bytes, not the %d sent", len(got), len(data))
			}
		})
	}
}

// TestUploadNotResent: a stream partly sent is not sent again after a 503.
func TestUploadNotResent(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.ReadAll(r.Body)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := newClient(t, nil, srv.URL)
	err := c.Upload(context.Background(), user, imageID, io.MultiReader(strings.NewReader("data")), 4)
	if !errors.Is(err, ErrUnavailable) || n.Load() != 1 {
		t.Errorf("error %v after %d attempts, want ErrUnavailable after 1", err, n.Load())
	}
	n.Store(0)
	// A seekable body is rewound and sent again.
	err = c.Upload(context.Background(), user, imageID, strings.NewReader("data"), 4)
	if !errors.Is(err, ErrUnavailable) || n.Load() != 4 {
		t.Errorf("seekable: error %v after %d attempts, want ErrUnavailable after 4", err, n.Load())
	}
}

// glanceWithData serves one image whose record says (size, hashes) and whose file is data.
func glanceWithData(t *testing.T, data []byte, record map[string]any, fileStatus int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/file") {
			w.WriteHeader(fileStatus)
			w.Write(data)
			return
		}
		json.NewEncoder(w).Encode(record)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDownloadVerifies(t *testing.T) {
	data := bytes.Repeat([]byte{0x5c}, 300000)
	sha := sha512.Sum512(data)
	md := md5.Sum(data)
	good := hex.EncodeToString(sha[:])
	cases := []struct {
		name   string
		record map[string]any
		status int
		want   error // nil: the data reads whole
		atOpen bool  // the error comes from Download, not from reading
	}{
		{"sha512", map[string]any{"id": "i", "size": len(data), "os_hash_algo": "sha512", "os_hash_value": good}, 200, nil, false},
		{"md5 only", map[string]any{"id": "i", "size": len(data), "checksum": hex.EncodeToString(md[:])}, 200, nil, false},
		{"wrong hash", map[string]any{"id": "i", "size": len(data), "os_hash_algo": "sha512", "os_hash_value": strings.Repeat("0", 128)}, 200, ErrChecksum, false},
		{"wrong md5", map[string]any{"id": "i", "size": len(data), "checksum": strings.Repeat("0", 32)}, 200, ErrChecksum, false},
		{"short", map[string]any{"id": "i", "size": len(data) + 1, "os_hash_algo": "sha512", "os_hash_value": good}, 200, ErrChecksum, false},
		{"no data", map[string]any{"id": "i", "status": "queued"}, 204, ErrNoData, true},
		{"not found", nil, 404, ErrNotFound, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *httptest.Server
			if tc.record == nil {
				srv = httptest.NewServer(http.NotFoundHandler())
				defer srv.Close()
			} else {
				srv = glanceWithData(t, data, tc.record, tc.status)
			}
			c := newClient(t, nil, srv.URL)
			rc, err := c.Download(context.Background(), user, "i")
			if tc.atOpen {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Download: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if tc.want == nil {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("read %d bytes, %v", len(got), err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("read: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDownloadStall: a transfer that stops longer than glance_request_timeout fails, while one
// that flows may last longer than it.
func TestDownloadStall(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/file") {
			io.WriteString(w, `{"id":"i","size":1000000}`)
			return
		}
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select { // stall
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c := newClient(t, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond }, srv.URL)
	rc, err := c.Download(context.Background(), user, "i")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	start := time.Now()
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrUnavailable) || n != 1000 {
		t.Fatalf("read %d bytes, %v; want 1000 then ErrUnavailable", n, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the stall was noticed after %v", d)
	}

	// Flowing slowly for longer than the timeout in total is fine.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/file") {
			io.WriteString(w, `{"id":"i","size":10}`)
			return
		}
		for i := 0; i < 10; i++ {
			w.Write([]byte{'x'})
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	}))
	defer slow.Close()
	c = newClient(t, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond }, slow.URL)
	rc2, err := c.Download(context.Background(), user, "i")
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if b, err := io.ReadAll(rc2); err != nil || string(b) != "xxxxxxxxxx" {
		t.Fatalf("slow but flowing: %q, %v", b, err)
	}
}

// zeros is an endless reader of zeros.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestDownloadBoundedMemory: 256 MiB stream through Download without the heap growing by it.
func TestDownloadBoundedMemory(t *testing.T) {
	const size = 256 << 20
	h := sha512.New()
	io.CopyN(h, zeros{}, size)
	sum := hex.EncodeToString(h.Sum(nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/file") {
			fmt.Fprintf(w, `{"id":"i","size":%d,"os_hash_algo":"sha512","os_hash_value":%q}`, size, sum)
			return
		}
		io.CopyN(w, zeros{}, size)
	}))
	defer srv.Close()
	c := newClient(t, nil, srv.URL)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rc, err := c.Download(context.Background(), user, "i")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != size {
		t.Fatalf("read %d, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	// TotalAlloc counts every allocation: a buffered download would allocate ≥ 256 MiB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("allocated %d MiB for a %d MiB download", grew>>20, size>>20)
	}
}

// TestEndpoint: the catalog in Auth, or Keystone's GET /v3/auth/catalog, by type, interface
// and region, as glance_catalog_info says.
func TestEndpoint(t *testing.T) {
	glance := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, recordJSON) }))
	defer glance.Close()
	catalog := []CatalogService{
		{Type: "volumev3", Name: "cinderv3", Endpoints: []CatalogEndpoint{{Interface: "public", RegionID: "RegionOne", URL: "http://127.0.0.1:1"}}},
		{Type: "image", Name: "glance", Endpoints: []CatalogEndpoint{
			{Interface: "public", RegionID: "RegionTwo", URL: "http://127.0.0.1:2"},
			{Interface: "internal", RegionID: "RegionOne", URL: glance.URL + "/"},
			{Interface: "public", RegionID: "RegionOne", URL: glance.URL},
		}},
	}
	var catalogReads atomic.Int64
	keystone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/auth/catalog" || r.Header.Get("X-Auth-Token") != "user-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		catalogReads.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"catalog": catalog})
	}))
	defer keystone.Close()
	cases := []struct {
		name    string
		cfg     Config
		auth    Auth
		want    error
		readsKS bool
	}{
		{"public, region", Config{RegionName: "RegionOne"}, Auth{Token: "user-token", Catalog: catalog}, nil, false},
		{"internalURL", Config{CatalogInfo: "image:glance:internalURL"}, Auth{Token: "user-token", Catalog: catalog}, nil, false},
		{"from keystone", Config{AuthURL: keystone.URL + "/v3", RegionName: "RegionOne"}, Auth{Token: "user-token"}, nil, true},
		{"keystone refuses", Config{AuthURL: keystone.URL}, Auth{Token: "bad"}, ErrForbidden, false},
		{"no such region", Config{RegionName: "RegionNine"}, Auth{Token: "user-token", Catalog: catalog}, ErrNoEndpoint, false},
		{"admin interface missing", Config{CatalogInfo: "image:glance:adminURL"}, Auth{Token: "user-token", Catalog: catalog}, ErrNoEndpoint, false},
		{"no catalog anywhere", Config{}, Auth{Token: "user-token"}, ErrNoEndpoint, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			catalogReads.Store(0)
			tc.cfg.Log = quiet()
			c, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			img, err := c.Show(context.Background(), tc.auth, imageID)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil || img.ID != imageID {
				t.Fatalf("%v %+v", err, img)
			}
			if (catalogReads.Load() > 0) != tc.readsKS {
				t.Errorf("%d catalog reads", catalogReads.Load())
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"catalog info parts", Config{CatalogInfo: "image:publicURL"}, "glance_catalog_info"},
		{"endpoint type", Config{CatalogInfo: "image:glance:privateURL"}, "unknown endpoint type"},
		{"ca file missing", Config{CAFile: filepath.Join(dir, "none.pem")}, "glance_ca_certificates_file"},
		{"ca file not pem", Config{CAFile: notPEM}, "no PEM certificate"},
		{"empty server", Config{APIServers: []string{"127.0.0.1:9292", " "}}, "empty entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
