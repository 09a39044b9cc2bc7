package fault

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// Environment variables of a longer soak (the defaults keep the package within ~3 minutes).
const (
	EnvSeed     = "SCORIA_FAULT_SEED"     // the seed; default random
	EnvDuration = "SCORIA_FAULT_DURATION" // workload time per deployment, e.g. 10m [30s]
	EnvOps      = "SCORIA_FAULT_OPS"      // operations per deployment, at most [300; a soak's duration × 20/s]
)

var (
	seedFlag     = flag.Uint64("fault.seed", 0, "seed of the workload and kill schedule (default $"+EnvSeed+", else random)")
	durationFlag = flag.Duration("fault.duration", 0, "workload time per deployment (default $"+EnvDuration+", else 30s)")
	opsFlag      = flag.Int("fault.ops", 0, "operations per deployment, at most (default $"+EnvOps+", else 300)")
)

// binaries are built once per package run.
var binaries = cluster.BuiltOnce{Prefix: "scoria-fault-bin-"}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// unavailable skips the test because something it needs is missing, or fails it when CI=true.
var unavailable = cluster.Unavailable

func buildBinaries(t *testing.T) string { return binaries.Dir(t) }

// config reads the seed and bounds from the flags, then the environment, then the defaults,
// and prints the seed first so that a failure can be run again.
func config(t *testing.T) Config {
	t.Helper()
	cfg := Config{Logf: t.Logf}
	cfg.Seed = *seedFlag
	if cfg.Seed == 0 {
		if s := os.Getenv(EnvSeed); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("%s=%q: %v", EnvSeed, s, err)
			}
			cfg.Seed = n
		}
	}
	if cfg.Seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		cfg.Seed = binary.LittleEndian.Uint64(b[:]) >> 1
	}
	cfg.Duration = *durationFlag
	soak := false
	if cfg.Duration == 0 {
		if s := os.Getenv(EnvDuration); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				t.Fatalf("%s=%q: %v", EnvDuration, s, err)
			}
			cfg.Duration, soak = d, true
		}
	}
	cfg.Ops = *opsFlag
	if cfg.Ops == 0 {
		if s := os.Getenv(EnvOps); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s=%q: %v", EnvOps, s, err)
			}
			cfg.Ops = n
		} else if soak {
			cfg.Ops = int(cfg.Duration.Seconds() * 20)
		}
	}
	t.Logf("fault seed %d — run again with: go test -run '^%s$' -v ./test/fault/ -fault.seed=%d", cfg.Seed, t.Name(), cfg.Seed)
	return cfg
}

// report logs the counts and fails the test with every violation.
func report(t *testing.T, target Target, rep *Report) {
	t.Helper()
	t.Logf("%s\n%s", target.Name, rep)
	for _, k := range rep.KillLog {
		t.Log(k)
	}
	if rep.TotalOps() == 0 || rep.Ops["create"][Accepted] == 0 {
		t.Errorf("the workload did nothing: %v", rep.Ops)
	}
	if len(rep.Violations) > 0 {
		t.Errorf("seed %d: %d violations on the %s (see above); the services' logs end:\n%s",
			rep.Seed, len(rep.Violations), target.Name, target.LogTails(40))
	}
}

// sweepOptions make abandoned attachments (a client killed between create and complete, as a
// kill of the API does to the workload) resolve within the settle time.
var sweepOptions = map[string]string{"attachment_sweep_age": "15", "attachment_sweep_interval": "2"}

// TestFaultSplit runs the workload against scoria-api, scoria-scheduler and one scoria-volume
// on MariaDB and RabbitMQ, killing one of them with kill -9 at random points.
func TestFaultSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: needs MariaDB and RabbitMQ (skipped with -short)")
	}
	cfg := config(t)
	servers := cluster.ServersFromEnv()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute+2*cfg.Duration)
	defer cancel()
	if err := servers.Check(ctx); err != nil {
		unavailable(t, "the test servers cannot be used (%s, %s): %v", cluster.EnvMySQLURL, cluster.EnvRabbitURL, err)
	}
	c, err := cluster.Start(ctx, cluster.Options{
		BinDir: buildBinaries(t), Servers: servers, Name: "scoria_fault", Logf: t.Logf, Extra: sweepOptions,
	})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	target := ClusterTarget(c, c.Client().HTTP)
	report(t, target, Run(ctx, target, cfg))
}

// TestFaultAllInOne runs the workload against the all-in-one (SQLite, the in-process bus),
// killing its one process with kill -9 at random points.
func TestFaultAllInOne(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: builds and runs the all-in-one (skipped with -short)")
	}
	cfg := config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute+2*cfg.Duration)
	defer cancel()
	a, err := StartAllInOne(ctx, AllInOneOptions{BinDir: buildBinaries(t), Logf: t.Logf, Extra: sweepOptions})
	if err != nil {
		t.Fatalf("start the all-in-one: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close the all-in-one: %v", err)
		}
	})
	// Cinder's default quotas (10 volumes) would refuse most of the workload.
	admin := blockstorage.New(a.Endpoint(), "admin")
	admin.HTTP = a.HTTPClient()
	resp, err := admin.Do(ctx, http.MethodPut, "/os-quota-class-sets/default",
		[]byte(`{"quota_class_set": {"volumes": -1, "snapshots": -1, "gigabytes": -1}}`), nil)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("lift the default quotas: %v %+v", err, resp)
	}
	target := AllInOneTarget(a)
	report(t, target, Run(ctx, target, cfg))
}
