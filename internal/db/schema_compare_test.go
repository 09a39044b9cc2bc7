package db

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/scoria/scoria/migrations"
)

// The schema comparison: a fresh SQLite and a fresh MariaDB database, each migrated to the
// latest version, must hold the same tables, with the same columns in the same order, the
// same nullability, types of the same family, the same defaults, primary keys, unique
// indexes, named indexes and foreign keys — but for the differences listed in
// intendedSchemaDifferences, each with its reason. On MariaDB every table and text column must
// also have the collation Migrate sets as the database's default.

// intendedSchemaDifferences are the differences between the dialects' schemas that are meant,
// keyed by the difference as schemaDifferences words it, with the reason.
var intendedSchemaDifferences = map[string]string{
	// 00015: group type names are unique among live types. SQLite has partial indexes; MariaDB
	// has none and gets the same effect from a generated column that is NULL once a type is
	// deleted (NULLs do not collide in a unique index).
	"group_types.live_name: column only in mysql":                                                  "MariaDB's stand-in for SQLite's partial unique index",
	"group_types: unique index (live_name) only in mysql":                                          "MariaDB's stand-in for SQLite's partial unique index",
	"group_types: unique index (name) WHERE … only in sqlite":                                      "SQLite's partial unique index over live group types",
	"group_types: index group_types_live_name_idx: (live_name) in mysql, (name) WHERE … in sqlite": "one index name, two means to the same uniqueness",
}

// ignoredTables are left out of the comparison.
var ignoredTables = map[string]string{
	versionTable:      "goose's own table, made by goose in each dialect's way",
	"sqlite_sequence": "SQLite's bookkeeping for AUTOINCREMENT",
}

