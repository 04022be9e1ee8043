package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The SQLite driver FerretDB itself uses; it registers "sqlite".
	_ "modernc.org/sqlite"
)

// idIndexer gives every collection table of FerretDB's SQLite backend an
// index that its lookups by _id can use.
//
// FerretDB 1.24 creates each collection's unique _id index on the expression
// _ferretdb_sjson->"_id", but filters by _id (find, update, replace and
// delete by _id) with _ferretdb_sjson->'$._id'. SQLite only uses an
// expression index for the same expression, so every lookup by _id scans
// the whole table and parses each document's JSON: an update costs time in
// proportion to the size of its collection. MongoDB finds a document by _id
// through its _id index; this index gives the test server the same shape of
// cost, so that benchmarks measure the client's work and round trips rather
// than a table scan that MongoDB never does.
//
// The index is invisible to clients (FerretDB lists indexes from its own
// metadata) and changes no result: it serves the same equality that the
// scan evaluated. FerretDB has no hook for new tables, so the indexer looks
// for them in every database file that changed since it last looked: soon
// after a new collection appears, and less and less often (down to once per
// maxIndexInterval) while none does, because every look opens each database
// that took writes. A collection is scanned as before until its index
// exists.
type idIndexer struct {
	dir string
	log *slog.Logger
	// seen is each database file's state when a pass last found all of its
	// tables indexed; a file that has not changed since is skipped.
	seen map[string]fileState
}

// fileState is what changes when FerretDB writes to a database: the sizes
// and times of its file and its write-ahead log.
type fileState struct {
	size, walSize   int64
	mtime, walMtime time.Time
}

// idIndexName suffixes the index's name; FerretDB's own index names are
// table name plus index name hashes, so this one cannot collide.
const idIndexName = "_mopush_id_lookup"

func newIDIndexer(dir string, log *slog.Logger) *idIndexer {
	return &idIndexer{dir: dir, log: log, seen: make(map[string]fileState)}
}

// maxIndexInterval is the longest wait between two passes.
const maxIndexInterval = 2 * time.Second

// run indexes new tables until ctx ends. It waits first between
// passes, doubles the wait after each pass that created no index, up to
// maxIndexInterval, and goes back to first after one that did.
func (x *idIndexer) run(ctx context.Context, first time.Duration) {
	wait := first
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		created, err := x.pass(ctx)
		if err != nil && ctx.Err() == nil {
			x.log.Warn("id index pass", "err", err)
		}
		if created > 0 {
			x.log.Debug("id lookup indexes created", "count", created)
			wait = first
		} else {
			wait = min(2*wait, max(first, maxIndexInterval))
		}
		t.Reset(wait)
	}
}

// pass indexes the tables of every database file that changed since the
// last pass found it complete, and returns how many indexes it created.
func (x *idIndexer) pass(ctx context.Context) (created int, err error) {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return 0, err
	}
	present := make(map[string]bool, len(files))
	var errs []error
	for _, f := range files {
		present[f] = true
		st, ok := stat(f)
		if !ok {
			continue // dropped meanwhile
		}
		if prev, ok := x.seen[f]; ok && prev == st {
			continue
		}
		n, done, err := indexFile(ctx, f)
		created += n
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(f), err))
			continue
		}
		if done {
			x.seen[f] = st
		}
	}
	for f := range x.seen {
		if !present[f] {
			delete(x.seen, f)
		}
	}
	return created, errors.Join(errs...)
}

func stat(f string) (fileState, bool) {
	fi, err := os.Stat(f)
	if err != nil {
		return fileState{}, false
	}
	st := fileState{size: fi.Size(), mtime: fi.ModTime()}
	if wi, err := os.Stat(f + "-wal"); err == nil {
		st.walSize, st.walMtime = wi.Size(), wi.ModTime()
	}
	return st, true
}

// indexFile creates the missing indexes of one database file and returns
// how many it created. done is false when the file is not a FerretDB
// database yet (no metadata table), so a later pass looks again.
func indexFile(ctx context.Context, f string) (created int, done bool, err error) {
	// mode=rw never creates the file: a database dropped meanwhile stays
	// gone. The busy timeout matches FerretDB's, so a pass waits for its
	// writes instead of failing.
	db, err := sql.Open("sqlite", "file:"+f+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	var meta int
	err = db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_ferretdb_collections'`).Scan(&meta)
	if err != nil || meta == 0 {
		return 0, false, err
	}
	// The tables that lack the index, with its name.
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master i WHERE i.type = 'index' AND i.name = c.table_name || ?)`,
		idIndexName)
	if err != nil {
		return 0, false, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, false, err
		}
		tables = append(tables, t)
	}
	if err := rows.Close(); err != nil {
		return 0, false, err
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`,
			quoteIdent(t+idIndexName), quoteIdent(t))
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped after the listing
			}
			return created, false, err
		}
		created++
	}
	return created, true, nil
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
