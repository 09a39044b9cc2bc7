package migrations

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
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

// TestFilesIn checks the naming rules on made-up directories: one shared file or one file per
// dialect for each version, and errors that name the offending files.
func TestFilesIn(t *testing.T) {
	const body = "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n"
	tests := []struct {
		name    string
		files   []string
		want    []string // the dialect of each file, "" for shared, in name order
		wantErr []string // substrings of the error; nil for none
	}{
		{name: "shared only", files: []string{"00001_a.sql", "00002_b.sql"}, want: []string{"", ""}},
		{name: "pair beside shared", files: []string{"00001_a.mysql.sql", "00001_a.sqlite.sql", "00002_b.sql"}, want: []string{"mysql", "sqlite", ""}},
		{name: "pair with different names", files: []string{"00001_a.mysql.sql", "00001_b.sqlite.sql"}, want: []string{"mysql", "sqlite"}},
		{name: "two shared files of one number", files: []string{"00017_a.sql", "00017_b.sql"},
			wantErr: []string{"version 17", "00017_a.sql", "00017_b.sql"}},
		{name: "shared and a dialect file", files: []string{"00017_a.mysql.sql", "00017_a.sql"},
			wantErr: []string{"version 17", "shared file 00017_a.sql", "00017_a.mysql.sql"}},
		{name: "shared and a pair", files: []string{"00017_a.mysql.sql", "00017_a.sql", "00017_a.sqlite.sql"},
			wantErr: []string{"version 17", "00017_a.sql", "00017_a.mysql.sql, 00017_a.sqlite.sql"}},
		{name: "two files of one dialect", files: []string{"00017_a.mysql.sql", "00017_a.sqlite.sql", "00017_b.mysql.sql"},
			wantErr: []string{"version 17", "2 mysql files", "00017_a.mysql.sql, 00017_b.mysql.sql"}},
		{name: "dialect missing", files: []string{"00017_a.mysql.sql"},
			wantErr: []string{"version 17", "no sqlite file", "00017_a.mysql.sql"}},
		{name: "unknown dialect", files: []string{"00017_a.postgres.sql"},
			wantErr: []string{"00017_a.postgres.sql", `unknown dialect "postgres"`}},
		{name: "no version", files: []string{"initial.sql"}, wantErr: []string{"initial.sql", "NNNNN_name.sql"}},
		{name: "version zero", files: []string{"00000_a.sql"}, wantErr: []string{"00000_a.sql", "not a positive number"}},
		{name: "first error by version", files: []string{"00003_a.mysql.sql", "00005_a.sql", "00005_b.sql"},
			wantErr: []string{"version 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, n := range tt.files {
				fsys[n] = &fstest.MapFile{Data: []byte(body)}
			}
			got, err := filesIn(fsys)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("filesIn(%v) = %v, want an error", tt.files, got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var dialects []string
			for _, f := range got {
				dialects = append(dialects, f.dialect)
			}
			if !slices.Equal(dialects, tt.want) {
				t.Errorf("filesIn(%v) dialects = %q, want %q", tt.files, dialects, tt.want)
			}
		})
	}
}

// TestSharedFilesArePortable looks for SQL that one of the dialects refuses or reads
// differently (see the package comment) in the files shared by every dialect.
func TestSharedFilesArePortable(t *testing.T) {
	all, err := files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if f.dialect != "" {
			continue
		}
		body, err := fs.ReadFile(FS, f.name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range portabilityProblems(string(body)) {
			t.Errorf("%s: %s: write a pair of dialect files", f.name, p)
		}
	}
}

func TestPortabilityProblems(t *testing.T) {
	tests := []struct {
		sql  string
		want int
	}{
		{"CREATE TABLE t (id VARCHAR(36) NOT NULL, PRIMARY KEY (id));", 0},
		{"INSERT INTO s (k, v) VALUES ('x', '<is> True'); -- Cinder's AUTO_INCREMENT", 0},
		{"CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT) ENGINE=InnoDB;", 2},
		{"CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);", 1},
		{"DROP INDEX i ON t;", 1},
		{"ALTER TABLE t ADD COLUMN c DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;", 1},
		{"ALTER TABLE t ADD COLUMN c BOOLEAN NOT NULL DEFAULT false;", 1},
		{"INSERT IGNORE INTO t VALUES (1);", 1},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			if got := portabilityProblems(tt.sql); len(got) != tt.want {
				t.Errorf("portabilityProblems = %q, want %d problems", got, tt.want)
			}
		})
	}
}

// nonPortable are SQL constructs that one dialect refuses or reads differently; each pattern
// matches upper-cased SQL with comments and string literals removed.
var nonPortable = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`\bAUTO_?INCREMENT\b`), "self-counting ids are AUTO_INCREMENT in MariaDB, AUTOINCREMENT in SQLite"},
	{regexp.MustCompile(`\bENGINE\s*=`), "table options are MariaDB only; the database's defaults apply"},
	{regexp.MustCompile(`\b(CHARSET|CHARACTER\s+SET|COLLATE)\b`), "the database's default character set and collation apply"},
	{regexp.MustCompile(`\bDROP\s+INDEX\b`), "MariaDB wants DROP INDEX … ON table, SQLite refuses it"},
	{regexp.MustCompile(`\b(MODIFY|CHANGE)\s+COLUMN\b|\bADD\s+CONSTRAINT\b|\bAFTER\s+\w+\s*;`), "MariaDB-only ALTER TABLE"},
	{regexp.MustCompile(`\bON\s+DUPLICATE\s+KEY\b|\bINSERT\s+IGNORE\b|\bON\s+CONFLICT\b|\bINSERT\s+OR\b`), "upserts differ"},
	{regexp.MustCompile(`\bDEFAULT\s+(CURRENT_TIMESTAMP|NOW)\b`), "time defaults: second precision in MariaDB, refused by SQLite's ADD COLUMN"},
	{regexp.MustCompile(`\bBOOLEAN\b|\bTRUE\b|\bFALSE\b`), "booleans are TINYINT(1) holding 0 and 1"},
	{regexp.MustCompile(`\bPERSISTENT\b|\bGENERATED\b`), "generated columns differ"},
	{regexp.MustCompile(`\bCONCAT\s*\(|\|\|`), "string concatenation differs"},
}

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	sqlString  = regexp.MustCompile(`'(?:[^']|'')*'`)
)

// portabilityProblems lists the non-portable constructs in sql, each with why.
func portabilityProblems(sql string) []string {
	sql = sqlComment.ReplaceAllString(sql, "")
	sql = strings.ToUpper(sqlString.ReplaceAllString(sql, "''"))
	var out []string
	for _, np := range nonPortable {
		if m := np.re.FindString(sql); m != "" {
			out = append(out, fmt.Sprintf("%q is not portable (%s)", m, np.why))
		}
	}
	return out
}
