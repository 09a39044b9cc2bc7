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
