package pebblestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/mopush/mopush/internal/store"
)

var _ store.Store = (*Store)(nil)

// Config configures Open. Zero fields take their documented defaults.
type Config struct {
	// Dir is the directory of the database; it is created if missing.
	// Required. One process at a time may open it.
	Dir string
	// MaxStreamLen is how many messages each device stream retains; older
	// ones are deleted as new ones arrive. Default store.DefaultMaxStreamLen.
	MaxStreamLen int
	// IdempotencyWindow is how long an idempotency key of CreatePush is
	// remembered. Default store.DefaultIdempotencyWindow.
	IdempotencyWindow time.Duration
	// Logger receives pebble's own log lines and background errors. Default:
	// a logger that discards everything.
	Logger *slog.Logger
	// Now is the clock for message expiry and the idempotency window.
	// Default time.Now; tests set it.
	Now func() time.Time

	// FS replaces the operating system's file system; nil: the operating
	// system's. Crash tests use a memory one that can drop what was never
	// synced.
	FS vfs.FS
}

// Store is the embedded backend of store.Store on a Pebble database. Its
// methods are safe for concurrent use; see the package documentation for
// what runs in parallel and what durability each write has.
type Store struct {
	db    *pebble.DB
	cfg   Config
	log   *slog.Logger
	locks *stripes
	marks *marks
	tails *tails
	// tailGen counts, per stream stripe, the appends that ended; a read
	// that saw no count change may keep what it read as a tail (fillTail).
	tailGen [stripeCount]atomic.Uint64
	known   *knownPushes
	// newPushes tells a push id that is free without a read.
	newPushes *newPushes
	// unrecorded holds appended messages without an outcome yet.
	unrecorded *unrecorded
	// tickets tracks what synced commits made durable, for SyncSince.
	tickets syncTickets

	// state is held shared by every call and exclusively by Close, so Close
	// waits for calls in flight and later calls fail with ErrClosed instead
	// of reaching a closed database.
	state  sync.RWMutex
	closed bool

	// sweeping lets one caller at a time delete lapsed idempotency keys.
	sweeping sync.Mutex
}

// Open opens (or creates) the database in cfg.Dir. The first Open of a
// database written before the tag index or the index of apps' pushes
// existed writes the index entries of every stored device or push before
// it returns (see keys.go).
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pebblestore: Config.Dir is empty")
	}
	if cfg.MaxStreamLen <= 0 {
		cfg.MaxStreamLen = store.DefaultMaxStreamLen
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = store.DefaultIdempotencyWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger.With("component", "pebblestore")
	opts := dbOptions(log)
	if cfg.FS != nil {
		opts.FS = cfg.FS
	}
	db, err := pebble.Open(cfg.Dir, opts)
	// The database holds its own reference to the cache.
	opts.Cache.Unref()
	if err != nil {
		return nil, fmt.Errorf("pebblestore: open %s: %w", cfg.Dir, err)
	}
	s := &Store{db: db, cfg: cfg, log: log, locks: newStripes(), marks: newMarks(maxCachedMarks), tails: newTails(maxTailsBytes),
		known: newKnownPushes(maxKnownPushes), unrecorded: newUnrecorded(maxUnrecorded)}
	newest, err := s.newestPushID()
	if err != nil {
		db.Close() //nolint:errcheck // the read's error is the one to report
		return nil, err
	}
	s.newPushes = newNewPushes(newest, maxNewPushes)
	if err := s.buildIndexes(tagIndexBuild(), appIndexBuild(), pushIndexBuild()); err != nil {
		db.Close() //nolint:errcheck // the build's error is the one to report
		return nil, err
	}
	return s, nil
}

// Sizes of the database's memory. The defaults of the library (an 8 MiB
// block cache, 4 MiB memtables, no filters) suit a small read-mostly
// database; this one takes a few KiB of writes per push and reads back what
// it wrote moments ago (stream heads, watermarks, outcomes). Small memtables
// flush every few seconds under load, and each flush and compaction writes
// new files whose blocks are not cached yet, so those reads went to disk and
// decompressed blocks again. Bigger memtables keep the recent writes in
// memory, and bloom filters let a read of a missing key (most outcome and
// existence checks) skip a file without reading its blocks.
const (
	blockCacheBytes  = 32 << 20
	memTableBytes    = 16 << 20
	bloomBitsPerKey  = 10
	levelsWithFilter = 7
)

// dbOptions returns the options Open uses.
func dbOptions(log *slog.Logger) *pebble.Options {
	opts := &pebble.Options{
		Logger:       pebbleLogger{log: log},
		Merger:       newCountsMerger(),
		Cache:        pebble.NewCache(blockCacheBytes),
		MemTableSize: memTableBytes,
		Levels:       make([]pebble.LevelOptions, levelsWithFilter),
	}
	for i := range opts.Levels {
		l := &opts.Levels[i]
		l.FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
		l.FilterType = pebble.TableFilter
		// The library's own default: 2 MiB files at L0, doubling per level.
		l.TargetFileSize = 2 << 20 << i
	}
	return opts
}

// Close waits for calls in flight and closes the database. Later calls,
// Close included, do nothing and return nil.
func (s *Store) Close() error {
	s.state.Lock()
	defer s.state.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("pebblestore: close: %w", err)
	}
	return nil
}

// begin admits one call; every successful begin is paired with end.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.state.RLock()
	if s.closed {
		s.state.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) end() { s.state.RUnlock() }

// get returns a copy of the value of key; ok is false when it is missing.
func (s *Store) get(key []byte) (val []byte, ok bool, err error) {
	v, closer, ok, err := s.lookup(key)
	if !ok || err != nil {
		return nil, ok, err
	}
	val = append([]byte(nil), v...)
	return val, true, closer.Close()
}

// lookup returns the value of key, valid until closer is closed, for a
// reader that decodes it into values of its own and needs no copy; ok is
// false when it is missing, and closer is then nil.
func (s *Store) lookup(key []byte) (v []byte, closer io.Closer, ok bool, err error) {
	v, closer, err = s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("pebblestore: get: %w", err)
	}
	return v, closer, true, nil
}

// exists reports whether key has a value.
func (s *Store) exists(key []byte) (bool, error) {
	_, ok, err := s.get(key)
	return ok, err
}

// getJSON decodes the value of key into v; ok is false when it is missing.
func (s *Store) getJSON(key []byte, v any) (ok bool, err error) {
	b, ok, err := s.get(key)
	if !ok || err != nil {
		return ok, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("pebblestore: decode %q: %w", key[:1], err)
	}
	return true, nil
}

// commit applies b with opts and closes it.
func commit(b *pebble.Batch, opts *pebble.WriteOptions) error {
	defer b.Close()
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("pebblestore: commit: %w", err)
	}
	return nil
}

// prefixIter returns an iterator over the keys that start with prefix.
func (s *Store) prefixIter(prefix []byte) (*pebble.Iterator, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("pebblestore: iterate: %w", err)
	}
	return it, nil
}

// closeIter closes it and returns its error, or err if that is set.
func closeIter(it *pebble.Iterator, err error) error {
	if cerr := it.Close(); err == nil && cerr != nil {
		return fmt.Errorf("pebblestore: iterate: %w", cerr)
	}
	return err
}

// pebbleLogger passes pebble's log lines to slog.
type pebbleLogger struct{ log *slog.Logger }

// Infof logs one informational line of pebble.
func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Info("pebble", "detail", fmt.Sprintf(format, args...))
}

// Fatalf logs an unrecoverable pebble error and panics: pebble does not
// expect Fatalf to return.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("pebble fatal", "detail", msg)
	panic("pebblestore: " + msg)
}
