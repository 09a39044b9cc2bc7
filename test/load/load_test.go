package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCinder is a Block Storage API in memory: a volume becomes available, and a deleted
// one disappears, delay after the request.
type fakeCinder struct {
	delay time.Duration
	mu    sync.Mutex
	next  int
	lists int
	vols  map[string]*fakeVolume
}

type fakeVolume struct {
	id, status string
	size       int
	since      time.Time
}

func (f *fakeCinder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("X-Auth-Token") != "demo:demo" {
		http.Error(w, `{"unauthorized": {"code": 401, "message": "bad token"}}`, 401)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v3/demo")
	notFound := func() { http.Error(w, `{"itemNotFound": {"code": 404, "message": "no such volume"}}`, 404) }
	switch {
	case r.Method == "GET" && path == "/volumes":
		fmt.Fprint(w, `{"volumes": []}`)
	case r.Method == "GET" && path == "/volumes/detail":
		f.lists++
		status := r.URL.Query().Get("status")
		var out []string
		for _, v := range f.vols {
			f.advance(v)
			if v.status == status {
				out = append(out, fmt.Sprintf(`{"id": %q, "status": %q, "size": %d}`, v.id, v.status, v.size))
			}
		}
		for id, v := range f.vols {
			if v.status == "gone" {
				delete(f.vols, id)
			}
		}
		fmt.Fprintf(w, `{"volumes": [%s]}`, strings.Join(out, ","))
	case r.Method == "POST" && path == "/volumes":
		var in struct {
			Volume struct {
				Size int `json:"size"`
			} `json:"volume"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Volume.Size < 1 {
			http.Error(w, `{"badRequest": {"code": 400, "message": "bad"}}`, 400)
			return
		}
		f.next++
		v := &fakeVolume{id: fmt.Sprintf("vol-%d", f.next), status: "creating", size: in.Volume.Size, since: time.Now()}
		f.vols[v.id] = v
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"volume": {"id": %q, "status": "creating", "size": %d}}`, v.id, v.size)
	case strings.HasPrefix(path, "/volumes/"):
		v, ok := f.vols[strings.TrimPrefix(path, "/volumes/")]
		if !ok {
			notFound()
			return
		}
		if f.advance(v); v.status == "gone" {
			delete(f.vols, v.id)
			notFound()
			return
		}
		if r.Method == "DELETE" {
			if v.status != "available" {
				http.Error(w, `{"badRequest": {"code": 400, "message": "busy"}}`, 400)
				return
			}
			v.status, v.since = "deleting", time.Now()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		fmt.Fprintf(w, `{"volume": {"id": %q, "status": %q, "size": %d}}`, v.id, v.status, v.size)
	default:
		notFound()
	}
}

// advance moves v on when its delay has passed.
func (f *fakeCinder) advance(v *fakeVolume) {
	if time.Since(v.since) < f.delay {
		return
	}
	switch v.status {
	case "creating":
		v.status = "available"
	case "deleting":
		v.status = "gone"
	}
}

func TestRunAgainstFakeCinder(t *testing.T) {
	for _, mode := range []string{WaitList, WaitGet} {
		t.Run(mode, func(t *testing.T) { testRunAgainstFake(t, mode) })
	}
}

func testRunAgainstFake(t *testing.T, mode string) {
	fake := &fakeCinder{delay: 20 * time.Millisecond, vols: map[string]*fakeVolume{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	var hooks []string
	hook := func(phase string, end bool) { hooks = append(hooks, fmt.Sprintf("%s %v", phase, end)) }
	res, err := Run(context.Background(), Config{Endpoint: srv.URL + "/v3", N: 30, C: 5, Gets: 200, Poll: 2 * time.Millisecond, Wait: mode, Hook: hook})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Phase{res.Create, res.Get, res.Delete} {
		if p.Errors != 0 {
			t.Errorf("%s: %d errors, first: %s", p.Name, p.Errors, p.FirstErr)
		}
	}
	if res.Create.OK != 30 || res.Get.OK != 200 || res.Delete.OK != 30 {
		t.Errorf("ok counts: create %d get %d delete %d, want 30 200 30", res.Create.OK, res.Get.OK, res.Delete.OK)
	}
	if res.Create.Latency.Min < fake.delay || res.Delete.Latency.Min < fake.delay {
		t.Errorf("create→available min %v, delete→gone min %v: shorter than the fake's %v", res.Create.Latency.Min, res.Delete.Latency.Min, fake.delay)
	}
	// 30 volumes, 5 at a time, at least 20 ms each: at least 6 rounds.
	if res.Create.Wall < 6*fake.delay || res.Create.Rate() > 30/(6*fake.delay).Seconds() {
		t.Errorf("create wall %v rate %.1f: faster than possible", res.Create.Wall, res.Create.Rate())
	}
	if res.Create.Requests <= 30 {
		t.Errorf("create requests %d: the status polls were not counted", res.Create.Requests)
	}
	if len(fake.vols) != 0 {
		t.Errorf("%d volumes left on the fake", len(fake.vols))
	}
	if (mode == WaitList) != (fake.lists > 0) {
		t.Errorf("wait mode %s made %d list requests", mode, fake.lists)
	}
	want := "create→available false,create→available true,GET /volumes/{id} false,GET /volumes/{id} true,delete→gone false,delete→gone true"
	if got := strings.Join(hooks, ","); got != want {
		t.Errorf("hooks called as %s, want %s", got, want)
	}
}

func TestRunCountsFailures(t *testing.T) {
	fake := &fakeCinder{delay: time.Millisecond, vols: map[string]*fakeVolume{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	res, err := Run(context.Background(), Config{Endpoint: srv.URL + "/v3", Project: "other", N: 3, C: 2, Gets: -1, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Create.OK != 0 || res.Create.Errors != 3 || !strings.Contains(res.Create.FirstErr, "401") {
		t.Errorf("create with a bad token: %+v", res.Create)
	}
	if res.Get.Name != "" || res.Delete.OK != 0 {
		t.Errorf("get %+v delete %+v: nothing to read or delete", res.Get, res.Delete)
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
