package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/launch"
	"github.com/scoria/scoria/test/blockstorage"
)

// allInOne starts Scoria's all-in-one in this process — the API, the scheduler and a
// local-file volume service on SQLite and the in-process bus, as the scoria binary runs them
// — behind a proxy (see proxy) and returns the proxy. Everything stops at the end of t.
func allInOne(t *testing.T) *proxy {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "scoria.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
host = load
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 0
enabled_backends = local
report_interval = 1
state_path = %[1]s
[database]
connection = sqlite:///%[1]s/scoria.db
[local]
volume_driver = localfile
local_volume_dir = %[1]s/volumes
`, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	env, err := launch.Open(ctx, cfg, log, true)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return env.RunVolume(gctx) })
	g.Go(func() error { return env.RunScheduler(gctx) })
	g.Go(func() error { return env.RunAPI(gctx, ready) })
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("the all-in-one stopped with %v", err)
		}
		env.Close()
	})
	var addr string
	select {
	case addr = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("the all-in-one's API did not start")
	}
	target, err := url.Parse("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{real: httputil.NewSingleHostReverseProxy(target), counts: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// proxy stands in front of the real API: it counts the requests by method and route, and
// injects the faults a test asks for; everything else is the real API's answer.
type proxy struct {
	URL  string
	real http.Handler
	// refuseComplete, when set, answers the nth os-complete (from 1) with a 409 instead of
	// passing it on; noConnectionInfo answers attachment creates with connection_info {}.
	refuseComplete   func(n int) bool
	noConnectionInfo bool

	mu     sync.Mutex
	counts map[string]int // "GET /volumes/detail", "POST /attachments/{id}/action", …
}

var idInPath = regexp.MustCompile(`/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + idInPath.ReplaceAllString(strings.TrimPrefix(r.URL.Path, "/v3/demo"), "/{id}")
	p.mu.Lock()
	p.counts[route]++
	n := p.counts[route]
	p.mu.Unlock()
	switch {
	case route == "POST /attachments/{id}/action" && p.refuseComplete != nil && p.refuseComplete(n):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"conflictingRequest": {"code": 409, "message": "refused by the test"}}`)
	case route == "POST /attachments" && p.noConnectionInfo:
		rec := httptest.NewRecorder()
		p.real.ServeHTTP(rec, r)
		var body map[string]map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err == nil && body["attachment"] != nil {
			body["attachment"]["connection_info"] = map[string]any{}
		}
		out, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
	default:
		p.real.ServeHTTP(w, r)
	}
}

func (p *proxy) count(route string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[route]
}

// left lists the volumes the real API still has in project demo.
func (p *proxy) left(t *testing.T) []blockstorage.Volume {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vols, err := blockstorage.New(p.URL+"/v3", "demo").ListVolumes(ctx, nil)
	if err != nil {
		t.Fatalf("list the volumes left: %v", err)
	}
	return vols
}

func TestRunAgainstAllInOne(t *testing.T) {
	for _, mode := range []string{WaitList, WaitGet} {
		t.Run(mode, func(t *testing.T) { testRunAgainstAllInOne(t, mode) })
	}
}

func testRunAgainstAllInOne(t *testing.T, mode string) {
	const n = 8 // under the default quota of 10 volumes
	api := allInOne(t)
	var hooks []string
	hook := func(phase string, end bool) { hooks = append(hooks, fmt.Sprintf("%s %v", phase, end)) }
	res, err := Run(context.Background(), Config{Endpoint: api.URL + "/v3", N: n, C: 4, Gets: 100, Poll: 2 * time.Millisecond, Wait: mode, Hook: hook})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Phase{res.Create, res.Get, res.Delete} {
		if p.Errors != 0 {
			t.Errorf("%s: %d errors, first: %s", p.Name, p.Errors, p.FirstErr)
		}
	}
	if res.Create.OK != n || res.Get.OK != 100 || res.Delete.OK != n {
		t.Errorf("ok counts: create %d get %d delete %d, want %d 100 %d", res.Create.OK, res.Get.OK, res.Delete.OK, n, n)
	}
	if got := api.count("POST /volumes"); got != n {
		t.Errorf("the API got %d creates, want %d", got, n)
	}
	if got := api.count("DELETE /volumes/{id}"); got != n {
		t.Errorf("the API got %d deletes, want %d", got, n)
	}
	// A create is seen available by at least one poll after its POST.
	if res.Create.Requests <= n {
		t.Errorf("create requests %d: the status polls were not counted", res.Create.Requests)
	}
	if lists := api.count("GET /volumes/detail"); (mode == WaitList) != (lists > 0) {
		t.Errorf("wait mode %s made %d list requests", mode, lists)
	}
	if left := api.left(t); len(left) != 0 {
		t.Errorf("%d volumes left on the API: %v", len(left), left)
	}
	want := "create→available false,create→available true,GET /volumes/{id} false,GET /volumes/{id} true,delete→gone false,delete→gone true"
	if got := strings.Join(hooks, ","); got != want {
		t.Errorf("hooks called as %s, want %s", got, want)
	}
}

// TestRunCountsFailures: creates the API refuses (beyond the project's quota of 10 volumes)
// are counted as errors with the API's answer, and only the volumes made are deleted.
func TestRunCountsFailures(t *testing.T) {
	api := allInOne(t)
	res, err := Run(context.Background(), Config{Endpoint: api.URL + "/v3", N: 12, C: 2, Gets: -1, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Create.OK != 10 || res.Create.Errors != 2 || !strings.Contains(res.Create.FirstErr, "413") {
		t.Errorf("12 creates against a quota of 10: %+v", res.Create)
	}
	if res.Get.Name != "" || res.Delete.OK != 10 || res.Delete.Errors != 0 {
		t.Errorf("get %+v delete %+v: nothing to read, 10 to delete", res.Get, res.Delete)
	}
	if left := api.left(t); len(left) != 0 {
		t.Errorf("%d volumes left on the API", len(left))
	}
}

func TestRunUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if _, err := Run(context.Background(), Config{Endpoint: url + "/v3"}); err == nil {
		t.Fatal("Run against a closed port succeeded")
	}
}
