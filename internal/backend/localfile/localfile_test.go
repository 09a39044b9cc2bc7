package localfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

func newDriver(t *testing.T) *Driver {
	t.Helper()
	d := &Driver{Dir: filepath.Join(t.TempDir(), "vols"), BackendName: "local", PoolName: "local"}
	if err := d.Setup(context.Background()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return d
}

// exists is d.Exists for a check: a probe that fails fails the test instead of reading as
// "does not exist".
func exists(t *testing.T, d *Driver, v driver.Volume) bool {
	t.Helper()
	ok, err := d.Exists(context.Background(), v)
	if err != nil {
		t.Fatalf("Exists %s: %v", v.ID, err)
	}
	return ok
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	v := driver.Volume{ID: "11111111-2222-3333-4444-555555555555", SizeGiB: 2}
	for i := 0; i < 2; i++ { // the second create is a redelivery and must succeed
		if _, err := d.Create(ctx, v); err != nil {
			t.Fatalf("Create #%d: %v", i+1, err)
		}
	}
	st, err := os.Stat(filepath.Join(d.Dir, "volume-"+v.ID))
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if st.Size() != 2*driver.GiB {
		t.Fatalf("size = %d, want %d", st.Size(), 2*driver.GiB)
	}
	if ok, err := d.Exists(ctx, v); err != nil || !ok {
		t.Fatalf("Exists = %v, %v; want true", ok, err)
	}
	stats, err := d.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if len(stats.Pools) != 1 || stats.Pools[0].ProvisionedCapacityGB != 2 || stats.Pools[0].TotalCapacityGB <= 0 {
		t.Fatalf("unexpected stats %+v", stats)
	}
	for i := 0; i < 2; i++ {
		if err := d.Delete(ctx, v); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if exists(t, d, v) {
		t.Fatal("volume file still exists after delete")
	}
}

func TestCreateConflictingSize(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	v := driver.Volume{ID: "a", SizeGiB: 1}
	if _, err := d.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	v.SizeGiB = 3
	if _, err := d.Create(ctx, v); err == nil {
		t.Fatal("Create over an existing file of another size succeeded")
	}
}

func TestSetupRemovesPartialFiles(t *testing.T) {
	d := newDriver(t)
	partial := filepath.Join(d.Dir, "volume-x"+tmpSuffix)
	if err := os.WriteFile(partial, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("partial file survived Setup: %v", err)
	}
}

func TestCreateFailsOnReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("running as root: permission bits do not stop root, using a missing directory instead")
	}
	d := &Driver{Dir: filepath.Join(t.TempDir(), "missing", "dir")}
	if _, err := d.Create(context.Background(), driver.Volume{ID: "b", SizeGiB: 1}); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
}

func TestStatsWithCapacityBudget(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		thick     bool
		wantFree  float64
		wantThin  bool
		wantRatio string
	}{
		// Two sparse 10 GiB files in a 50 GiB budget: thin counts what the files really
		// use (almost nothing), thick counts their full size.
		{"thin", false, 50, true, "20.0"},
		{"thick", true, 30, false, "1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Driver{Dir: filepath.Join(t.TempDir(), "vols"), PoolName: "p", CapacityGB: 50, Thick: tc.thick}
			if err := d.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"a", "b"} {
				if _, err := d.Create(ctx, driver.Volume{ID: id, SizeGiB: 10}); err != nil {
					t.Fatal(err)
				}
			}
			st, err := d.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p := st.Pools[0]
			if float64(p.TotalCapacityGB) != 50 || float64(p.FreeCapacityGB) < tc.wantFree-0.1 || float64(p.FreeCapacityGB) > tc.wantFree ||
				p.ProvisionedCapacityGB != 20 || p.ThinProvisioningSupport != tc.wantThin || p.MaxOverSubscriptionRatio != tc.wantRatio {
				t.Fatalf("pool = %+v", p)
			}
		})
	}
}
