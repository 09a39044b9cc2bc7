package horizon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// What the test needs on the machine: deploy/horizon/horizon-up.sh installs and writes them.
const (
	python       = "/usr/bin/python3" // Debian's, which has python3-selenium (not a pyenv shim)
	manage       = "/usr/share/openstack-dashboard/manage.py"
	chromium     = "/usr/bin/chromium"
	chromedriver = "/usr/bin/chromedriver"
	settings     = "/etc/openstack-dashboard/local_settings.d/_9999_scoria_test.py"
	keystoneURL  = "http://127.0.0.1:5000/v3" // deploy/keystone/keystone-up.sh
	adminUser    = "admin"
	adminPass    = "admin-secret"
	wholeTest    = 9 * time.Minute // every wait below is bounded by this too
)

// areas are walk.py's areas, in the order they run; `-run TestHorizon/<area>` runs one.
var areas = []string{"volumes", "groups", "types", "services"}

var binaries = cluster.BuiltOnce{Prefix: "scoria-horizon-bin-"}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// step is one line of walk.py's output.
type step struct {
	Area          string   `json:"area"`
	Step          string   `json:"step"`
	Status        string   `json:"status"` // pass, fail, skip
	Worked        bool     `json:"worked"` // what it did showed up (it may still have failed on an alert)
	Error         string   `json:"error"`
	Alerts        []string `json:"alerts"`
	AllowedAlerts []string `json:"allowed_alerts"`
	Screenshot    string   `json:"screenshot"`
	URL           string   `json:"url"`
	Seconds       float64  `json:"seconds"`
}

// TestHorizon walks Horizon's Block Storage pages against Scoria, one sub-test per area
// and one per step within it. Alerts about the compute, image and network services are
// expected (this environment has no Nova, Glance or Neutron: the same with real Cinder) and
// walk.py allows exactly those (ALLOWED_ALERTS); any other error alert fails its step.
func TestHorizon(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: needs Horizon, Chromium, Keystone (skipped with -short)")
	}
	requireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), wholeTest)
	defer cancel()

	artifacts := artifactDir(t)
	t.Logf("screenshots and logs: %s", artifacts)
	fmt.Printf("horizon: screenshots and logs in %s\n", artifacts)

	adminToken := keystoneToken(t)
	scoria := startScoria(t, ctx, artifacts)
	region := registerRegion(t, adminToken, scoria)
	h := startHorizon(t, ctx, artifacts, region)
	// One Chromium profile for the areas, which run one after the other: the second login
	// finds Horizon's 2 MB of scripts in the cache.
	profile := t.TempDir()

	for _, area := range areas {
		t.Run(area, func(t *testing.T) {
			if ctx.Err() != nil {
				t.Fatalf("the whole test's %s are up", wholeTest)
			}
			walk(t, ctx, h, area, artifacts, profile, filepath.Join(artifacts, "scoria.log"))
		})
	}
}

// requireTools skips (fails under CI=true) when a part of the set-up is missing.
func requireTools(t *testing.T) {
	t.Helper()
	for _, f := range []string{python, manage, chromium, chromedriver, settings} {
		if _, err := os.Stat(f); err != nil {
			cluster.Unavailable(t, "%s is missing (run deploy/horizon/horizon-up.sh): %v", f, err)
		}
	}
	if out, err := exec.Command(python, "-c", "import selenium").CombinedOutput(); err != nil {
		cluster.Unavailable(t, "python3-selenium is missing (run deploy/horizon/horizon-up.sh): %v %s", err, out)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:5000", 2*time.Second)
	if err != nil {
		cluster.Unavailable(t, "no Keystone on 127.0.0.1:5000 (run deploy/keystone/keystone-up.sh): %v", err)
	}
	c.Close()
}

// artifactDir is a new directory under $SCORIA_TEST_ARTIFACTS, or under this package's
// artifacts/ (git-ignored); it is kept after the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("SCORIA_TEST_ARTIFACTS")
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root = filepath.Join(wd, "artifacts")
	}
	dir := filepath.Join(root, "horizon-"+time.Now().UTC().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ksCall sends one request to Keystone and returns the answer's headers and body.
func ksCall(method, path, token string, body any, want int) (http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, keystoneURL+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("keystone %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("keystone %s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("keystone %s %s: %s %s", method, path, resp.Status, raw)
	}
	return resp.Header, raw, nil
}

func keystoneToken(t *testing.T) string {
	t.Helper()
	h, _, err := ksCall("POST", "/auth/tokens?nocatalog", "", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": adminUser, "password": adminPass, "domain": map[string]string{"id": "default"}}}},
		"scope": map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]string{"id": "default"}}},
	}}, http.StatusCreated)
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	return h.Get("X-Subject-Token")
}

