package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

const gib = int64(1) << 30

// binaries are built once per package run, by the first test that needs them.
// binaries are built once per package run.
var binaries = cluster.BuiltOnce{Prefix: "scoria-e2e-bin-"}

// servers are checked once per package run.
var servers struct {
	once sync.Once
	s    cluster.Servers
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// unavailable skips the test because something it needs is missing, or fails it when CI=true.
var unavailable = cluster.Unavailable

func requireServers(t *testing.T) cluster.Servers {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs MariaDB and RabbitMQ (skipped with -short)")
	}
	servers.once.Do(func() {
		servers.s = cluster.ServersFromEnv()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		servers.err = servers.s.Check(ctx)
	})
	if servers.err != nil {
		unavailable(t, "the test servers cannot be used (%s, %s): %v", cluster.EnvMySQLURL, cluster.EnvRabbitURL, servers.err)
	}
	return servers.s
}

func buildBinaries(t *testing.T) string { return binaries.Dir(t) }

// startCluster starts a cluster for t (debug logs) and closes it when t ends, printing the
// tail of every log first when t failed (or always, with SCORIA_E2E_LOGS=1).
func startCluster(t *testing.T, opts cluster.Options) *cluster.Cluster {
	t.Helper()
	opts.Servers = requireServers(t)
	opts.BinDir = buildBinaries(t)
	opts.Debug = true
	opts.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster %s failed; logs:\n%s", c.Vhost(), c.LogTails(40))
		} else if os.Getenv("SCORIA_E2E_LOGS") != "" {
			t.Logf("cluster %s logs:\n%s", c.Vhost(), c.LogTails(100))
		}
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createVolumes sends n creates at once and returns the accepted volumes in order; size
// gives the size of the i-th.
func createVolumes(t *testing.T, cl *blockstorage.Client, n int, prefix string, size func(i int) int) []*blockstorage.Volume {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	vols := make([]*blockstorage.Volume, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vols[i], errs[i] = cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: fmt.Sprintf("%s-%02d", prefix, i), Size: size(i)})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("creates not accepted: %v", err)
	}
	for i, v := range vols {
		if v.Size != size(i) || v.Status != "creating" {
			t.Errorf("create %s answered size %d status %q, want size %d status creating", v.ID, v.Size, v.Status, size(i))
		}
	}
	return vols
}

// deleteAndWaitGone deletes every volume at once and waits until each answers 404.
func deleteAndWaitGone(t *testing.T, c *cluster.Cluster, ids []string, timeout time.Duration) {
	t.Helper()
	cl := c.Client()
	ctx := ctxT(t, timeout)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cl.DeleteVolume(ctx, id); err != nil {
				errs[i] = err
				return
			}
			errs[i] = c.WaitVolumeGone(id, timeout)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("deletes: %v", err)
	}
}

// checkVolumeFile checks that volume id has a complete sparse file of sizeGiB in host's
// directory.
func checkVolumeFile(t *testing.T, c *cluster.Cluster, host, id string, sizeGiB int) {
	t.Helper()
	path := filepath.Join(c.VolumeDir(host), "volume-"+id)
	fi, err := os.Stat(path)
	if err != nil {
		files, _ := c.Files()
		t.Errorf("volume %s on %s: %v (files: %v)", id, host, err, files)
		return
	}
	if fi.Size() != int64(sizeGiB)*gib {
		t.Errorf("%s: size %d, want %d (%d GiB)", path, fi.Size(), int64(sizeGiB)*gib, sizeGiB)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 1<<20 {
		t.Errorf("%s: %d bytes allocated; a new volume file should be sparse", path, st.Blocks*512)
	}
}

// checkFilesMatch checks the backend directories against the volumes: no partial file, no
// file without a volume placed on that host, every file of its volume's size, and (when
// needFile says so) the file of every volume present.
func checkFilesMatch(t *testing.T, c *cluster.Cluster, vols []blockstorage.Volume, needFile func(v blockstorage.Volume) bool) {
	t.Helper()
	files, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]blockstorage.Volume{}
	for _, v := range vols {
		byID[v.ID] = v
	}
	for host, names := range files {
		for _, name := range names {
			id, ok := strings.CutPrefix(name, "volume-")
			switch {
			case strings.HasSuffix(name, ".partial"):
				t.Errorf("%s: partial file %s left behind", host, name)
			case !ok:
				t.Errorf("%s: unexpected file %s", host, name)
			default:
				v, ok := byID[id]
				if !ok {
					t.Errorf("%s: file %s has no volume", host, name)
					continue
				}
				if cluster.HostOfVolume(v.Host) != host {
					t.Errorf("%s: file %s belongs to volume placed on %q", host, name, v.Host)
				}
			}
		}
	}
	for _, v := range vols {
		if needFile(v) {
			checkVolumeFile(t, c, cluster.HostOfVolume(v.Host), v.ID, v.Size)
		}
	}
}

// checkNoVolumeFiles checks that every backend directory is free of volume files.
func checkNoVolumeFiles(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	files, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	for host, names := range files {
		if i := slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, "volume-") }); i >= 0 {
			t.Errorf("%s: volume files left after the deletes: %v", host, names)
		}
	}
}

// statusCounts summarises the statuses of vols, e.g. "available=18 error=2".
func statusCounts(vols []blockstorage.Volume) string {
	counts := map[string]int{}
	for _, v := range vols {
		counts[v.Status]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

func ids(vols []*blockstorage.Volume) []string {
	out := make([]string, len(vols))
	for i, v := range vols {
		out[i] = v.ID
	}
	return out
}
