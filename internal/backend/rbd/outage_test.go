//go:build ceph

package rbd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptCluster is a second cluster of deploy/ceph/ceph-up.sh in a directory of its own, on
// free mon ports, that this test may stop and start without disturbing the shared one.
type scriptCluster struct {
	dir, port, portV1 string
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func (c scriptCluster) run(t *testing.T, script string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "..", "deploy", "ceph", script))
	cmd.Env = append(os.Environ(), "CEPH_DIR="+c.dir, "CEPH_MON_PORT="+c.port, "CEPH_MON_PORT_V1="+c.portV1,
		"CEPH_INSTALL=0", "CEPH_UP_TIMEOUT=180")
	cmd.Env = append(cmd.Env, extra...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// The cluster stops under the driver: calls under way and new ones end with ErrUnreachable
// within the op timeout (none hangs); when the cluster is back the same driver reconnects
// and the volume made before is still there.
func TestClusterStopsAndReturns(t *testing.T) {
	requireCluster(t, nil) // the packages and a working setup
	if _, err := exec.LookPath("ceph-mon"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no ceph-mon with CI=true (deploy/ceph/ceph-up.sh installs it): %v", err)
		}
		t.Skip("no ceph-mon")
	}
	c := scriptCluster{dir: filepath.Join(t.TempDir(), "ceph"), port: freePort(t), portV1: freePort(t)}
	t.Cleanup(func() { c.run(t, "ceph-down.sh", "CEPH_WIPE=1") })
	c.run(t, "ceph-up.sh")

	d := &Driver{
		Conn: ConnConfig{ClusterName: "ceph", ConfFile: filepath.Join(c.dir, "ceph.conf"), User: "cinder",
			Keyring: filepath.Join(c.dir, "ceph.client.cinder.keyring"), Pool: "volumes",
			Connect: 3 * time.Second, OpTimeout: 4 * time.Second, Retries: 0, Interval: time.Second},
		MaxCloneDepth: 5, ChunkSizeMiB: 4, BackendName: "outage",
	}
	defer d.Close()
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	before := volume(1)
	if _, err := d.Create(ctx, before); err != nil {
		t.Fatal(err)
	}

	// Calls run while the cluster stops.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	var slow []string
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				v := volume(1)
				_, err := d.Create(ctx, v)
				if took := time.Since(start); took > 10*time.Second {
					mu.Lock()
					slow = append(slow, fmt.Sprintf("create took %s: %v", took, err))
					mu.Unlock()
				}
				if err == nil {
					_ = d.Delete(ctx, v)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	c.run(t, "ceph-down.sh")
	start := time.Now()
	_, err := d.Create(ctx, volume(1))
	took := time.Since(start)
	if !errors.Is(err, ErrUnreachable) && !lostCluster(err) {
		t.Errorf("create on a stopped cluster: %v, want ErrUnreachable", err)
	}
	if took > 10*time.Second {
		t.Errorf("create on a stopped cluster took %s (op timeout 4 s)", took)
	}
	if err := d.Setup(ctx); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("setup on a stopped cluster: %v", err)
	}
	// Stats fail, within the bound: what makes the volume service report the backend down.
	start = time.Now()
	if _, err := d.Stats(ctx); err == nil {
		t.Error("stats of a stopped cluster succeeded")
	} else if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stats of a stopped cluster took %s", took)
	}
	close(stop)
	wg.Wait()
	if len(slow) > 0 {
		t.Errorf("calls that did not end within the bound: %v", slow)
	}

	c.run(t, "ceph-up.sh") // restart with the data (memstore dumps on a clean stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := d.Exists(ctx, before)
		if ok && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the cluster returned: exists = %v, %v", ok, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if st, err := d.Stats(ctx); err != nil || len(st.Pools) != 1 || st.Pools[0].Extra["backend_state"] != "up" {
		t.Errorf("stats after the cluster returned: %+v, %v", st, err)
	}
	after := volume(1)
	if _, err := d.Create(ctx, after); err != nil {
		t.Fatalf("create after the cluster returned: %v", err)
	}
	for _, v := range []string{before.ID, after.ID} {
		cleanup(d, v)
	}
}
