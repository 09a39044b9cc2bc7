package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// liftQuotas makes the defaults of s unlimited, for tests of other things that create more
// than Cinder's 10 volumes in a project.
func liftQuotas(t testing.TB, s *Store) {
	t.Helper()
	if _, err := s.UpdateQuotaClass(context.Background(), resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: -1, resource.QuotaSnapshots: -1, resource.QuotaGigabytes: -1,
	}); err != nil {
		t.Fatal(err)
	}
}

// cinderQuotas gives s Cinder's default limits back (newStore lifts them).
func cinderQuotas(t testing.TB, s *Store) {
	t.Helper()
	if _, err := s.UpdateQuotaClass(context.Background(), resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: 10, resource.QuotaSnapshots: 10, resource.QuotaGigabytes: 1000,
	}); err != nil {
		t.Fatal(err)
	}
}

// addVolumeType inserts a volume type and returns its id.
func addVolumeType(t testing.TB, s *Store, name string) string {
	t.Helper()
	id := "type-" + name
	if _, err := s.db.Exec("INSERT INTO volume_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)",
		id, name, dbTime(s.now())); err != nil {
		t.Fatal(err)
	}
	return id
}

// usage returns what project p uses of resource n, as the quota set says.
func usage(t testing.TB, s *Store, p, n string) int64 {
	t.Helper()
	qs, err := s.ProjectQuotas(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := qs.Get(n)
	if !ok {
		t.Fatalf("no resource %s in %v", n, qs)
	}
	return e.InUse
}

// wantOverQuota checks that err is an OverQuotaError with the fields of want.
func wantOverQuota(t testing.TB, err error, want resource.OverQuotaError) {
	t.Helper()
	var oq *resource.OverQuotaError
	if !errors.As(err, &oq) {
		t.Fatalf("err = %v, want an OverQuotaError", err)
	}
	if *oq != want {
		t.Errorf("OverQuotaError = %+v, want %+v", *oq, want)
	}
}

func TestQuotaChargesVolumes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		cinderQuotas(t, s)
		var ids []string
		for i := range 10 {
			v := volume("p1", func(v *resource.Volume) { v.Size = 2 })
			mustCreate(t, s, v)
			ids = append(ids, v.ID)
			if got := usage(t, s, "p1", "volumes"); got != int64(i+1) {
				t.Fatalf("volumes in use = %d after %d creates", got, i+1)
			}
		}
		_, err := s.CreateVolume(ctx, volume("p1"))
		wantOverQuota(t, err, resource.OverQuotaError{Resource: "volumes", Requested: 1, InUse: 10, Limit: 10})
		if !errorsEndWith(err, "Maximum number of volumes allowed (10) exceeded for quota 'volumes'.") {
			t.Errorf("message %q", err)
		}
		if n, _ := s.CountVolumes(ctx, "p1"); n != 10 {
			t.Errorf("p1 has %d volumes after a refused create, want 10", n)
		}
		// Another project has a quota of its own.
		mustCreate(t, s, volume("p2"))

		// A volume in error still counts until it is deleted.
		if _, err := s.TransitionVolume(ctx, ids[0], []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
			t.Fatal(err)
		}
		if got := usage(t, s, "p1", "volumes"); got != 10 {
			t.Errorf("volumes in use = %d with one in error, want 10", got)
		}
		if err := s.DestroyVolume(ctx, ids[0], []string{resource.StatusError}); err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]int64{"volumes": 9, "gigabytes": 18, "volumes___DEFAULT__": 9, "gigabytes___DEFAULT__": 18} {
			if got := usage(t, s, "p1", n); got != want {
				t.Errorf("%s in use = %d after a delete, want %d", n, got, want)
			}
		}
		mustCreate(t, s, volume("p1"))
	})
}

func errorsEndWith(err error, tail string) bool {
	msg := err.Error()
	return len(msg) >= len(tail) && msg[len(msg)-len(tail):] == tail
}

