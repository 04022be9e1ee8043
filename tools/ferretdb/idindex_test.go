package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The statements FerretDB 1.24's SQLite backend runs for a database with
// one collection: its metadata table, the collection's table and its _id
// index (internal/backends/sqlite/metadata), and its lookup by _id
// (internal/backends/sqlite/collection.go).
const (
	ferretMeta   = `CREATE TABLE _ferretdb_collections (name TEXT NOT NULL UNIQUE CHECK (name != ''), table_name TEXT NOT NULL UNIQUE CHECK (table_name != ''), settings TEXT NOT NULL CHECK (settings != '')) STRICT`
	ferretTable  = `CREATE TABLE %s (_ferretdb_sjson TEXT NOT NULL CHECK(_ferretdb_sjson != '')) STRICT`
	ferretIDIdx  = `CREATE UNIQUE INDEX %s ON %s (_ferretdb_sjson->"_id")`
	ferretLookup = `SELECT _ferretdb_sjson FROM %s WHERE _ferretdb_sjson->'$._id' = ?`
)

// ferretDB makes a database file the way FerretDB does, with the given
// collection tables, and returns its path and a handle on it.
func ferretDB(t *testing.T, dir, name string, tables ...string) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(dir, name+".sqlite")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, ferretMeta)
	for _, tb := range tables {
		addTable(t, db, tb)
	}
	return path, db
}

func addTable(t *testing.T, db *sql.DB, table string) {
	t.Helper()
	q := quoteIdent(table)
	mustExec(t, db, fmt.Sprintf(ferretTable, q))
	mustExec(t, db, fmt.Sprintf(ferretIDIdx, quoteIdent(table+"__id_"), q))
	mustExec(t, db, `INSERT INTO _ferretdb_collections (name, table_name, settings) VALUES (?, ?, '{}')`, table, table)
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// plan returns SQLite's query plan of FerretDB's lookup by _id in table.
// It asks on a new connection: EXPLAIN QUERY PLAN does not read the
// database, so a connection that read the schema before an index was added
// still plans without it (a statement that runs notices the change and is
// planned again).
func plan(t *testing.T, path, table string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+fmt.Sprintf(ferretLookup, quoteIdent(table)), `"x"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}

func TestIDIndexerIndexesLookups(t *testing.T) {
	dir := t.TempDir()
	path, db := ferretDB(t, dir, "app", "devices_0a1b2c3d", "pushes_0a1b2c3d")
	if p := plan(t, path, "devices_0a1b2c3d"); !strings.HasPrefix(p, "SCAN") {
		t.Fatalf("before indexing, FerretDB's _id lookup plan is %q; want a scan (did FerretDB change?)", p)
	}

	x := newIDIndexer(dir, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if n, err := x.pass(ctx); err != nil || n != 2 {
		t.Fatalf("first pass: created %d, err %v; want 2 indexes", n, err)
	}
	for _, tb := range []string{"devices_0a1b2c3d", "pushes_0a1b2c3d"} {
		if p := plan(t, path, tb); !strings.Contains(p, "USING INDEX "+tb+idIndexName) {
			t.Errorf("%s: plan %q does not use the lookup index", tb, p)
		}
	}

	// A collection created later is indexed by a later pass, and a second
	// pass over indexed tables changes nothing.
	addTable(t, db, "users_0a1b2c3d")
	if n, err := x.pass(ctx); err != nil || n != 1 {
		t.Fatalf("pass after a new table: created %d, err %v; want 1 index", n, err)
	}
	if p := plan(t, path, "users_0a1b2c3d"); !strings.Contains(p, "USING INDEX") {
		t.Errorf("new table: plan %q does not use an index", p)
	}
	mustExec(t, db, `INSERT INTO "users_0a1b2c3d" (_ferretdb_sjson) VALUES ('{"_id":"u1"}')`)
	if n, err := x.pass(ctx); err != nil || n != 0 {
		t.Fatalf("pass after a write: created %d, err %v; want 0", n, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%` + idIndexName + `'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d lookup indexes, want 3", n)
	}
}

func TestIDIndexerLeavesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	// A database FerretDB has created but not yet given its metadata table.
	empty := filepath.Join(dir, "new.sqlite")
	db, err := sql.Open("sqlite", "file:"+empty)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, `CREATE TABLE other (x TEXT)`)

	x := newIDIndexer(dir, slog.New(slog.DiscardHandler))
	if n, err := x.pass(context.Background()); err != nil || n != 0 {
		t.Fatalf("pass: created %d, err %v; want 0, nil", n, err)
	}
	if _, ok := x.seen[empty]; ok {
		t.Error("a file without FerretDB's metadata was marked done; its collections would never be indexed")
	}

	// A database dropped while a pass runs is not created again.
	gone := filepath.Join(dir, "gone.sqlite")
	if _, done, err := indexFile(context.Background(), gone); err == nil || done {
		t.Errorf("indexFile of a missing file: done %v, err %v; want an error", done, err)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("indexFile created %s (stat err %v)", gone, err)
	}
}
