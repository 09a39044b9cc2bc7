package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/outbox"
	"github.com/scoria/scoria/internal/resource"
)

func TestVersions(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		path   string
		token  string
		header map[string]string
		status int
		self   string
	}{
		{"root", "/", "-", nil, http.StatusMultipleChoices, "http://example.com/v3/"},
		{"v3 root without token", "/v3/", "-", nil, http.StatusOK, "http://example.com/v3/"},
		{"v3 without slash", "/v3", "", nil, http.StatusOK, "http://example.com/v3/"},
		{"behind a TLS proxy", "/", "-", map[string]string{"X-Forwarded-Proto": "https"}, http.StatusMultipleChoices, "https://example.com/v3/"},
		{"forwarded host", "/", "-", map[string]string{"X-Forwarded-Host": "a.example, api.example:8776"}, http.StatusMultipleChoices, "http://api.example:8776/v3/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: tc.path, token: tc.token, header: tc.header})
			wantStatus(t, rec, tc.status)
			if got := rec.Header().Get("OpenStack-API-Version"); got != "volume 3.0" {
				t.Errorf("OpenStack-API-Version = %q, want volume 3.0", got)
			}
			body := obj(t, rec)
			v := member(t, body, "versions", 0)
			sameKeys(t, "version", keysOf(t, v), []string{"id", "status", "version", "min_version", "updated", "links", "media-types"})
			for path, want := range map[string]string{"id": "v3.0", "status": "CURRENT", "version": GatedVersion, "min_version": "3.0", "updated": "2022-08-31T00:00:00Z"} {
				if got := str(t, v, path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			if got := str(t, v, "links", 1, "href"); got != tc.self {
				t.Errorf("self href = %q, want %q", got, tc.self)
			}
			if got := str(t, v, "links", 0, "href"); got != "https://docs.openstack.org/" {
				t.Errorf("describedby href = %q", got)
			}
			if got := str(t, v, "media-types", 0, "type"); got != "application/vnd.openstack.volume+json;version=3" {
				t.Errorf("media type = %q", got)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want wire.Version
		ok   bool
	}{
		{"3.0", wire.Version{Major: 3, Minor: 0}, true},
		{"3.70", wire.Version{Major: 3, Minor: 70}, true},
		{"3.999", wire.Version{Major: 3, Minor: 999}, true},
		{"10.1", wire.Version{Major: 10, Minor: 1}, true},
		{"3", wire.Version{}, false},
		{"3.01", wire.Version{}, false},
		{"03.1", wire.Version{}, false},
		{"3.1.1", wire.Version{}, false},
		{"v3.1", wire.Version{}, false},
		{"", wire.Version{}, false},
	} {
		got, ok := wire.ParseVersion(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseVersion(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMicroversionNegotiation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		header  map[string]string
		status  int
		echo    string // OpenStack-API-Version of the answer
		message string // of a fault
	}{
		{"absent is 3.0", nil, http.StatusOK, "volume 3.0", ""},
		{"explicit", map[string]string{"OpenStack-API-Version": "volume 3.27"}, http.StatusOK, "volume 3.27", ""},
		{"latest", map[string]string{"OpenStack-API-Version": "volume latest"}, http.StatusOK, "volume " + GatedVersion, ""},
		{"several services", map[string]string{"OpenStack-API-Version": "compute 2.1, volume 3.44"}, http.StatusOK, "volume 3.44", ""},
		{"other service only", map[string]string{"OpenStack-API-Version": "compute 2.90"}, http.StatusOK, "volume 3.0", ""},
		{"legacy header", map[string]string{"X-OpenStack-Volume-API-Version": "3.12"}, http.StatusOK, "volume 3.12", ""},
		{"too high", map[string]string{"OpenStack-API-Version": "volume 3.999"}, http.StatusNotAcceptable, "volume 3.999",
			"Version 3.999 is not supported by the API. Minimum is 3.0 and maximum is " + GatedVersion + "."},
		{"too low", map[string]string{"OpenStack-API-Version": "volume 2.0"}, http.StatusNotAcceptable, "volume 2.0",
			"Version 2.0 is not supported by the API. Minimum is 3.0 and maximum is " + GatedVersion + "."},
		{"malformed", map[string]string{"OpenStack-API-Version": "volume 3.x"}, http.StatusBadRequest, "volume 3.0",
			"API Version String 3.x is of invalid format. Must be of format MajorNum.MinorNum."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/volumes", header: tc.header})
			if got := rec.Header().Get("OpenStack-API-Version"); got != tc.echo {
				t.Errorf("OpenStack-API-Version = %q, want %q", got, tc.echo)
			}
			switch tc.status {
			case http.StatusOK:
				wantStatus(t, rec, http.StatusOK)
			case http.StatusNotAcceptable:
				wantFault(t, rec, tc.status, "computeFault", tc.message)
			default:
				wantFault(t, rec, tc.status, "badRequest", tc.message)
			}
		})
	}
}

func TestRoutingAndAuth(t *testing.T) {
	e := newEnv(t)
	t.Run("unknown path", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/no-such-resource"})
		wantStatus(t, rec, http.StatusNotFound)
		body := obj(t, rec)
		sameKeys(t, "404", keysOf(t, body), []string{"message", "code", "title"})
		if got := str(t, body, "message"); got != "The resource could not be found.<br /><br />\n\n\n" {
			t.Errorf("message %q", got)
		}
		if got := str(t, body, "code"); got != "404 Not Found" {
			t.Errorf("code %q", got)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		rec := e.do(call{method: "PATCH", path: "/v3/p1/volumes/detail"})
		wantFault(t, rec, http.StatusMethodNotAllowed, "badMethod", wire.MsgMethodNotAllowed)
		if got := rec.Header().Get("Allow"); got == "" {
			t.Error("no Allow header")
		}
	})
	t.Run("no token is answered with a fake one", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/p1/volumes", token: "-", header: map[string]string{"X-Auth-Project-Id": "p9"}})
		wantStatus(t, rec, http.StatusNoContent)
		if got := rec.Header().Get("X-Auth-Token"); got != "admin:p9" {
			t.Errorf("X-Auth-Token = %q, want admin:p9", got)
		}
		if got := rec.Header().Get("X-Server-Management-Url"); got != "http://example.com/v3/p1/volumes/p9" {
			t.Errorf("X-Server-Management-Url = %q", got)
		}
	})
	t.Run("token without project", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/solo/volumes", token: "solo"})
		wantStatus(t, rec, http.StatusOK)
	})
	t.Run("URL project is not the token's", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: "/v3/other/volumes"})
		wantFault(t, rec, http.StatusBadRequest, "badRequest", "Malformed request url")
	})
	t.Run("URL without project", func(t *testing.T) {
		id := e.createVolume(`{"volume": {"size": 1}}`, "")
		rec := e.do(call{method: "GET", path: "/v3/volumes/" + id})
		wantStatus(t, rec, http.StatusOK)
		if got := str(t, obj(t, rec), "volume", "links", 0, "href"); got != "http://example.com/v3/p1/volumes/"+id {
			t.Errorf("self link %q", got)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		big := `{"volume": {"size": 1, "description": "` + string(make([]byte, wire.MaxBodyBytes)) + `"}}`
		rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: big})
		wantFault(t, rec, http.StatusRequestEntityTooLarge, "overLimit", "Request is too large.")
	})
	t.Run("access log", func(t *testing.T) {
		e.logs.Reset()
		rec := e.do(call{method: "GET", path: "/v3/p1/volumes"})
		var found bool
		for _, entry := range e.logs.AllEntries() {
			if entry.Message == "request" {
				found = true
				if entry.Data["request_id"] != rec.Header().Get("X-Openstack-Request-Id") || entry.Data["status"] != 200 ||
					entry.Data["method"] != "GET" || entry.Data["path"] != "/v3/p1/volumes" || entry.Data["duration_ms"] == nil ||
					entry.Data["project_id"] != testProject || entry.Data["user_id"] != testUser || entry.Data["microversion"] != "3.0" {
					t.Errorf("access log fields %v", entry.Data)
				}
			}
		}
		if !found {
			t.Error("no access log line")
		}
	})
}