func TestQuotaRefusals(t *testing.T) {
	tests := []struct {
		name   string
		limits map[string]int64
		first  int // size of a volume created first
		size   int // size of the one refused
		want   resource.OverQuotaError
		msg    string
	}{
		{
			name: "gigabytes", limits: map[string]int64{"gigabytes": 5}, first: 3, size: 3,
			want: resource.OverQuotaError{Resource: "gigabytes", Requested: 3, InUse: 3, Limit: 5},
			msg:  "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 5G and 3G has been consumed.",
		},
		{
			name: "per-type volumes", limits: map[string]int64{"volumes_fast": 1}, first: 1, size: 1,
			want: resource.OverQuotaError{Resource: "volumes_fast", Requested: 1, InUse: 1, Limit: 1},
			msg:  "Maximum number of volumes allowed (1) exceeded for quota 'volumes_fast'.",
		},
		{
			name: "per-type gigabytes before volumes", limits: map[string]int64{"volumes_fast": 1, "gigabytes_fast": 4}, first: 2, size: 3,
			want: resource.OverQuotaError{Resource: "gigabytes_fast", Requested: 3, InUse: 2, Limit: 4},
			msg:  "Requested volume or snapshot exceeds allowed gigabytes_fast quota. Requested 3G, quota is 4G and 2G has been consumed.",
		},
		{
			name: "per volume gigabytes", limits: map[string]int64{"per_volume_gigabytes": 2}, first: 2, size: 3,
			want: resource.OverQuotaError{Resource: "per_volume_gigabytes", Requested: 3, Limit: 2},
			msg:  "Requested volume size 3G is larger than maximum allowed limit 2G.",
		},
		{
			name: "zero volumes", limits: map[string]int64{"volumes": 0}, first: 0, size: 1,
			want: resource.OverQuotaError{Resource: "volumes", Requested: 1, Limit: 0},
			msg:  "Maximum number of volumes allowed (0) exceeded for quota 'volumes'.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				fast := addVolumeType(t, s, "fast")
				if _, err := s.UpdateProjectQuotas(ctx, "p1", tt.limits); err != nil {
					t.Fatal(err)
				}
				if tt.first > 0 {
					mustCreate(t, s, volume("p1", func(v *resource.Volume) { v.Size, v.VolumeTypeID = tt.first, fast }))
				}
				before := usage(t, s, "p1", "gigabytes")
				_, err := s.CreateVolume(ctx, volume("p1", func(v *resource.Volume) { v.Size, v.VolumeTypeID = tt.size, fast }))
				wantOverQuota(t, err, tt.want)
				if !errorsEndWith(err, tt.msg) {
					t.Errorf("message %q, want it to end in %q", err, tt.msg)
				}
				if got := usage(t, s, "p1", "gigabytes"); got != before {
					t.Errorf("gigabytes in use %d → %d after a refusal", before, got)
				}
				// Unlimited again: the same create passes.
				unlimited := map[string]int64{}
				for k := range tt.limits {
					unlimited[k] = -1
				}
				if _, err := s.UpdateProjectQuotas(ctx, "p1", unlimited); err != nil {
					t.Fatal(err)
				}
				mustCreate(t, s, volume("p1", func(v *resource.Volume) { v.Size, v.VolumeTypeID = tt.size, fast }))
			})
		})
	}
}

func TestQuotaSnapshots(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v := volume("p1", func(v *resource.Volume) { v.Size = 4 })
		mustCreate(t, s, v)
		if _, err := s.UpdateProjectQuotas(ctx, "p1", map[string]int64{"snapshots": 1}); err != nil {
			t.Fatal(err)
		}
		sn := &resource.Snapshot{ProjectID: "p1", UserID: "u", VolumeID: v.ID}
		if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]int64{"snapshots": 1, "gigabytes": 8, "snapshots___DEFAULT__": 1, "gigabytes___DEFAULT__": 8} {
			if got := usage(t, s, "p1", n); got != want {
				t.Errorf("%s in use = %d, want %d", n, got, want)
			}
		}
		_, err := s.CreateSnapshot(ctx, &resource.Snapshot{ProjectID: "p1", UserID: "u", VolumeID: v.ID}, []string{resource.StatusAvailable})
		wantOverQuota(t, err, resource.OverQuotaError{Resource: "snapshots", Requested: 1, InUse: 1, Limit: 1})
		if !errorsEndWith(err, "Maximum number of snapshots allowed (1) exceeded") {
			t.Errorf("message %q", err)
		}
		if err := s.DestroySnapshot(ctx, sn.ID, []string{resource.SnapshotCreating}); err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]int64{"snapshots": 0, "gigabytes": 4} {
			if got := usage(t, s, "p1", n); got != want {
				t.Errorf("%s in use = %d after the snapshot's delete, want %d", n, got, want)
			}
		}
	})
}