// registerRegion makes a region of its own whose volumev3 and block-storage endpoints are
// Scoria's (Horizon picks it through DEFAULT_SERVICE_REGIONS); both go at the end of t.
func registerRegion(t *testing.T, token, endpoint string) string {
	t.Helper()
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	region := "horizon-" + hex.EncodeToString(suffix)
	if _, _, err := ksCall("POST", "/regions", token, map[string]any{"region": map[string]string{"id": region}}, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ksDelete(t, token, "/regions/"+region) })
	for _, typ := range []string{"volumev3", "block-storage"} {
		_, raw, err := ksCall("GET", "/services?type="+typ, token, nil, http.StatusOK)
		if err != nil {
			t.Fatal(err)
		}
		var services struct {
			Services []struct{ ID string } `json:"services"`
		}
		if err := json.Unmarshal(raw, &services); err != nil || len(services.Services) == 0 {
			t.Fatalf("no %s service in Keystone (keystone-up.sh makes it): %v %s", typ, err, raw)
		}
		for _, iface := range []string{"public", "internal"} {
			_, raw, err := ksCall("POST", "/endpoints", token, map[string]any{"endpoint": map[string]string{
				"service_id": services.Services[0].ID, "interface": iface, "region_id": region,
				"url": endpoint + "/%(project_id)s",
			}}, http.StatusCreated)
			if err != nil {
				t.Fatal(err)
			}
			var ep struct {
				Endpoint struct{ ID string } `json:"endpoint"`
			}
			if err := json.Unmarshal(raw, &ep); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ksDelete(t, token, "/endpoints/"+ep.Endpoint.ID) })
		}
	}
	return region
}

func ksDelete(t *testing.T, token, path string) {
	t.Helper()
	req, err := http.NewRequest("DELETE", keystoneURL+path, nil)
	if err != nil {
		t.Errorf("keystone DELETE %s: %v", path, err)
		return
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("keystone DELETE %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
		raw, _ := io.ReadAll(resp.Body) // for the message only
		t.Errorf("keystone DELETE %s: %s %s", path, resp.Status, raw)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startScoria runs the all-in-one on a data directory of its own with auth_strategy =
// keystone, logging to dir/scoria.log, and returns its Block Storage v3 endpoint.
func startScoria(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	// SCORIA_HORIZON_BIN_DIR: a directory with a `scoria` built already (another branch, a
	// merge) instead of building this tree's.
	bin := os.Getenv("SCORIA_HORIZON_BIN_DIR")
	if bin == "" {
		bin = binaries.Dir(t)
	}
	data := t.TempDir()
	port := freePort(t)
	conf := filepath.Join(data, "horizon.conf")
	body := fmt.Sprintf(`[DEFAULT]
osapi_volume_listen_port = %d
debug = true
report_interval = 1
periodic_interval = 2
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = %[2]s
auth_url = %[2]s
auth_type = password
username = scoria
password = scoria-secret
project_name = service
user_domain_name = Default
project_domain_name = Default
`, port, keystoneURL)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &cluster.Process{Name: "scoria", Binary: filepath.Join(bin, cluster.BinAllInOne), Config: conf,
		LogPath: filepath.Join(dir, "scoria.log"), Args: []string{"--data-dir", data}}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop scoria: %v", err)
		}
	})
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/v3", port)
	client := &http.Client{Timeout: 5 * time.Second}
	err := cluster.Poll(ctx, time.Minute, 100*time.Millisecond, func() (bool, string, error) {
		if err := p.Exited(); err != nil {
			return false, "", err
		}
		// The version document at the root answers without a token (/v3/ needs one, as Cinder's).
		resp, err := client.Get(strings.TrimSuffix(endpoint, "/v3") + "/")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusMultipleChoices, resp.Status, nil
	})
	if err != nil {
		t.Fatalf("scoria did not answer on %s: %v\n%s", endpoint, err, tail(filepath.Join(dir, "scoria.log"), 30))
	}
	return endpoint
}

// horizon is a running Horizon runserver.
type horizon struct {
	base     string
	state    string // SCORIA_HORIZON_STATE_DIR: sessions and cinderclient.log
	cinder   string // the cinderclient log
	log      string
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopping bool
}

