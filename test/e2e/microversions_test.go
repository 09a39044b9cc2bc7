package e2e

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// TestMicroversionsCinderCLI checks, with the real cinder CLI, microversion steps the CLI
// exposes: 3.15's metadata ETags (cinder metadata … unset reads the ETag and sends it back as
// If-Match) and 3.52's extra_specs filter of type-list; a stale If-Match, which the CLI never
// sends, is checked with a plain HTTP request.
func TestMicroversionsCinderCLI(t *testing.T) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, cluster.Options{})
	cli := func(version string) cinderCLI {
		return cinderCLI{t: t, path: path, endpoint: c.Endpoint(), version: version, home: t.TempDir()}
	}

	t.Run("3.15 metadata ETag", func(t *testing.T) {
		v := cli("3.15")
		id := parseProperties(v.must("create", "--name", "etag", "--metadata", "a=1", "b=2", "--", "1"))["id"]
		if !uuidRE.MatchString(id) {
			t.Fatalf("cinder create printed no volume id")
		}
		t.Cleanup(func() { _ = c.Client().DeleteVolume(context.Background(), id) })

		get := func() (string, string) {
			t.Helper()
			code, body, etag := rawRequest(t, c, http.MethodGet, "/volumes/"+id+"/metadata", "", nil)
			if code != http.StatusOK || etag == "" {
				t.Fatalf("GET metadata at 3.15: %d, Etag %q, body %s", code, etag, body)
			}
			return body, etag
		}
		_, stale := get()
		// The CLI unsets a key by reading the metadata and its ETag and putting back the rest
		// with If-Match: the ETag must match for it to go through.
		v.must("metadata", id, "unset", "a")
		body, current := get()
		if body != `{"metadata": {"b": "2"}}` {
			t.Fatalf("metadata after cinder metadata unset: %s", body)
		}
		if current == stale {
			t.Fatalf("the ETag did not change with the metadata")
		}
		code, out, _ := rawRequest(t, c, http.MethodPut, "/volumes/"+id+"/metadata", `{"metadata": {"x": "1"}}`, map[string]string{"If-Match": stale})
		if code != http.StatusPreconditionFailed {
			t.Errorf("PUT metadata with a stale If-Match: %d %s, want 412", code, out)
		}
		if body, _ := get(); body != `{"metadata": {"b": "2"}}` {
			t.Errorf("a refused PUT changed the metadata: %s", body)
		}
	})

	t.Run("3.52 type-list extra_specs filter", func(t *testing.T) {
		v := cli("3.52")
		for name, spec := range map[string]string{"mv-ssd": "tier=ssd", "mv-hdd": "tier=hdd"} {
			v.must("type-create", name)
			v.must("type-key", name, "set", spec)
		}
		names := func(out string) []string {
			var n []string
			for _, rec := range parseTable(out) {
				n = append(n, rec["Name"])
			}
			slices.Sort(n)
			return n
		}
		if got := names(v.must("type-list", "--filters", "extra_specs={tier:ssd}")); !slices.Equal(got, []string{"mv-ssd"}) {
			t.Errorf("type-list --filters extra_specs={tier:ssd}: %v", got)
		}
		if got := names(v.must("type-list", "--filters", "extra_specs={tier:nvme}")); len(got) != 0 {
			t.Errorf("type-list --filters extra_specs={tier:nvme}: %v", got)
		}
		if got := names(v.must("type-list")); !slices.Contains(got, "mv-ssd") || !slices.Contains(got, "mv-hdd") {
			t.Errorf("type-list without a filter: %v", got)
		}
	})
}

// rawRequest sends one request at microversion 3.15 as the cluster's admin and returns the
// status, the body and the Etag header.
func rawRequest(t *testing.T, c *cluster.Cluster, method, path, body string, headers map[string]string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.Endpoint()+"/"+c.Project+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", "admin:"+c.Project)
	req.Header.Set("OpenStack-API-Version", "volume 3.15")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Etag")
}
