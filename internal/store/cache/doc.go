// Package cache is L0 of the data layer: an in-process cache of byte values
// with a time to live per entry, least-recently-used eviction, a hard cap on
// the bytes it holds, eviction callbacks, an optional spill store for large
// values, and cross-node invalidation.
//
// Keys are strings and values are byte slices, so the byte cap is exact: an
// entry costs len(key) + len(value) + EntryOverhead bytes (a value handed to
// the spill store costs len(key) + EntryOverhead in memory). The cap is split
// evenly over the shards and each shard evicts its least recently used
// entries before it admits a new one, so Bytes never exceeds Config.MaxBytes,
// not even for an instant. An entry larger than one shard's share is refused
// with ErrTooLarge unless it goes to the spill store.
//
// Expiry is checked on every read; Run sweeps expired entries in the
// background so that their memory is freed and OnEvict learns of them even
// when nobody reads them. New starts no goroutine.
//
// Cross-node invalidation has two paths. A bus message handler calls
// Invalidate with the keys another node changed. With Redis as L1,
// RedisTier reads through rueidis server-assisted client-side caching
// (RESP3 CLIENT TRACKING): Redis tells the client when a key it read
// changes, rueidis drops its own copy, and InvalidationHook, installed as the
// client's OnInvalidations callback, forwards the keys to this cache.
//
// Concurrency: every method of Cache, RedisTier and PebbleSpill is safe for
// concurrent use. Each shard has its own mutex; no lock is held while the
// spill store is called or OnEvict runs. OnEvict runs synchronously on the
// goroutine whose call removed the entry (Get, Set, Delete, Invalidate or
// Run), so it must be quick and may call back into the cache; other
// goroutines may already see the entry gone before it runs. The slice Get
// returns is shared with the cache and must not be modified; Set copies the
// slice it is given.
package cache
