package localfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
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

// TestNoSpace: a full filesystem or quota is driver.ErrNoSpace, with the message unchanged.
func TestNoSpace(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&os.PathError{Op: "truncate", Path: "volume-x", Err: syscall.ENOSPC}, true},
		{fmt.Errorf("copy: %w", syscall.EDQUOT), true},
		{&os.PathError{Op: "open", Path: "volume-x", Err: syscall.EACCES}, false},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			got := noSpace(tc.err)
			if errors.Is(got, driver.ErrNoSpace) != tc.want || got.Error() != tc.err.Error() {
				t.Errorf("noSpace(%v) = %v (ErrNoSpace %v), want ErrNoSpace %v and the same message", tc.err, got, errors.Is(got, driver.ErrNoSpace), tc.want)
			}
		})
	}
}