// startHorizon serves Horizon on a fresh loopback port with the region's Block Storage.
func startHorizon(t *testing.T, ctx context.Context, dir, region string) *horizon {
	t.Helper()
	port := freePort(t)
	state := filepath.Join(dir, "horizon-state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &horizon{base: fmt.Sprintf("http://127.0.0.1:%d", port), state: state,
		cinder: filepath.Join(state, "cinderclient.log"), log: filepath.Join(dir, "horizon.log"),
		done: make(chan struct{})}
	logf, err := os.Create(h.log)
	if err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(python, manage, "runserver", fmt.Sprintf("127.0.0.1:%d", port), "--insecure", "--noreload")
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.Env = append(os.Environ(), "SCORIA_HORIZON_REGION="+region, "SCORIA_HORIZON_STATE_DIR="+state,
		"SCORIA_HORIZON_KEYSTONE="+keystoneURL)
	// It dies with the test binary even when that is killed.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start Horizon: %v", err)
	}
	go func() {
		h.waitErr = h.cmd.Wait()
		logf.Close()
		close(h.done)
	}()
	t.Cleanup(h.stop)
	client := &http.Client{Timeout: 10 * time.Second}
	err = cluster.Poll(ctx, 2*time.Minute, 250*time.Millisecond, func() (bool, string, error) {
		select {
		case <-h.done:
			return false, "", fmt.Errorf("Horizon exited: %v", h.waitErr)
		default:
		}
		resp, err := client.Get(h.base + "/auth/login/")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
	if err != nil {
		t.Fatalf("Horizon did not serve its login page on %s: %v\n%s", h.base, err, tail(h.log, 30))
	}
	t.Logf("Horizon on %s (region %s), pid %d", h.base, region, h.cmd.Process.Pid)
	return h
}

// stop ends the runserver by its own pid: SIGTERM, then SIGKILL after 10 s.
func (h *horizon) stop() {
	if h.stopping {
		return
	}
	h.stopping = true
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// walk runs walk.py for area and reports each of its steps as a sub-test.
func walk(t *testing.T, ctx context.Context, h *horizon, area, artifacts, profile, scoriaLog string) {
	cinderFrom, scoriaFrom := size(h.cinder), size(scoriaLog)
	actx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(actx, python, "walk.py", "--area", area, "--base", h.base,
		"--artifacts", artifacts, "--profile", profile,
		"--admin", adminUser, "--admin-password", adminPass,
		"--member", "alice", "--member-password", "alice-secret")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("walk.py: %v", err)
	}
	var steps int
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s step
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Errorf("walk.py printed %q: %v", sc.Text(), err)
			continue
		}
		steps++
		t.Run(s.Step, func(t *testing.T) {
			if len(s.AllowedAlerts) > 0 {
				t.Logf("expected alerts (no compute/image/network service here): %s", strings.Join(s.AllowedAlerts, " | "))
			}
			switch s.Status {
			case "pass":
				t.Logf("%.1fs, screenshot %s", s.Seconds, s.Screenshot)
			case "skip":
				t.Skip(s.Error)
			default:
				t.Errorf("%s\n  page %s\n  screenshot %s\n  error alerts %q", s.Error, s.URL, s.Screenshot, s.Alerts)
			}
		})
	}
	werr := cmd.Wait()
	if werr != nil || steps == 0 {
		t.Errorf("walk.py --area %s: %v (%d steps)\n%s", area, errors.Join(werr, actx.Err()), steps, lastLines(stderr.String(), 40))
	}
	if t.Failed() {
		t.Logf("Block Storage requests and answers Horizon logged in this area (all in %s):\n%s", h.cinder,
			lastLines(cinderLines(since(h.cinder, cinderFrom)), 150))
		t.Logf("requests Scoria answered with an error in this area (all in %s):\n%s", scoriaLog,
			lastLines(errorAnswers(since(scoriaLog, scoriaFrom)), 60))
	}
}

// cinderLines keeps the requests (REQ: curl …) and answers (RESP: status and headers, RESP
// BODY) of cinderclient's debug log.
func cinderLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "REQ: ") || strings.HasPrefix(l, "RESP BODY: ") || strings.Contains(l, " RESP: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// errorAnswers keeps the lines of Scoria's access log (msg=request) with a status of 400 or
// more: method, path, microversion and request id of every call that failed.
func errorAnswers(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "msg=request ") {
			continue
		}
		if i := strings.Index(l, " status="); i >= 0 && len(l) > i+8 && (l[i+8] == '4' || l[i+8] == '5') {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// since is what was appended to path after offset.
func since(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err.Error()
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	return string(raw)
}

func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(raw), n)
}

// lastLines keeps the last n lines of s, each cut at 600 bytes (bodies can be long).
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 600 {
			lines[i] = l[:600] + "…"
		}
	}
	return strings.Join(lines, "\n")
}
