package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ownKeystone is a Keystone process of this test's own: keystone-wsgi-public under uwsgi on
// a free port, on the test Keystone's configuration (its database and fernet keys), so that
// the test can stop and start it without disturbing the shared one on :5000.
type ownKeystone struct {
	t    *testing.T
	ini  string
	url  string
	port string
	cmd  *exec.Cmd
}

func newOwnKeystone(t *testing.T) *ownKeystone {
	t.Helper()
	requireKeystone(t)
	for _, need := range []string{"uwsgi", "/usr/bin/keystone-wsgi-public", "/etc/keystone/keystone.conf"} {
		if _, err := exec.LookPath(need); err != nil {
			if _, serr := os.Stat(need); serr != nil {
				msg := fmt.Sprintf("no %s (deploy/keystone/keystone-up.sh installs it)", need)
				if os.Getenv("CI") == "true" {
					t.Fatal("CI=true, and " + msg)
				}
				t.Skip(msg)
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir := t.TempDir()
	ini := filepath.Join(dir, "uwsgi.ini")
	body := fmt.Sprintf(`[uwsgi]
http-socket = 127.0.0.1:%s
plugins = python3
wsgi-file = /usr/bin/keystone-wsgi-public
master = true
processes = 1
threads = 2
uid = keystone
gid = keystone
lazy-apps = true
buffer-size = 65535
add-header = Connection: close
die-on-term = true
`, port)
	if err := os.WriteFile(ini, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &ownKeystone{t: t, ini: ini, port: port, url: "http://127.0.0.1:" + port + "/v3"}
	t.Cleanup(k.stop)
	return k
}

// start runs the process and waits until it answers.
func (k *ownKeystone) start() {
	k.t.Helper()
	k.cmd = exec.Command("uwsgi", "--ini", k.ini)
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		k.t.Fatalf("start uwsgi: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(k.url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("own Keystone on %s did not answer within 90 s: %v", k.url, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stop ends the process group (the uwsgi master and its worker) and waits for it.
func (k *ownKeystone) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = k.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	k.cmd = nil
}

// TestKeystoneStoppedAndBack: a real Keystone process stops while the validator runs:
// tokens it cached keep working until their cache time, a token it has not seen is
// unavailable (the API's 503), and when the same Keystone starts again the validator
// recovers without being rebuilt.
func TestKeystoneStoppedAndBack(t *testing.T) {
	ks := newOwnKeystone(t)
	ks.start()
	ctx := context.Background()
	var now time.Time
	clock := func() time.Time {
		if now.IsZero() {
			return time.Now()
		}
		return now
	}
	k := validator(t, ks.url, func(c *Config) { c.TokenCacheTime = time.Minute; c.Now = clock })
	alice := issue(t, "alice", "alice-secret", "demo-a")
	bob := issue(t, "bob", "bob-secret", "demo-b")
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Fatalf("alice with Keystone up: %v", err)
	}

	ks.stop()
	if _, err := k.Validate(ctx, alice); err != nil {
		t.Errorf("a cached token with Keystone stopped: %v", err)
	}
	if _, err := k.Validate(ctx, bob); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a new token with Keystone stopped: %v, want ErrUnavailable", err)
	}
	now = time.Now().Add(2 * time.Minute) // past token_cache_time: alice must be asked again
	if _, err := k.Validate(ctx, alice); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a token past its cache time with Keystone stopped: %v, want ErrUnavailable", err)
	}

	ks.start()
	for _, c := range []struct{ name, token string }{{"bob", bob}, {"alice", alice}} {
		if id, err := k.Validate(ctx, c.token); err != nil || id.UserName != c.name {
			t.Errorf("%s with Keystone back: %+v, %v", c.name, id, err)
		}
	}
}
