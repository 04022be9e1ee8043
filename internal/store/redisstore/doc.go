// Package redisstore is the Redis backend of the data layer: device state
// (store.Devices), per-device message streams with their watermarks
// (store.Streams) and per-message outcomes (store.Outcomes), spread over
// one or more Redis servers. It is L1 of the tiered layer (package
// store/tiered) and can stand alone as the stream store of a cluster.
//
// # Shards and keys
//
// Open takes one address per shard. A consistent-hash ring (package
// store/shard) places each device, by its id, on one shard; all of a
// device's keys live there and carry the id as their hash tag
// (<prefix>{<id>}:...), so a Redis Cluster standing as one shard keeps them
// in one slot. keys.go lists the layout. A multi-key call splits its keys
// by shard, sends one pipeline (rueidis DoMulti) to each shard at once,
// and merges the answers by the keys' original positions. When some shards
// fail, multi-key reads and cache writes return the other shards' results
// together with a *ShardError listing the failed positions, so the caller
// can serve those from elsewhere.
//
// # Scripts
//
// Every read-modify-write runs as a Lua script on the device's shard,
// called with EVALSHA (EVAL once after NOSCRIPT), so Redis applies it
// atomically:
//
//   - Append: one script run per device per call increments the head,
//     pushes the messages, trims the list to MaxStreamLen (deleting the
//     outcomes of trimmed messages) and returns the epoch and the first new
//     sequence number. Appends to one device are thereby serialised and
//     their sequence numbers contiguous; the runs for all devices of a
//     shard share one pipeline. A missing head starts a new stream with an
//     epoch the caller drew at random (nonzero, at most store.MaxEpoch, so
//     JSON readers in any language see it exactly); the script uses it only
//     then.
//   - ReadStream (a read-only script, EVALSHA_RO) reads the head and a page
//     at one point in time and leaves out expired messages on the server,
//     comparing expiries with Config.Now in microseconds.
//   - Advance moves a watermark and returns the messages it covers.
//   - SetOutcome applies store.Outcome.Replaces, passed in as a mask.
//   - PutDevice replaces the record and the device's alias entry and
//     returns the old entry; the alias sets (on the shards of the aliases)
//     follow, and DeviceIDsByAlias checks every member against its entry.
//     PutDevices does the same for many devices in one pipeline per shard.
//   - UpdateDevice and ReplaceDevices write a record, and its alias entry,
//     only while it is byte for byte the version read; DeleteDevice removes
//     both and returns the entry, and DropStream deletes a stream's keys.
//
// Sequence numbers are stored as decimal strings and epochs never pass
// through a Lua number, so both survive exactly.
//
// # Durability
//
// A call returns once the primary has applied it in memory. What survives
// a crash is what the servers' persistence keeps: with appendonly yes and
// appendfsync always every acknowledged write; with appendfsync everysec
// up to about a second may be lost; with RDB snapshots only, everything
// since the last one; on failover, what the replica had not received. A
// stream lost entirely restarts at sequence 1 with a new epoch, which a
// reader notices (Recovered false) and resyncs from. A stream that loses
// only its newest messages keeps its epoch and reuses their sequence
// numbers, so deployments that need every acknowledged append should run
// appendfsync always. Device records written by FillDevices and SetDevices
// are cache entries with a TTL; with a maxmemory limit use a volatile-*
// eviction policy so that streams and alias sets, which have none, are
// never evicted.
//
// Redis 7.0 or later is required (EVALSHA_RO); tracking needs RESP3.
//
// # Invalidation
//
// With Config.Invalidator set, every connection turns on CLIENT TRACKING in
// OPTOUT mode: Redis remembers each key the client reads, a missing one
// too, and pushes its name when any client changes it; the names go to the
// Invalidator, which is how the L0 caches of the nodes learn of a change.
// Tracking is one-shot: the push ends the client's read of the key, and so
// does the client's own write, which Redis also pushes to the writer
// (NOLOOP would stop that push but not the forgetting). So a cache fed by
// this store should take values from reads only: a value a client wrote
// itself, or a device it never read, is not tracked, and another client's
// later write would reach no one. The store keeps no copy of its own
// (rueidis's client-side cache is not used): a read always asks Redis, so
// it sees every write that returned before it, this client's included,
// whatever connection rueidis picks for either. OPTOUT needs no CLIENT
// CACHING YES before each read, so the reads stay plain pipelined GETs,
// which a Redis Cluster client can send across slots.
//
// # Concurrency
//
// Every method of Store is safe for concurrent use. rueidis pipelines the
// commands of concurrent calls on shared connections (auto-pipelining); a
// multi-key call starts one goroutine per shard beyond the first and waits
// for them. Retries are off: a shard that does not answer within
// Config.Timeout fails the call's part on that shard with
// store.ErrUnavailable instead of being waited for. Close is safe to call
// more than once; later calls return ErrClosed.
package redisstore
