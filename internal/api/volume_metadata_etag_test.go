package api

import (
	"net/http"
	"testing"
)

// Golden bodies and ETags from Python: json.dumps({"metadata": d}) and its md5.
func TestMetadataBodyMatchesPython(t *testing.T) {
	for _, tc := range []struct {
		name       string
		md         map[string]string
		body, etag string
	}{
		{"empty", map[string]string{}, `{"metadata": {}}`, "28ea041cc3f26b287319d2de3c107b50"},
		{"two keys", map[string]string{"key2": "value2", "key1": "vanue1"}, `{"metadata": {"key1": "vanue1", "key2": "value2"}}`, "6883f54511eaf1277d757247a1ad2d92"},
		{"escapes", map[string]string{"k": "é☃😀\"\\\n\x01\x7f</>&"}, `{"metadata": {"k": "\u00e9\u2603\ud83d\ude00\"\\\n\u0001\u007f</>&"}}`, "3f972a6fab6d63ed02ca8bef398f9d50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := metadataBody(tc.md)
			if string(body) != tc.body {
				t.Errorf("body %s, want %s", body, tc.body)
			}
			if got := metadataETag(body); got != tc.etag {
				t.Errorf("etag %s, want %s", got, tc.etag)
			}
		})
	}
}

func TestIfMatchTags(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        []string
		any         bool
	}{
		{"absent", "", nil, true},
		{"star", "*", nil, true},
		{"unquoted, as Cinder hands it out", "abc", []string{"abc"}, false},
		{"quoted", `"abc"`, []string{"abc"}, false},
		{"list with spaces", `"a", "b"`, []string{"a", "b"}, false},
		{"weak tags do not count", `W/"a", "b"`, []string{"b"}, false},
		{"only weak", `W/"a"`, []string{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.value != "" {
				h.Set("If-Match", tc.value)
			}
			got, any := ifMatchTags(h)
			if any != tc.any || len(got) != len(tc.want) {
				t.Fatalf("tags %q any %v, want %q any %v", got, any, tc.want, tc.any)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("tags %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestVolumeMetadataETag(t *testing.T) {
	e := newEnv(t)
	id := e.createVolume(`{"volume": {"size": 1, "metadata": {"a": "1"}}}`, "")
	theirs := e.createVolume(`{"volume": {"size": 1}}`, "u2:p2")
	base := "/v3/p1/volumes/" + id + "/metadata"
	const v15, v14 = "volume 3.15", "volume 3.14"
	etag := func(t *testing.T) string {
		t.Helper()
		rec := e.do(call{method: "GET", path: base, version: v15})
		wantStatus(t, rec, http.StatusOK)
		tag := rec.Header().Get("Etag")
		if want := metadataETag(rec.Body.Bytes()); tag != want {
			t.Fatalf("Etag %q is not the md5 of the body %s (%s)", tag, rec.Body.String(), want)
		}
		return tag
	}

	t.Run("GET from 3.15 answers Cinder's body and its md5", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: base, version: v15})
		wantStatus(t, rec, http.StatusOK)
		if got := rec.Body.String(); got != `{"metadata": {"a": "1"}}` {
			t.Errorf("body %s", got)
		}
		if got := rec.Header().Get("Etag"); got != metadataETag([]byte(`{"metadata": {"a": "1"}}`)) {
			t.Errorf("Etag %q", got)
		}
	})
	t.Run("GET below 3.15 has no ETag", func(t *testing.T) {
		rec := e.do(call{method: "GET", path: base, version: v14})
		wantStatus(t, rec, http.StatusOK)
		if got, ok := rec.Header()["Etag"]; ok {
			t.Errorf("Etag %q below 3.15", got)
		}
	})

	stale := etag(t)
	wantStatus(t, e.do(call{method: "POST", path: base, body: `{"metadata": {"b": "2"}}`}), http.StatusOK)
	current := etag(t)
	if stale == current {
		t.Fatalf("ETag did not change with the metadata: %s", current)
	}

	for _, tc := range []struct {
		name, method, path, body, version, ifMatch string
		status                                     int
	}{
		{"replace, stale If-Match", "PUT", base, `{"metadata": {"x": "1"}}`, v15, stale, http.StatusPreconditionFailed},
		{"replace, stale quoted If-Match", "PUT", base, `{"metadata": {"x": "1"}}`, v15, `"` + stale + `"`, http.StatusPreconditionFailed},
		{"replace, weak current If-Match", "PUT", base, `{"metadata": {"x": "1"}}`, v15, `W/"` + current + `"`, http.StatusPreconditionFailed},
		{"set one, stale If-Match", "PUT", base + "/a", `{"meta": {"a": "9"}}`, v15, stale, http.StatusPreconditionFailed},
		{"replace, stale If-Match below 3.15 is ignored", "PUT", base, `{"metadata": {"a": "1", "b": "2"}}`, v14, stale, http.StatusOK},
		{"replace, star", "PUT", base, `{"metadata": {"a": "1", "b": "2"}}`, v15, "*", http.StatusOK},
		{"replace, no If-Match", "PUT", base, `{"metadata": {"a": "1", "b": "2"}}`, v15, "", http.StatusOK},
		{"replace, one of the listed tags matches", "PUT", base, `{"metadata": {"a": "1", "b": "2"}}`, v15, `"` + stale + `", "` + current + `"`, http.StatusOK},
		{"set one, current If-Match", "PUT", base + "/a", `{"meta": {"a": "1"}}`, v15, current, http.StatusOK},
		{"bad body is checked before the ETag", "PUT", base, `{"meta": {}}`, v15, stale, http.StatusBadRequest},
		{"unknown volume", "PUT", "/v3/p1/volumes/nope/metadata", `{"metadata": {}}`, v15, stale, http.StatusNotFound},
		{"another project's volume", "PUT", "/v3/p1/volumes/" + theirs + "/metadata", `{"metadata": {}}`, v15, stale, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.ifMatch != "" {
				h["If-Match"] = tc.ifMatch
			}
			if tc.name == "another project's volume" {
				h["X-Roles"] = "member"
			}
			rec := e.do(call{method: tc.method, path: tc.path, body: tc.body, version: tc.version, header: h})
			wantStatus(t, rec, tc.status)
			if tc.status == http.StatusPreconditionFailed && rec.Body.Len() != 0 {
				t.Errorf("412 body %q, want none (as Cinder)", rec.Body.String())
			}
			if got := etag(t); got != current {
				t.Errorf("metadata changed: ETag %s, want %s", got, current)
			}
		})
	}

	t.Run("a matching If-Match lets the change through", func(t *testing.T) {
		wantStatus(t, e.do(call{method: "PUT", path: base, body: `{"metadata": {"z": "0"}}`, version: v15,
			header: map[string]string{"If-Match": current}}), http.StatusOK)
		if got := e.do(call{method: "GET", path: base, version: v15}).Body.String(); got != `{"metadata": {"z": "0"}}` {
			t.Errorf("metadata %s", got)
		}
	})
}