func TestSchemasOfBothDialectsMatch(t *testing.T) {
	ctx := context.Background()
	lite := openURL(t, emptyURL(t, DialectSQLite))
	my := openURL(t, emptyURL(t, DialectMySQL))
	for _, s := range []*Store{lite, my} {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate %s: %v", s.dialect, err)
		}
	}
	liteSchema := describeSQLite(t, lite)
	mySchema := describeMySQL(t, my)
	if len(liteSchema) < 10 {
		t.Fatalf("SQLite schema has %d tables, want the whole schema: %v", len(liteSchema), slices.Sorted(maps.Keys(liteSchema)))
	}

	for _, sc := range []schema{liteSchema, mySchema} {
		for name, ts := range sc {
			for _, c := range ts.columns {
				if strings.HasPrefix(c.family, "unknown") {
					t.Errorf("%s.%s: type family %s: add it to typeFamily", name, c.name, c.family)
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, d := range schemaDifferences(DialectMySQL, mySchema, DialectSQLite, liteSchema) {
		if _, ok := intendedSchemaDifferences[d]; ok {
			seen[d] = true
			continue
		}
		t.Errorf("schema difference: %s", d)
	}
	for d, why := range intendedSchemaDifferences {
		if !seen[d] {
			t.Errorf("intended difference %q (%s) is gone: remove it from intendedSchemaDifferences", d, why)
		}
	}
	checkCollations(t, my)
}

// TestMigrateSetsDatabaseDefaults checks that on MariaDB Migrate makes utf8mb4_bin the
// database's default, that its migrations run on sessions that see it (goose's own table,
// which it makes without options, has it), that a table made without options afterwards has
// it, and that a database migrated part way by a Scoria that did not set the defaults ends
// with the schema of a fresh one.
func TestMigrateSetsDatabaseDefaults(t *testing.T) {
	ctx := context.Background()
	url := emptyURL(t, DialectMySQL)
	fresh := openURL(t, url)
	if err := fresh.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var charset, collation string
	if err := fresh.db.QueryRowContext(ctx, `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()`).Scan(&charset, &collation); err != nil {
		t.Fatal(err)
	}
	if charset != mysqlCharset || collation != mysqlCollation {
		t.Errorf("database defaults after Migrate = %s/%s, want %s/%s", charset, collation, mysqlCharset, mysqlCollation)
	}
	if got := tableCollation(t, fresh, versionTable); got != mysqlCollation {
		t.Errorf("%s, made by the migrations' session, has collation %s, want %s", versionTable, got, mysqlCollation)
	}
	// A new process's session, as the next migrations' will be.
	later := openURL(t, url)
	if _, err := later.db.ExecContext(ctx, "CREATE TABLE schema_probe (v VARCHAR(10) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	checkCollations(t, later)
	if _, err := later.db.ExecContext(ctx, "DROP TABLE schema_probe"); err != nil {
		t.Fatal(err)
	}

	// An older Scoria applied migrations up to 00016 without touching the database's
	// defaults (the server's, here); this one applies the rest.
	old := openURL(t, emptyURL(t, DialectMySQL))
	migrateWithoutDefaults(t, old, 16)
	if err := old.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range schemaDifferences("fresh", describeMySQL(t, fresh), "upgraded", describeMySQL(t, old)) {
		t.Errorf("schema difference: %s", d)
	}
	checkCollations(t, old)
}

func tableCollation(t *testing.T, s *Store, table string) string {
	t.Helper()
	var c string
	if err := s.db.QueryRow(`SELECT TABLE_COLLATION FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table).Scan(&c); err != nil {
		t.Fatalf("collation of %s: %v", table, err)
	}
	return c
}

// migrateWithoutDefaults applies the migrations up to version as Migrate did before it set
// the database's defaults.
func migrateWithoutDefaults(t *testing.T, s *Store, version int64) {
	t.Helper()
	excluded, err := migrations.Exclude(s.dialect)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectMySQL, s.db, migrations.FS,
		goose.WithTableName(versionTable), goose.WithExcludeNames(excluded), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatalf("migrate up to %d: %v", version, err)
	}
}

// checkCollations checks that every MariaDB table but goose's, and every text column in
// them, has the collation Migrate sets.
func checkCollations(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.db.Query(`SELECT t.TABLE_NAME, t.TABLE_COLLATION, COALESCE(c.COLUMN_NAME, ''), COALESCE(c.COLLATION_NAME, '')
		FROM information_schema.TABLES t
		LEFT JOIN information_schema.COLUMNS c
		  ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.COLLATION_NAME IS NOT NULL
		WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_NAME <> ?`, versionTable)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, tableColl, column, columnColl string
		if err := rows.Scan(&table, &tableColl, &column, &columnColl); err != nil {
			t.Fatal(err)
		}
		if tableColl != mysqlCollation {
			t.Errorf("table %s has collation %s, want %s", table, tableColl, mysqlCollation)
		}
		if column != "" && columnColl != mysqlCollation {
			t.Errorf("column %s.%s has collation %s, want %s", table, column, columnColl, mysqlCollation)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// tableSchema is what the comparison knows of one table.
type tableSchema struct {
	columns    []columnSchema
	primaryKey []string
	indexes    []indexSchema
	foreignKey []string // "(cols) → table (cols) ON DELETE rule", sorted
}

type columnSchema struct {
	name      string
	family    string // see typeFamily
	notNull   bool
	dflt      string // normalised by normalizeDefault; "" for none
	generated bool
}

type indexSchema struct {
	name    string // "" for SQLite's indexes of UNIQUE constraints, which have made-up names
	columns []string
	unique  bool
	partial bool // SQLite's CREATE INDEX … WHERE
}

// describe is the index's columns as schemaDifferences words them.
func (ix indexSchema) describe() string {
	s := "(" + strings.Join(ix.columns, ", ") + ")"
	if ix.partial {
		s += " WHERE …"
	}
	return s
}

type schema map[string]*tableSchema

// schemaDifferences lists, sorted, how schema a (named aName) differs from b.
func schemaDifferences(aName string, a schema, bName string, b schema) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, name := range slices.Sorted(maps.Keys(a)) {
		if b[name] == nil {
			add("table %s only in %s", name, aName)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b)) {
		ta, tb := a[name], b[name]
		if ta == nil {
			add("table %s only in %s", name, bName)
			continue
		}
		// Columns.
		ca, cb := columnsByName(ta), columnsByName(tb)
		var orderA, orderB []string
		for _, c := range ta.columns {
			if cb[c.name] == nil {
				add("%s.%s: column only in %s", name, c.name, aName)
			} else {
				orderA = append(orderA, c.name)
			}
		}
		for _, c := range tb.columns {
			if ca[c.name] == nil {
				add("%s.%s: column only in %s", name, c.name, bName)
			} else {
				orderB = append(orderB, c.name)
			}
		}
		if !slices.Equal(orderA, orderB) {
			add("%s: columns in order %v in %s, %v in %s", name, orderA, aName, orderB, bName)
		}
		for _, c := range orderA {
			x, y := ca[c], cb[c]
			if x.family != y.family {
				add("%s.%s: type %s in %s, %s in %s", name, c, x.family, aName, y.family, bName)
			}
			if x.notNull != y.notNull {
				add("%s.%s: NOT NULL %t in %s, %t in %s", name, c, x.notNull, aName, y.notNull, bName)
			}
			if x.dflt != y.dflt {
				add("%s.%s: default %q in %s, %q in %s", name, c, x.dflt, aName, y.dflt, bName)
			}
			if x.generated != y.generated {
				add("%s.%s: generated %t in %s, %t in %s", name, c, x.generated, aName, y.generated, bName)
			}
		}
		if !slices.Equal(ta.primaryKey, tb.primaryKey) {
			add("%s: primary key %v in %s, %v in %s", name, ta.primaryKey, aName, tb.primaryKey, bName)
		}
		// Unique indexes, by their columns (SQLite names a UNIQUE constraint's index itself).
		ua, ub := uniqueIndexes(ta), uniqueIndexes(tb)
		for _, k := range slices.Sorted(maps.Keys(ua)) {
			if !ub[k] {
				add("%s: unique index %s only in %s", name, k, aName)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(ub)) {
			if !ua[k] {
				add("%s: unique index %s only in %s", name, k, bName)
			}
		}
		// Indexes by name: the same columns, and none missing (unique ones are compared above).
		na, nb := namedIndexes(ta), namedIndexes(tb)
		for _, k := range slices.Sorted(maps.Keys(na)) {
			x, ok := nb[k]
			switch {
			case !ok && !na[k].unique:
				add("%s: index %s %s only in %s", name, k, na[k].describe(), aName)
			case ok && x.describe() != na[k].describe():
				add("%s: index %s: %s in %s, %s in %s", name, k, na[k].describe(), aName, x.describe(), bName)
			case ok && x.unique != na[k].unique:
				add("%s: index %s: unique %t in %s, %t in %s", name, k, na[k].unique, aName, x.unique, bName)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(nb)) {
			if _, ok := na[k]; !ok && !nb[k].unique {
				add("%s: index %s %s only in %s", name, k, nb[k].describe(), bName)
			}
		}
		if !slices.Equal(ta.foreignKey, tb.foreignKey) {
			add("%s: foreign keys %q in %s, %q in %s", name, ta.foreignKey, aName, tb.foreignKey, bName)
		}
	}
	slices.Sort(out)
	return out
}

func columnsByName(t *tableSchema) map[string]*columnSchema {
	m := map[string]*columnSchema{}
	for i := range t.columns {
		m[t.columns[i].name] = &t.columns[i]
	}
	return m
}

func uniqueIndexes(t *tableSchema) map[string]bool {
	m := map[string]bool{}
	for _, ix := range t.indexes {
		if ix.unique {
			m[ix.describe()] = true
		}
	}
	return m
}

func namedIndexes(t *tableSchema) map[string]indexSchema {
	m := map[string]indexSchema{}
	for _, ix := range t.indexes {
		if ix.name != "" {
			m[ix.name] = ix
		}
	}
	return m
}

// typeParams matches a type's parameters: VARCHAR(255), DATETIME(6), DECIMAL(10,2).
var typeParams = regexp.MustCompile(`\s*\(.*\)`)

// typeFamily puts a declared column type in a family both dialects store alike: integer,
// boolean, text, datetime, real or blob; "unknown TYPE" otherwise.
func typeFamily(declared string) string {
	t := strings.ToLower(strings.TrimSpace(declared))
	if t == "tinyint(1)" || t == "boolean" || t == "bool" {
		return "boolean"
	}
	t = strings.TrimSpace(strings.TrimSuffix(typeParams.ReplaceAllString(t, ""), " unsigned"))
	switch t {
	case "int", "integer", "bigint", "smallint", "mediumint", "tinyint":
		return "integer"
	case "varchar", "char", "text", "tinytext", "mediumtext", "longtext", "clob":
		return "text"
	case "datetime", "timestamp", "date":
		return "datetime"
	case "real", "double", "float", "decimal", "numeric":
		return "real"
	case "blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary":
		return "blob"
	}
	return "unknown " + declared
}

// normalizeDefault puts a default as a dialect reports it in one form: "" for none or NULL,
// functions lower-cased without their empty parentheses, enclosing parentheses removed.
func normalizeDefault(v sql.NullString) string {
	if !v.Valid {
		return ""
	}
	d := strings.TrimSpace(v.String)
	for len(d) >= 2 && d[0] == '(' && d[len(d)-1] == ')' {
		d = strings.TrimSpace(d[1 : len(d)-1])
	}
	if strings.EqualFold(d, "NULL") {
		return ""
	}
	if !strings.HasPrefix(d, "'") {
		d = strings.TrimSuffix(strings.ToLower(d), "()")
	}
	return d
}

// describeSQLite reads the schema of a SQLite store.
func describeSQLite(t *testing.T, s *Store) schema {
	t.Helper()
	ctx := context.Background()
	tables := queryStrings(t, s.db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	out := schema{}
	for _, name := range tables {
		if _, ok := ignoredTables[name]; ok {
			continue
		}
		ts := &tableSchema{}
		out[name] = ts
		// table_xinfo, unlike table_info, lists generated columns too (hidden 2 or 3).
		rows, err := s.db.QueryContext(ctx, "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", name)
		if err != nil {
			t.Fatal(err)
		}
		pk := map[int]string{}
		rowidCandidate := -1
		for rows.Next() {
			var c columnSchema
			var typ string
			var dflt sql.NullString
			var pkPos, hidden int
			if err := rows.Scan(&c.name, &typ, &c.notNull, &dflt, &pkPos, &hidden); err != nil {
				t.Fatal(err)
			}
			c.family, c.dflt, c.generated = typeFamily(typ), normalizeDefault(dflt), hidden == 2 || hidden == 3
			if pkPos > 0 {
				pk[pkPos] = c.name
			}
			if pkPos == 1 && strings.EqualFold(typ, "INTEGER") {
				// Perhaps the rowid (when the key has no other column, checked below), which
				// cannot be NULL: inserting NULL numbers the row.
				rowidCandidate = len(ts.columns)
			}
			ts.columns = append(ts.columns, c)
		}
		closeRows(t, rows)
		if rowidCandidate >= 0 && len(pk) == 1 {
			ts.columns[rowidCandidate].notNull = true
		}
		for _, pos := range slices.Sorted(maps.Keys(pk)) {
			ts.primaryKey = append(ts.primaryKey, pk[pos])
		}

		rows, err = s.db.QueryContext(ctx, "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", name)
		if err != nil {
			t.Fatal(err)
		}
		var indexes []indexSchema
		var names []string
		for rows.Next() {
			var ix indexSchema
			var origin string
			if err := rows.Scan(&ix.name, &ix.unique, &origin, &ix.partial); err != nil {
				t.Fatal(err)
			}
			if origin == "pk" {
				continue // the primary key, compared above
			}
			names = append(names, ix.name)
			if origin == "u" {
				ix.name = "" // sqlite_autoindex_<table>_<n>
			}
			indexes = append(indexes, ix)
		}
		closeRows(t, rows)
		for i := range indexes {
			indexes[i].columns = queryStrings(t, s.db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", names[i])
		}
		ts.indexes = indexes

		rows, err = s.db.QueryContext(ctx, `SELECT id, "from", "table", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, name)
		if err != nil {
			t.Fatal(err)
		}
		fks := map[int]*foreignKey{}
		for rows.Next() {
			var id int
			var from, table, onDelete string
			var to sql.NullString
			if err := rows.Scan(&id, &from, &table, &to, &onDelete); err != nil {
				t.Fatal(err)
			}
			if fks[id] == nil {
				fks[id] = &foreignKey{table: table, onDelete: onDelete}
			}
			fks[id].from = append(fks[id].from, from)
			fks[id].to = append(fks[id].to, to.String)
		}
		closeRows(t, rows)
		for _, fk := range fks {
			ts.foreignKey = append(ts.foreignKey, fk.describe())
		}
		slices.Sort(ts.foreignKey)
	}
	return out
}

// describeMySQL reads the schema of a MariaDB store's database.
func describeMySQL(t *testing.T, s *Store) schema {
	t.Helper()
	ctx := context.Background()
	out := schema{}
	for _, name := range queryStrings(t, s.db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'") {
		if _, ok := ignoredTables[name]; !ok {
			out[name] = &tableSchema{}
		}
	}

	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, typ, nullable, extra string
		var dflt sql.NullString
		var c columnSchema
		if err := rows.Scan(&table, &c.name, &typ, &nullable, &dflt, &extra); err != nil {
			t.Fatal(err)
		}
		ts := out[table]
		if ts == nil {
			continue
		}
		c.generated = strings.Contains(strings.ToUpper(extra), "GENERATED")
		c.family, c.notNull = typeFamily(typ), nullable == "NO"
		if !c.generated {
			c.dflt = normalizeDefault(dflt)
		}
		ts.columns = append(ts.columns, c)
	}
	closeRows(t, rows)

	rows, err = s.db.QueryContext(ctx, `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`)
	if err != nil {
		t.Fatal(err)
	}
	indexes := map[string]map[string]*indexSchema{}
	for rows.Next() {
		var table, index, column string
		var nonUnique bool
		if err := rows.Scan(&table, &index, &nonUnique, &column); err != nil {
			t.Fatal(err)
		}
		ts := out[table]
		if ts == nil {
			continue
		}
		if index == "PRIMARY" {
			ts.primaryKey = append(ts.primaryKey, column)
			continue
		}
		if indexes[table] == nil {
			indexes[table] = map[string]*indexSchema{}
		}
		ix := indexes[table][index]
		if ix == nil {
			ix = &indexSchema{name: index, unique: !nonUnique}
			indexes[table][index] = ix
		}
		ix.columns = append(ix.columns, column)
	}
	closeRows(t, rows)

	rows, err = s.db.QueryContext(ctx, `SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE
		FROM information_schema.KEY_COLUMN_USAGE k
		JOIN information_schema.REFERENTIAL_CONSTRAINTS r
		  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
		WHERE k.TABLE_SCHEMA = DATABASE() ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`)
	if err != nil {
		t.Fatal(err)
	}
	fks := map[string]map[string]*foreignKey{}
	for rows.Next() {
		var table, constraint, from, to, refTable, onDelete string
		if err := rows.Scan(&table, &constraint, &from, &refTable, &to, &onDelete); err != nil {
			t.Fatal(err)
		}
		if fks[table] == nil {
			fks[table] = map[string]*foreignKey{}
		}
		fk := fks[table][constraint]
		if fk == nil {
			fk = &foreignKey{table: refTable, onDelete: onDelete}
			fks[table][constraint] = fk
		}
		fk.from = append(fk.from, from)
		fk.to = append(fk.to, to)
	}
	closeRows(t, rows)

	for table, ts := range out {
		for _, name := range slices.Sorted(maps.Keys(indexes[table])) {
			ix := indexes[table][name]
			// InnoDB makes an index, named after the constraint, for a foreign key that no
			// index begins with; SQLite needs none. Such an index is not part of the schema.
			if fk := fks[table][name]; fk != nil && !ix.unique && slices.Equal(ix.columns, fk.from) {
				continue
			}
			ts.indexes = append(ts.indexes, *ix)
		}
		for _, fk := range fks[table] {
			ts.foreignKey = append(ts.foreignKey, fk.describe())
		}
		slices.Sort(ts.foreignKey)
	}
	return out
}

type foreignKey struct {
	from, to []string
	table    string
	onDelete string
}

// describe words a foreign key; RESTRICT and NO ACTION, which InnoDB does alike and the two
// dialects report for a key that names no rule, are one.
func (fk foreignKey) describe() string {
	rule := strings.ToUpper(fk.onDelete)
	if rule == "RESTRICT" {
		rule = "NO ACTION"
	}
	return fmt.Sprintf("(%s) → %s (%s) ON DELETE %s", strings.Join(fk.from, ", "), fk.table, strings.Join(fk.to, ", "), rule)
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	closeRows(t, rows)
	return out
}

func closeRows(t *testing.T, rows *sql.Rows) {
	t.Helper()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTypeFamily(t *testing.T) {
	tests := []struct{ declared, want string }{
		{"TINYINT(1)", "boolean"}, {"tinyint(1)", "boolean"}, {"BOOLEAN", "boolean"},
		{"INTEGER", "integer"}, {"bigint(20)", "integer"}, {"int(11) unsigned", "integer"}, {"TINYINT", "integer"},
		{"VARCHAR(255)", "text"}, {"varchar(36)", "text"}, {"MEDIUMTEXT", "text"}, {"text", "text"},
		{"DATETIME(6)", "datetime"}, {"timestamp", "datetime"},
		{"DOUBLE", "real"}, {"float", "real"}, {"decimal(10,2)", "real"},
		{"BLOB", "blob"}, {"varbinary(16)", "blob"},
		{"JSONB", "unknown JSONB"},
	}
	for _, tt := range tests {
		t.Run(tt.declared, func(t *testing.T) {
			if got := typeFamily(tt.declared); got != tt.want {
				t.Errorf("typeFamily(%q) = %q, want %q", tt.declared, got, tt.want)
			}
		})
	}
}

func TestNormalizeDefault(t *testing.T) {
	tests := []struct {
		in   sql.NullString
		want string
	}{
		{sql.NullString{}, ""},
		{sql.NullString{String: "NULL", Valid: true}, ""},
		{sql.NullString{String: "0", Valid: true}, "0"},
		{sql.NullString{String: "(0)", Valid: true}, "0"},
		{sql.NullString{String: "'nova'", Valid: true}, "'nova'"},
		{sql.NullString{String: "'NULL'", Valid: true}, "'NULL'"},
		{sql.NullString{String: "current_timestamp()", Valid: true}, "current_timestamp"},
		{sql.NullString{String: "CURRENT_TIMESTAMP", Valid: true}, "current_timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String, func(t *testing.T) {
			if got := normalizeDefault(tt.in); got != tt.want {
				t.Errorf("normalizeDefault(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSchemaDifferences checks the comparison itself on made-up schemas.
func TestSchemaDifferences(t *testing.T) {
	base := func() *tableSchema {
		return &tableSchema{
			columns: []columnSchema{
				{name: "id", family: "text", notNull: true},
				{name: "n", family: "integer", notNull: true, dflt: "0"},
				{name: "s", family: "text"},
			},
			primaryKey: []string{"id"},
			indexes: []indexSchema{
				{columns: []string{"s"}, unique: true},
				{name: "t_n_idx", columns: []string{"n"}},
			},
			foreignKey: []string{"(s) → u (id) ON DELETE CASCADE"},
		}
	}
	tests := []struct {
		name   string
		change func(*tableSchema)
		want   []string
	}{
		{"same", func(*tableSchema) {}, nil},
		{"column only in b", func(ts *tableSchema) { ts.columns = append(ts.columns, columnSchema{name: "x", family: "text"}) },
			[]string{"t.x: column only in b"}},
		{"order", func(ts *tableSchema) { ts.columns[1], ts.columns[2] = ts.columns[2], ts.columns[1] },
			[]string{"t: columns in order [id n s] in a, [id s n] in b"}},
		{"type nullability default", func(ts *tableSchema) { ts.columns[1] = columnSchema{name: "n", family: "real", dflt: "1"} },
			[]string{`t.n: NOT NULL true in a, false in b`, `t.n: default "0" in a, "1" in b`, `t.n: type integer in a, real in b`}},
		{"primary key", func(ts *tableSchema) { ts.primaryKey = []string{"id", "n"} },
			[]string{"t: primary key [id] in a, [id n] in b"}},
		{"unique index", func(ts *tableSchema) { ts.indexes[0].partial = true },
			[]string{"t: unique index (s) WHERE … only in b", "t: unique index (s) only in a"}},
		{"named index", func(ts *tableSchema) { ts.indexes[1].columns = []string{"n", "s"} },
			[]string{"t: index t_n_idx: (n) in a, (n, s) in b"}},
		{"index missing", func(ts *tableSchema) { ts.indexes = ts.indexes[:1] },
			[]string{"t: index t_n_idx (n) only in a"}},
		{"foreign key", func(ts *tableSchema) { ts.foreignKey = nil },
			[]string{`t: foreign keys ["(s) → u (id) ON DELETE CASCADE"] in a, [] in b`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base()
			tt.change(b)
			got := schemaDifferences("a", schema{"t": base()}, "b", schema{"t": b})
			if !slices.Equal(got, tt.want) {
				t.Errorf("differences = %q, want %q", got, tt.want)
			}
		})
	}
	if got := schemaDifferences("a", schema{"t": base()}, "b", schema{"u": base()}); !slices.Equal(got, []string{"table t only in a", "table u only in b"}) {
		t.Errorf("differences of disjoint schemas = %q", got)
	}
}
