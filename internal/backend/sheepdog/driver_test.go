package sheepdog

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/sheep"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
	"github.com/scoria/scoria/test/sheepsim"
)

// simulator starts the protocol-level sheep SIMULATOR of test/sheepsim (Debian has no
// sheepdog: no real sheep can run here), formatted unless unformatted.
func simulator(t *testing.T, unformatted bool) *sheepsim.Server {
	t.Helper()
	// tgt's sheepdog store reads at most 4 digits of a port, and the driver refuses more.
	for port := 7000 + int(time.Now().UnixNano()%2000); port < 10000; port += 7 {
		sim, err := sheepsim.Start(sheepsim.Options{Unformatted: unformatted, Addr: "127.0.0.1:" + strconv.Itoa(port)})
		if err == nil {
			t.Cleanup(sim.Stop)
			return sim
		}
	}
	t.Fatal("no free port below 10000 for the sheep simulator")
	return nil
}

// fromSim is the driver volume_driver = cinder.volume.drivers.sheepdog.SheepdogDriver builds
// for a [sheepdog] section naming the simulator.
func fromSim(t *testing.T, sim *sheepsim.Server) *Driver {
	t.Helper()
	host, port := "127.0.0.1", sim.Port()
	d, ok := drivertest.FromSection(t, "cinder.volume.drivers.sheepdog.SheepdogDriver", driver.Section{Name: "sheepdog", Values: map[string]string{
		"sheepdog_store_address": host, "sheepdog_store_port": strconv.Itoa(port),
	}}).(*Driver)
	if !ok {
		t.Fatal("the Cinder class path did not build a *sheepdog.Driver")
	}
	t.Cleanup(func() { d.Client.Close() })
	return d
}

// probe reads and writes VDIs through a client of its own, not the driver's.
func probe(sim *sheepsim.Server) drivertest.Probe {
	c := sheep.New(sim.Addr(), sheep.Options{})
	return drivertest.Probe{
		Size: func(ctx context.Context, v driver.Volume) (int64, error) {
			vdi, err := c.Lookup(ctx, driver.StorageName(v.ID), "")
			return int64(vdi.Size), err
		},
		ReadAt: func(ctx context.Context, v driver.Volume, p []byte, off int64) error {
			return c.ReadAt(ctx, driver.StorageName(v.ID), "", p, off)
		},
		WriteAt: func(ctx context.Context, v driver.Volume, p []byte, off int64) error {
			return c.WriteAt(ctx, driver.StorageName(v.ID), p, off)
		},
	}
}

// TestConformance runs the driver conformance suite against the sheep simulator.
func TestConformance(t *testing.T) {
	sim := simulator(t, false)
	drivertest.Run(t, drivertest.Suite{
		New:     func(t *testing.T) driver.Driver { return fromSim(t, sim) },
		Probe:   probe(sim),
		Workers: 8,
	})
}

// TestClusterDown: a cluster that is not formatted, or not reachable, fails Setup and Stats
// with Cinder's reason (the backend is then reported down), and both work again by themselves
// once it runs.
func TestClusterDown(t *testing.T) {
	sim := simulator(t, true)
	d := fromSim(t, sim)
	ctx := context.Background()
	for _, f := range []func() error{func() error { return d.Setup(ctx) }, func() error { _, err := d.Stats(ctx); return err }} {
		if err := f(); !errors.Is(err, driver.ErrUnavailable) || !contains(err, `Cluster is not formatted. You should probably perform "dog cluster format".`) {
			t.Errorf("unformatted: %v", err)
		}
	}
	sim.Format()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := d.Stats(ctx)
	if err != nil || len(st.Pools) != 1 || !st.Pools[0].TotalCapacityGB.Known() || st.Pools[0].TotalCapacityGB <= 0 || !st.Pools[0].ThinProvisioningSupport {
		t.Fatalf("stats %+v, %v", st, err)
	}
	sim.Stop()
	if _, err := d.Stats(ctx); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("stopped: %v, want ErrUnavailable", err)
	}
	if err := sim.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stats(ctx); err != nil {
		t.Errorf("restarted: %v", err)
	}
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
