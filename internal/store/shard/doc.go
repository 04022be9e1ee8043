// Package shard maps keys onto a fixed set of shards by consistent hashing,
// and runs one call per shard of a multi-key operation at once.
//
// A Ring places DefaultVNodes virtual nodes per shard on a 64-bit circle;
// a key belongs to the shard of the first virtual node at or after the
// key's hash. The hash is FNV-1a followed by a 64-bit finaliser, computed
// from the shard names and the key alone, so every process that builds a
// ring from the same names maps every key to the same shard, whatever the
// order of the names. Adding a shard to N moves about 1/(N+1) of the keys,
// all to the new shard; removing one moves only its own keys.
//
// Split groups the positions of a multi-key request by shard; Fan runs one
// function per shard group concurrently and collects each shard's error, so
// a caller can merge the answers by the keys' original positions and treat
// a failed shard on its own (for example by reading its keys from the next
// tier).
//
// Concurrency: a Ring is immutable after New and safe for concurrent use.
// Fan starts one goroutine per non-empty group beyond the first, runs the
// first on the calling goroutine, and returns only when all have returned.
package shard
