package db

import (
	"context"
	"io/fs"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/migrations"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	latest, err := migrations.Latest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			t.Run("twice", func(t *testing.T) {
				s := openURL(t, emptyURL(t, d))
				if v, err := s.SchemaVersion(ctx); err != nil || v != 0 {
					t.Fatalf("SchemaVersion of an empty database = %d, %v; want 0", v, err)
				}
				for i := range 2 {
					if err := s.Migrate(ctx); err != nil {
						t.Fatalf("Migrate #%d: %v", i+1, err)
					}
					if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
						t.Fatalf("SchemaVersion after Migrate #%d = %d, %v; want %d", i+1, v, err, latest)
					}
				}
				checkDefaultType(t, s)
			})
			t.Run("concurrently", func(t *testing.T) {
				// Separate Stores, as separate processes would have.
				url := emptyURL(t, d)
				const n = 4
				stores := make([]*Store, n)
				for i := range stores {
					stores[i] = openURL(t, url)
				}
				var wg sync.WaitGroup
				errs := make([]error, n)
				for i, s := range stores {
					wg.Go(func() { errs[i] = s.Migrate(ctx) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("Migrate #%d: %v", i, err)
					}
				}
				if v, err := stores[0].SchemaVersion(ctx); err != nil || v != latest {
					t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latest)
				}
				checkDefaultType(t, stores[0])
				var applied int
				if err := stores[0].db.QueryRow("SELECT COUNT(*) FROM " + versionTable + " WHERE version_id > 0").Scan(&applied); err != nil {
					t.Fatal(err)
				}
				if want := migrationVersions(t); applied != want {
					t.Errorf("%s has %d applied versions, want %d (one per migration)", versionTable, applied, want)
				}
			})
		})
	}
}

// migrationVersions counts the distinct versions of the embedded migrations: helpers'
// branches number theirs ahead, so the versions need not run 1…latest without a gap.
func migrationVersions(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]bool{}
	for _, n := range names {
		versions[n[:5]] = true
	}
	return len(versions)
}

func checkDefaultType(t *testing.T, s *Store) {
	t.Helper()
	if n := countRows(t, s, "volume_types"); n != 1 {
		t.Errorf("volume_types has %d rows, want the default type only", n)
	}
	vt, err := s.GetVolumeTypeByName(context.Background(), resource.DefaultVolumeTypeName)
	if err != nil {
		t.Fatal(err)
	}
	want := resource.VolumeType{ID: DefaultVolumeTypeID, Name: "__DEFAULT__", Description: "Default Volume Type", IsPublic: true, ExtraSpecs: map[string]string{}}
	if !reflect.DeepEqual(*vt, want) {
		t.Errorf("default type = %+v, want %+v", *vt, want)
	}
}

func TestVolumeTypes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tests := []struct {
			name    string
			get     func() (*resource.VolumeType, error)
			wantID  string
			missing string
		}{
			{"by id", func() (*resource.VolumeType, error) { return s.GetVolumeType(ctx, DefaultVolumeTypeID) }, DefaultVolumeTypeID, ""},
			{"by name", func() (*resource.VolumeType, error) { return s.GetVolumeTypeByName(ctx, "__DEFAULT__") }, DefaultVolumeTypeID, ""},
			{"missing id", func() (*resource.VolumeType, error) { return s.GetVolumeType(ctx, "nope") }, "", "nope"},
			{"name is case-sensitive", func() (*resource.VolumeType, error) { return s.GetVolumeTypeByName(ctx, "__default__") }, "", "__default__"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				vt, err := tt.get()
				if tt.missing != "" {
					wantNotFound(t, err, "VolumeType", tt.missing)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if vt.ID != tt.wantID {
					t.Errorf("ID = %q, want %q", vt.ID, tt.wantID)
				}
			})
		}
	})
}

func TestVolumeTypeExtraSpecs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for k, v := range map[string]string{"volume_backend_name": "lvmbackend", "capabilities:thin_provisioning_support": "<is> True"} {
			if _, err := s.db.ExecContext(ctx, "INSERT INTO volume_type_extra_specs (volume_type_id, `key`, `value`, created_at) VALUES (?, ?, ?, ?)",
				DefaultVolumeTypeID, k, v, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		vt, err := s.GetVolumeTypeByName(ctx, resource.DefaultVolumeTypeName)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"volume_backend_name": "lvmbackend", "capabilities:thin_provisioning_support": "<is> True"}
		if !reflect.DeepEqual(vt.ExtraSpecs, want) || vt.ID != DefaultVolumeTypeID {
			t.Fatalf("type = %+v, want extra specs %v", vt, want)
		}
	})
}
