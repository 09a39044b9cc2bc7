package fault

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// TestCheckFindsPlantedFaults proves the invariants can fail: on a real all-in-one with three
// volumes, it plants one fault of each kind the fault test looks for (directly in the
// database and the backend directory) and checks that each is reported.
func TestCheckFindsPlantedFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the all-in-one (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := StartAllInOne(ctx, AllInOneOptions{BinDir: buildBinaries(t), Logf: t.Logf, Project: "plant"})
	if err != nil {
		t.Fatalf("start the all-in-one: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close the all-in-one: %v", err)
		}
	})
	cl := a.Client()
	var vols []string
	for i := range 3 {
		v, err := cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: fmt.Sprintf("plant-%d", i), Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		vols = append(vols, v.ID)
	}
	for _, id := range vols {
		err := cluster.Poll(ctx, time.Minute, 100*time.Millisecond, func() (bool, string, error) {
			v, err := cl.GetVolume(ctx, id)
			if err != nil {
				return false, err.Error(), nil
			}
			return v.Status == "available", "status " + v.Status, nil
		})
		if err != nil {
			t.Fatalf("volume %s: %v", id, err)
		}
	}
	target := AllInOneTarget(a)
	// get_pools needs a capability report after the creates (every periodic_interval, 5 s).
	cfg := Config{Settle: time.Second, PoolsWait: 15 * time.Second}
	cfg.defaults()

	// Nothing planted yet: no violation at all (the checker does not cry wolf).
	clean := &Report{Ops: map[string]map[string]int{}, Kills: map[string]int{}}
	check(ctx, target, cfg, clean, []string{"plant"})
	if len(clean.Violations) > 0 {
		t.Fatalf("violations before any fault was planted:\n%s", strings.Join(clean.Violations, "\n"))
	}

	orphan := uuid.NewString()
	missing := uuid.NewString()
	exec := func(query string, args ...any) func() error {
		return func() error { _, err := a.DB().ExecContext(ctx, query, args...); return err }
	}
	plants := []struct {
		name  string
		plant func() error
		want  string
	}{
		{"an orphan file", func() error {
			return os.WriteFile(filepath.Join(a.VolumeDir(), "volume-"+orphan), nil, 0o644)
		}, "orphan volume-" + orphan + ": no volume row"},
		{"a partial file", func() error {
			return os.WriteFile(filepath.Join(a.VolumeDir(), "volume-"+orphan+".partial"), nil, 0o644)
		}, "partial file volume-" + orphan + ".partial"},
		{"a volume's file gone", func() error {
			return os.Remove(filepath.Join(a.VolumeDir(), "volume-"+vols[0]))
		}, "volume " + vols[0] + " is available but its file is gone"},
		{"quota usage drift", exec("UPDATE quota_usages SET in_use = in_use + 1 WHERE project_id = 'plant' AND resource = 'volumes'"),
			"quota usage of plant: volumes in_use 4 in quota_usages, its rows use 3"},
		{"quota drift as the API shows it", func() error { return nil },
			"GET os-quota-sets/plant?usage=true: volumes in_use 4 reserved 0, its rows use 3"},
		{"a claim that is not the volume's size", exec("UPDATE volumes SET claimed_gb = 0 WHERE id = ?", vols[1]),
			"volume " + vols[1] + " (available, 1 GiB, host \"aio@local#local\") claims 0 GiB of its pool, want 1"},
		// (allocated_gb itself may have been recomputed from the claims by a capability report
		// in the meantime: the sizes are what must disagree.)
		{"a pool that is not its volumes", func() error { return nil },
			"and their sizes sum to 3"},
		{"a volume stuck in a transitional status", exec("UPDATE volumes SET status = 'extending' WHERE id = ?", vols[2]),
			"volume " + vols[2] + " of plant stuck extending"},
		{"an outbox message never delivered", exec("INSERT INTO outbox (topic, server, method, args, `context`, created_at, claimed_at)"+
			" VALUES ('fault-planted', 'x', 'planted', '{}', '{}', ?, '2999-01-01 00:00:00')", time.Now().UTC().Format("2006-01-02 15:04:05")),
			"outbox message"},
	}
	for _, p := range plants {
		if err := p.plant(); err != nil {
			t.Fatalf("plant %s: %v", p.name, err)
		}
	}
	cfg.PoolsWait = time.Second
	rep := &Report{Ops: map[string]map[string]int{}, Kills: map[string]int{}}
	rep.accept(accepted{kind: "create", id: missing})
	rep.accept(accepted{kind: "delete", id: vols[1]})
	check(ctx, target, cfg, rep, []string{"plant"})
	all := strings.Join(rep.Violations, "\n")
	for _, p := range append(plants,
		struct {
			name  string
			plant func() error
			want  string
		}{"an accepted create without a row", nil, "accepted create of volume " + missing + ": no row"},
		struct {
			name  string
			plant func() error
			want  string
		}{"an accepted delete not done", nil, "accepted delete of volume " + vols[1] + ": the volume is still there, available"},
	) {
		t.Run(p.name, func(t *testing.T) {
			if !strings.Contains(all, p.want) {
				t.Errorf("not reported: want a violation containing %q; got:\n%s", p.want, all)
			}
		})
	}
	resp, err := cl.Do(ctx, http.MethodGet, "/volumes/"+vols[2], nil, nil)
	if err != nil || resp.Status != http.StatusOK {
		t.Errorf("the all-in-one no longer answers after the check: %v %+v", err, resp)
	}
}