func TestQuotaNeverNegative(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustCreate(t, s, volume("p1", func(v *resource.Volume) { v.Size = 1 }))
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			return s.chargeQuota(ctx, tx, quotaChange{ProjectID: "p1", Volumes: -5, Gigabytes: -5, Snapshots: -1})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"volumes", "gigabytes", "snapshots"} {
			if got := usage(t, s, "p1", n); got != 0 {
				t.Errorf("%s in use = %d, want 0", n, got)
			}
		}
		// A give-back to a project that never took anything creates nothing negative either.
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			return s.chargeQuota(ctx, tx, quotaChange{ProjectID: "nobody", Volumes: -1})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := usage(t, s, "nobody", "volumes"); got != 0 {
			t.Errorf("volumes in use = %d, want 0", got)
		}
		// One change that takes some resources and gives others back (one UPDATE for all):
		// each row moves by its own delta, and a give-back still stops at 0.
		mustCreate(t, s, volume("p2", func(v *resource.Volume) { v.Size = 3 }))
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			return s.chargeQuota(ctx, tx, quotaChange{ProjectID: "p2", Volumes: 2, Gigabytes: -10, Snapshots: 1})
		})
		if err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]int64{"volumes": 3, "gigabytes": 0, "snapshots": 1} {
			if got := usage(t, s, "p2", n); got != want {
				t.Errorf("p2 %s in use = %d, want %d", n, got, want)
			}
		}
	})
}