// brokenStore is the real store with one method made to fail the way a bug would.
type brokenStore struct {
	Store
	panics bool
}

func (b brokenStore) ListServices(ctx context.Context, f resource.ServiceFilter) ([]*resource.Service, error) {
	if b.panics {
		panic("boom")
	}
	return nil, context.DeadlineExceeded
}

func TestServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		panics bool
	}{{"error", false}, {"panic", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			e = newEnv(t, func(o *Options) { o.Store = brokenStore{Store: o.Store, panics: tc.panics} })
			rec := e.do(call{method: "GET", path: "/v3/p1/os-services"})
			wantFault(t, rec, http.StatusInternalServerError, "computeFault", wire.MsgServerError)
			var logged bool
			for _, entry := range e.logs.AllEntries() {
				if entry.Level.String() == "error" && entry.Data["request_id"] == rec.Header().Get("X-Openstack-Request-Id") {
					logged = true
				}
			}
			if !logged {
				t.Error("the server error was not logged with the request id")
			}
		})
	}
}

func TestNewKeystoneNeedsTokens(t *testing.T) {
	if _, err := New(Options{Store: brokenStore{}, Dispatcher: &outbox.Relay{}, AuthStrategy: "keystone"}); err == nil {
		t.Error("New accepted auth_strategy keystone without a token validator")
	}
}

// TestAdvertisedMaxVersion: without the test hook the API advertises MaxVersion only, and
// refuses anything above it.
func TestAdvertisedMaxVersion(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.maxVersion = "" })
	above := wire.MustParseVersion(MaxVersion)
	above.Minor++
	tests := []struct {
		header string
		status int
		echo   string
	}{
		{"", http.StatusOK, "volume " + MinVersion},
		{"volume latest", http.StatusOK, "volume " + MaxVersion},
		{"volume " + MaxVersion, http.StatusOK, "volume " + MaxVersion},
		{"volume " + above.String(), http.StatusNotAcceptable, "volume " + above.String()},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v3/"+testProject+"/volumes", nil)
			req.Header.Set("X-Auth-Token", testUser+":"+testProject)
			if tc.header != "" {
				req.Header.Set("OpenStack-API-Version", tc.header)
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Header().Get("OpenStack-API-Version") != tc.echo {
				t.Fatalf("got %d %q, want %d %q: %s", rec.Code, rec.Header().Get("OpenStack-API-Version"), tc.status, tc.echo, rec.Body)
			}
		})
	}
	// Version discovery answers whatever version the client sends, so that a newer client
	// (python-cinderclient sends its own maximum, 3.70) can negotiate down.
	for _, path := range []string{"/", "/v3/"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("OpenStack-API-Version", "volume 3.70")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 400 || rec.Header().Get("OpenStack-API-Version") != "volume "+MinVersion {
			t.Fatalf("GET %s with 3.70: %d %q %s", path, rec.Code, rec.Header().Get("OpenStack-API-Version"), rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(rec.Body.String(), `"version":"`+MaxVersion+`"`) {
		t.Fatalf("versions document does not advertise %s: %s", MaxVersion, rec.Body)
	}
	if _, err := New(Options{Store: e.store, Dispatcher: e.disp, maxVersion: "3.71"}); err == nil {
		t.Fatal("New accepted a maxVersion beyond GatedVersion")
	}
}
