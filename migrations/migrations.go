// Package migrations holds Scoria's database schema as goose SQL migrations embedded in the
// binary. A file NNNNN_name.sql applies to every dialect; a file NNNNN_name.<dialect>.sql
// (dialect mysql or sqlite) applies to that dialect only, and then every dialect has its own
// file for version NNNNN. Statements that both MariaDB and SQLite accept go in shared files;
// table definitions differ (AUTO_INCREMENT vs AUTOINCREMENT, InnoDB/utf8mb4 table options)
// and so come in one file per dialect.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS

// Dialects are the names a dialect-specific migration file may carry before ".sql".
var Dialects = []string{"mysql", "sqlite"}

// file is one migration file, parsed from its name.
type file struct {
	name    string
	version int64
	dialect string // "" for a file every dialect applies
}

// files lists FS and checks that every version is either one shared file or one file per
// dialect.
func files() ([]file, error) {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return nil, err
	}
	var out []file
	byVersion := map[int64][]file{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(rest, ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNNN_name.sql or NNNNN_name.<dialect>.sql", name)
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration file %s: version %q is not a positive number", name, num)
		}
		f := file{name: name, version: v}
		stem := strings.TrimSuffix(rest, ".sql")
		if i := strings.LastIndexByte(stem, '.'); i >= 0 {
			f.dialect = stem[i+1:]
			if !slices.Contains(Dialects, f.dialect) {
				return nil, fmt.Errorf("migration file %s: unknown dialect %q (want one of %v)", name, f.dialect, Dialects)
			}
		}
		out = append(out, f)
		byVersion[v] = append(byVersion[v], f)
	}
	for v, group := range byVersion {
		if len(group) == 1 && group[0].dialect == "" {
			continue
		}
		have := map[string]bool{}
		for _, f := range group {
			if f.dialect == "" || have[f.dialect] {
				return nil, fmt.Errorf("migration version %d: a version is either one shared file or one file per dialect, have %s", v, names(group))
			}
			have[f.dialect] = true
		}
		if len(have) != len(Dialects) {
			return nil, fmt.Errorf("migration version %d: want one file for each of %v, have %s", v, Dialects, names(group))
		}
	}
	return out, nil
}

func names(group []file) string {
	var s []string
	for _, f := range group {
		s = append(s, f.name)
	}
	return strings.Join(s, ", ")
}

// Exclude returns the names of the files in FS that do not apply to dialect, for
// goose.WithExcludeNames.
func Exclude(dialect string) ([]string, error) {
	if !slices.Contains(Dialects, dialect) {
		return nil, fmt.Errorf("unknown dialect %q (want one of %v)", dialect, Dialects)
	}
	all, err := files()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range all {
		if f.dialect != "" && f.dialect != dialect {
			out = append(out, f.name)
		}
	}
	return out, nil
}

// Latest returns the highest migration version: the schema version this release needs.
func Latest() (int64, error) {
	all, err := files()
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, f := range all {
		latest = max(latest, f.version)
	}
	return latest, nil
}