func TestQuotaSets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		cinderQuotas(t, s)
		addVolumeType(t, s, "fast")
		def, err := s.DefaultQuotas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range def {
			names = append(names, fmt.Sprintf("%s=%d", e.Resource, e.Limit))
		}
		want := "[volumes=10 per_volume_gigabytes=-1 snapshots=10 gigabytes=1000 backups=10 backup_gigabytes=1000 " +
			"volumes_fast=-1 gigabytes_fast=-1 snapshots_fast=-1 volumes___DEFAULT__=-1 gigabytes___DEFAULT__=-1 snapshots___DEFAULT__=-1 groups=10]"
		if got := fmt.Sprint(names); got != want {
			t.Errorf("defaults = %s\nwant       %s", got, want)
		}

		mustCreate(t, s, volume("p1", func(v *resource.Volume) { v.Size = 3 }))
		qs, err := s.UpdateProjectQuotas(ctx, "p1", map[string]int64{"volumes": 5, "gigabytes_fast": 7})
		if err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]resource.QuotaEntry{
			"volumes":        {Resource: "volumes", Limit: 5, InUse: 1},
			"gigabytes":      {Resource: "gigabytes", Limit: 1000, InUse: 3},
			"gigabytes_fast": {Resource: "gigabytes_fast", Limit: 7},
		} {
			if got, _ := qs.Get(n); got != want {
				t.Errorf("%s = %+v, want %+v", n, got, want)
			}
		}

		// The class 'default' changes the defaults of every project without limits of its own.
		if _, err := s.UpdateQuotaClass(ctx, "default", map[string]int64{"volumes": 20, "snapshots_fast": 3}); err != nil {
			t.Fatal(err)
		}
		qs, _ = s.ProjectQuotas(ctx, "p2")
		if e, _ := qs.Get("volumes"); e.Limit != 20 {
			t.Errorf("p2 volumes limit %d, want the class's 20", e.Limit)
		}
		if e, _ := qs.Get("snapshots_fast"); e.Limit != 3 {
			t.Errorf("p2 snapshots_fast limit %d, want the class's 3", e.Limit)
		}
		qs, _ = s.ProjectQuotas(ctx, "p1")
		if e, _ := qs.Get("volumes"); e.Limit != 5 {
			t.Errorf("p1 volumes limit %d, want its own 5", e.Limit)
		}
		// Another class falls back on the class 'default'.
		gold, err := s.UpdateQuotaClass(ctx, "gold", map[string]int64{"gigabytes": 5000})
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := gold.Get("gigabytes"); e.Limit != 5000 {
			t.Errorf("gold gigabytes %d", e.Limit)
		}
		if e, _ := gold.Get("volumes"); e.Limit != 20 {
			t.Errorf("gold volumes %d, want the class default's 20", e.Limit)
		}

		// Refusals change nothing.
		_, err = s.UpdateProjectQuotas(ctx, "p1", map[string]int64{"volumes": 7, "gigabytes": 2})
		var below *resource.QuotaBelowUsageError
		if !errors.As(err, &below) || *below != (resource.QuotaBelowUsageError{Resource: "gigabytes", Limit: 2, InUse: 3}) {
			t.Errorf("limit below usage: err = %v", err)
		} else if want := "Quota gigabytes limit must be equal or greater than existing resources. Current usage is 3 and the requested limit is 2."; below.Error() != want {
			t.Errorf("message %q", below.Error())
		}
		_, err = s.UpdateProjectQuotas(ctx, "p1", map[string]int64{"volumes_slow": 1})
		var nf *resource.NotFoundError
		if !errors.As(err, &nf) || nf.ID != "volumes_slow" {
			t.Errorf("unknown resource: err = %v", err)
		}
		qs, _ = s.ProjectQuotas(ctx, "p1")
		if e, _ := qs.Get("volumes"); e.Limit != 5 {
			t.Errorf("volumes limit %d after refused updates, want 5", e.Limit)
		}
		// -1 and per_volume_gigabytes are never below usage.
		if _, err := s.UpdateProjectQuotas(ctx, "p1", map[string]int64{"gigabytes": -1, "per_volume_gigabytes": 1}); err != nil {
			t.Errorf("unlimited: %v", err)
		}

		if err := s.DeleteProjectQuotas(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		qs, _ = s.ProjectQuotas(ctx, "p1")
		if e, _ := qs.Get("volumes"); e != (resource.QuotaEntry{Resource: "volumes", Limit: 20, InUse: 1}) {
			t.Errorf("volumes after delete = %+v, want the default limit and the usage kept", e)
		}
	})
}

// TestQuotaConcurrentCreates: 100 creates at once against a quota of 50: exactly 50 pass,
// and the usage is the number of volumes.
func TestQuotaConcurrentCreates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.UpdateProjectQuotas(ctx, "p1", map[string]int64{"volumes": 50}); err != nil {
			t.Fatal(err)
		}
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			passed, refused int
		)
		for range 100 {
			wg.Go(func() {
				_, err := s.CreateVolume(ctx, volume("p1"))
				var oq *resource.OverQuotaError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					passed++
				case errors.As(err, &oq):
					refused++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if passed != 50 || refused != 50 {
			t.Errorf("%d passed, %d refused; want 50 and 50", passed, refused)
		}
		n, err := s.CountVolumes(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if n != 50 {
			t.Errorf("%d volumes, want 50", n)
		}
		for _, r := range []string{"volumes", "gigabytes", "volumes___DEFAULT__"} {
			if got := usage(t, s, "p1", r); got != int64(n) {
				t.Errorf("%s in use = %d, want %d", r, got, n)
			}
		}
		// And as many deletes at once give it all back.
		vols, err := s.ListVolumes(ctx, resource.VolumeFilter{ProjectID: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vols {
			wg.Go(func() {
				if err := s.DestroyVolume(ctx, v.ID, []string{resource.StatusAvailable}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := usage(t, s, "p1", "volumes"); got != 0 {
			t.Errorf("volumes in use = %d after deleting all, want 0", got)
		}
	})
}
