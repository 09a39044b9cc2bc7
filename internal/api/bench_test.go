package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func benchRequest(b *testing.B, e *env, method, path, body string) {
	b.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", testUser+":"+testProject)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// BenchmarkShowVolume is GET /volumes/{id} through the whole handler on SQLite.
func BenchmarkShowVolume(b *testing.B) {
	e := newEnv(b)
	id := e.createVolume(`{"volume": {"size": 1, "name": "bench", "metadata": {"a": "1", "b": "2"}}}`, "")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, e, http.MethodGet, "/v3/p1/volumes/"+id, "")
	}
}

// BenchmarkCreateVolume is POST /volumes through the whole handler on SQLite: validation,
// one transaction with the volume, its metadata and the outbox row, dispatch.
func BenchmarkCreateVolume(b *testing.B) {
	e := newEnv(b)
	body := `{"volume": {"size": 1, "name": "bench", "metadata": {"a": "1", "b": "2"}}}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, e, http.MethodPost, "/v3/p1/volumes", body)
	}
}

// BenchmarkListVolumesDetail is GET /volumes/detail?limit=100 of 100 volumes.
func BenchmarkListVolumesDetail(b *testing.B) {
	e := newEnv(b)
	for range 100 {
		e.createVolume(`{"volume": {"size": 1, "metadata": {"a": "1"}}}`, "")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, e, http.MethodGet, "/v3/p1/volumes/detail?limit=100", "")
	}
}

// BenchmarkShowVolumeKeystone is BenchmarkShowVolume with auth_strategy = keystone and a warm
// token cache (the real Keystone of deploy/keystone/keystone-up.sh validated the token once):
// what authentication adds to a GET when the token is cached.
func BenchmarkShowVolumeKeystone(b *testing.B) {
	requireTestKeystone(b)
	v := keystoneValidator(b, testKeystone)
	e := newEnv(b, withKeystone(v))
	alice := login(b, v, "alice", "alice-secret", "demo-a")
	rec := e.do(call{method: "POST", path: "/v3/" + alice.project + "/volumes", token: alice.token,
		body: `{"volume": {"size": 1, "name": "bench", "metadata": {"a": "1", "b": "2"}}}`})
	if rec.Code != http.StatusAccepted {
		b.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	path := "/v3/" + alice.project + "/volumes/" + str(b, obj(b, rec), "volume", "id")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Auth-Token", alice.token)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET: %d %s", rec.Code, rec.Body)
		}
	}
}
