package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/scoria/scoria/internal/config"
)

// TestAllInOne runs the API, the scheduler and a local-file volume service in one process on
// SQLite and the in-process bus, as the `scoria` binary does, and takes one volume through
// create → available → delete over HTTP.
func TestAllInOne(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "scoria.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
host = aio
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
`, dir)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	ctx, cancel := context.WithCancel(context.Background())
	env, err := Open(ctx, cfg, log, true)
	if err != nil {
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
			t.Errorf("services stopped with %v", err)
		}
		env.Close()
	})
	var addr string
	select {
	case addr = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("API did not start")
	}
	base := "http://" + addr + "/v3/demo"
	do := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("X-Auth-Token", "demo:demo")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	waitStatus := func(id string, want ...string) string {
		t.Helper()
		var last string
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			code, out := do("GET", "/volumes/"+id, nil)
			if code == http.StatusNotFound {
				last = "gone"
			} else if v, ok := out["volume"].(map[string]any); ok {
				last, _ = v["status"].(string)
			}
			for _, w := range want {
				if last == w {
					return last
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("volume %s: last status %q, want one of %v", id, last, want)
		return ""
	}

	code, out := do("POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1, "name": "v1"}})
	if code != http.StatusAccepted {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["volume"].(map[string]any)["id"].(string)
	waitStatus(id, "available")
	file := filepath.Join(dir, "volumes", "volume-"+id)
	st, err := os.Stat(file)
	if err != nil || st.Size() != 1<<30 {
		t.Fatalf("volume file: %v, %v", st, err)
	}
	if code, out := do("DELETE", "/volumes/"+id, nil); code != http.StatusAccepted {
		t.Fatalf("delete: %d %v", code, out)
	}
	waitStatus(id, "gone")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("volume file still there after delete: %v", err)
	}
}
