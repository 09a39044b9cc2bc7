// Package migrations holds Scoria's database schema as goose SQL migrations embedded in the
// binary, and the rules that pick the files of one dialect (MariaDB/MySQL or SQLite) from them.
//
// # Files
//
// A migration is NNNNN_name.sql, applied to every dialect, or a pair NNNNN_name.mysql.sql and
// NNNNN_name.sqlite.sql, one per dialect. A version has either one shared file or exactly one
// file per dialect; anything else — two shared files of one number, two files of one dialect,
// a shared file beside a dialect file, a dialect without its file — is an error that names the
// files, reported by Exclude and Latest and so by the migrator before it changes anything.
// An applied migration is never edited: a change is a new migration.
//
// # Writing one file for both dialects
//
// Prefer a shared file; write a pair only where the SQL below forces it. The migrator sets a
// MariaDB database's default character set and collation (utf8mb4, utf8mb4_bin: comparisons,
// ordering and unique keys case-sensitive and by code point, as in SQLite) before it applies
// migrations, so a CREATE TABLE needs no table options. What both dialects accept alike:
//
//   - Types written the MariaDB way, which SQLite reads by affinity: VARCHAR(n) with the
//     length MariaDB needs (SQLite ignores it), MEDIUMTEXT for long text (TEXT holds 64 KiB in
//     MariaDB), INT/BIGINT, TINYINT(1) with 0 and 1 for booleans (not BOOLEAN, nor TRUE and
//     FALSE in data), DATETIME(6) for times (package db writes them; SQLite keeps them as
//     fixed-width UTC text), DOUBLE for real numbers, BLOB.
//   - Constant defaults (DEFAULT 0, DEFAULT 'x'); no time defaults (DEFAULT CURRENT_TIMESTAMP
//     is of second precision on DATETIME(6) in MariaDB, and SQLite's ALTER TABLE ADD COLUMN
//     refuses it).
//   - PRIMARY KEY (…) and CONSTRAINT name UNIQUE (…) inside CREATE TABLE, FOREIGN KEY …
//     REFERENCES, CREATE [UNIQUE] INDEX name ON table (columns), ALTER TABLE t ADD COLUMN c
//     type NULL or NOT NULL DEFAULT constant, ALTER TABLE t DROP COLUMN c (of an unindexed
//     column), DROP TABLE; identifiers quoted with backticks where they are keywords (`key`).
//   - INSERT, UPDATE and DELETE with plain values; CURRENT_TIMESTAMP as a value (SQLite
//     writes it without the fraction of a second, which package db reads as well).
//
// What needs a pair: an integer id that counts itself (AUTO_INCREMENT vs INTEGER PRIMARY KEY
// AUTOINCREMENT); table options (ENGINE=, CHARSET); DROP INDEX (MariaDB wants ON table, SQLite
// refuses it), and so the Down of a migration that creates an index, unless it drops the
// whole table; ALTER TABLE … MODIFY/CHANGE/ADD CONSTRAINT/AFTER (MariaDB only; SQLite rebuilds
// the table); generated columns and partial indexes (CREATE INDEX … WHERE is SQLite only,
// MariaDB gets the same effect from a generated column, as 00015 does); upserts (ON DUPLICATE
// KEY UPDATE, INSERT IGNORE vs ON CONFLICT, INSERT OR IGNORE); string functions (CONCAT vs ||).
// An index in MariaDB holds at most 3072 bytes, three VARCHAR(255) columns in utf8mb4.
//
// The schema comparison test of package db migrates a fresh database of each dialect and
// compares them column by column, so a pair that drifts apart fails it.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
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

// files lists FS and checks it; see filesIn.
func files() ([]file, error) { return filesIn(FS) }

// filesIn lists the migration files of fsys (its top directory) and checks that every
// version is either one shared file or exactly one file per dialect. Errors name the files.
func filesIn(fsys fs.FS) ([]file, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("list migration files: %w", err)
	}
	var out []file
	byVersion := map[int64][]file{}
	for _, e := range entries {
		f, err := parseName(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		byVersion[f.version] = append(byVersion[f.version], f)
	}
	// In version order, so that the error is the same from run to run.
	versions := slices.Sorted(maps.Keys(byVersion))
	for _, v := range versions {
		if err := checkVersion(v, byVersion[v]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseName reads NNNNN_name.sql or NNNNN_name.<dialect>.sql.
func parseName(name string) (file, error) {
	num, rest, ok := strings.Cut(name, "_")
	if !ok || !strings.HasSuffix(rest, ".sql") {
		return file{}, fmt.Errorf("migration file %s: want NNNNN_name.sql or NNNNN_name.<dialect>.sql", name)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 {
		return file{}, fmt.Errorf("migration file %s: version %q is not a positive number", name, num)
	}
	f := file{name: name, version: v}
	stem := strings.TrimSuffix(rest, ".sql")
	if i := strings.LastIndexByte(stem, '.'); i >= 0 {
		f.dialect = stem[i+1:]
		if !slices.Contains(Dialects, f.dialect) {
			return file{}, fmt.Errorf("migration file %s: unknown dialect %q (want one of %v, or none for a file of every dialect)", name, f.dialect, Dialects)
		}
	}
	return f, nil
}

// checkVersion checks the files of version v: one shared file, or one file per dialect.
func checkVersion(v int64, group []file) error {
	var shared, specific []file
	byDialect := map[string][]file{}
	for _, f := range group {
		if f.dialect == "" {
			shared = append(shared, f)
		} else {
			specific = append(specific, f)
			byDialect[f.dialect] = append(byDialect[f.dialect], f)
		}
	}
	switch {
	case len(shared) == 1 && len(byDialect) == 0:
		return nil
	case len(shared) > 1:
		return fmt.Errorf("migration version %d: %d shared files %s, want one", v, len(shared), names(shared))
	case len(shared) == 1:
		return fmt.Errorf("migration version %d: shared file %s and dialect files %s, want either the shared file or one file per dialect", v, shared[0].name, names(specific))
	}
	for _, d := range Dialects {
		switch same := byDialect[d]; len(same) {
		case 0:
			return fmt.Errorf("migration version %d: no %s file beside %s, want one file for each of %v", v, d, names(group), Dialects)
		case 1:
		default:
			return fmt.Errorf("migration version %d: %d %s files %s, want one", v, len(same), d, names(same))
		}
	}
	return nil
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
