package migrations

import (
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestFilesAreConsistent(t *testing.T) {
	all, err := files()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migration files embedded")
	}
	for _, f := range all {
		body, err := fs.ReadFile(FS, f.name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "-- +goose Up") {
			t.Errorf("%s has no -- +goose Up annotation", f.name)
		}
		if !strings.Contains(string(body), "-- +goose Down") {
			t.Errorf("%s has no -- +goose Down annotation", f.name)
		}
	}
}

func TestLatest(t *testing.T) {
	got, err := Latest()
	if err != nil {
		t.Fatal(err)
	}
	// The highest NNNNN prefix among the embedded file names, read independently of files().
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, n := range names {
		v, err := strconv.ParseInt(n[:5], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want = max(want, v)
	}
	if want < 6 || got != want {
		t.Errorf("Latest() = %d, want %d (the highest file version, at least 6)", got, want)
	}
}

func TestExclude(t *testing.T) {
	tests := []struct {
		dialect string
		want    []string
		wantErr bool
	}{
		{dialect: "mysql", want: filesEnding(t, ".sqlite.sql")},
		{dialect: "sqlite", want: filesEnding(t, ".mysql.sql")},
		{dialect: "postgres", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			got, err := Exclude(tt.dialect)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Exclude(%q) = %v, want an error", tt.dialect, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Exclude(%q) = %v, want %v", tt.dialect, got, tt.want)
			}
		})
	}
}

// filesEnding lists the embedded files whose name ends in suffix, sorted; the first ones are
// checked by name so that the listing itself is known to work.
func filesEnding(t *testing.T, suffix string) []string {
	t.Helper()
	names, err := fs.Glob(FS, "*"+suffix)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if len(names) < 5 || names[0] != "00001_initial"+suffix || names[4] != "00006_snapshots"+suffix {
		t.Fatalf("files ending in %s = %v, want 00001_initial… first and 00006_snapshots… fifth", suffix, names)
	}
	return names
}

// TestDialectFilesDefineSameObjects checks that the per-dialect versions of a migration
// create the same tables and indexes, by name.
func TestDialectFilesDefineSameObjects(t *testing.T) {
	all, err := files()
	if err != nil {
		t.Fatal(err)
	}
	objects := map[int64]map[string][]string{} // version → dialect → CREATE lines
	for _, f := range all {
		if f.dialect == "" {
			continue
		}
		body, err := fs.ReadFile(FS, f.name)
		if err != nil {
			t.Fatal(err)
		}
		var creates []string
		for line := range strings.Lines(string(body)) {
			if strings.HasPrefix(line, "CREATE ") {
				// "CREATE TABLE name (" / "CREATE INDEX name ON t (cols);"
				creates = append(creates, strings.TrimSpace(strings.SplitN(line, "(", 2)[0]))
			}
		}
		if objects[f.version] == nil {
			objects[f.version] = map[string][]string{}
		}
		objects[f.version][f.dialect] = creates
	}
	for v, byDialect := range objects {
		want := byDialect[Dialects[0]]
		for _, d := range Dialects[1:] {
			if !slices.Equal(byDialect[d], want) {
				t.Errorf("version %d: %s creates %v, %s creates %v", v, Dialects[0], want, d, byDialect[d])
			}
		}
	}
}
