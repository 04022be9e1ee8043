// Package tiered is the tiered, sharded device store of the data layer:
// L0 an in-process cache (package store/cache), L1 Redis over one or more
// shards (package store/redisstore), L2 the system of record (any
// store.Devices: MongoDB, Aerospike or Pebble). Tiered implements
// store.Devices, so it stands in wherever device state is read or written,
// and adds batched device reports. The alias and tag indexes are L2's:
// lookups by alias or tag, and listings of an app's devices, go to L2 (by
// tag or app only when L2 is a store.TagIndex; otherwise they fail with
// store.ErrUnsupported).
//
// # Reads
//
// Devices looks every id up in L0; the misses go to L1, split by shard,
// one pipeline per shard, all shards at once; what L1 misses goes to L2 in
// one call. Values found below are written back up, to L1 with L1TTL by
// SET NX (a value read from L2 never overwrites a newer one that a writer
// put there meanwhile) and to L0 (with tracking, only values that L1
// returned; see below), and the result is merged by the ids' positions. An
// L1 shard that fails or times out degrades instead of failing the read:
// its keys are read from L2, the failure is counted in
// push_store_tier_degraded_total{tier="l1",shard}, and those keys are not
// put into L0, since no invalidation would reach them. Only an L2 failure
// fails a read.
//
// # Writes and invalidation
//
// PutDevice writes L2 first and returns its error; then it replaces the
// value in L1 and drops the device from L0 (with tracking off, L0 takes the
// new value instead). Device reports (Report, ReportWait) are small,
// frequent changes (last seen, locale, time zone, tokens); they go through
// a bounded batch.Writer: a full queue blocks the caller until there is
// room or its context ends. Each flush merges the reports of one device,
// reads the devices from L2 in one call, writes the changed ones to L2 (in
// bulk through BulkWriter, which Pebble, MongoDB and Redis implement, or
// WriteConcurrency at a time otherwise), then to L1 in one pipeline per
// shard, and drops them from L0 as PutDevice does.
//
// L1 reads are tracked (RESP3 CLIENT TRACKING, unless NoTracking):
// when any node writes a device this node read, Redis says so, and
// Invalidate drops it from L0; a lost connection drops all of L0. Redis
// says so once per read, and not at all to a node that only wrote the
// device; a node's own write ends its read too (Redis tells it, as well).
// So L0 takes only values that a tracked L1 read returned, never values
// the node wrote or read from L2 and wrote back: after such a write the
// device stays out of L0 until the next read here puts it back from L1
// (publish in write.go weighs the alternatives). Invalidate is also the
// entry point for invalidations that arrive another way, such as a bus
// message. Each device's stripe carries a generation that writes and
// invalidations bump; a read puts a value into L0 only if the generation
// did not move while it read, so a slow read never puts back a value older
// than one written meanwhile. Together: once a write has returned, the
// writing node reads the new value (or a newer one) at once, and every
// other node as soon as Redis's message reaches it. L1 keeps no copy in
// this process besides L0 (see package redisstore).
//
// When an L1 write fails (a shard down or timing out), the devices it
// covered go on a bounded repair list: reads skip L1 for them, and Run
// deletes their L1 entries once the shard answers again, so a shard that
// comes back with data from before the outage does not serve it. Staleness
// that the tiers cannot see (another node writing while this node's
// tracking connection is down, or a repair list that overflowed) is
// bounded by L0TTL and L1TTL.
//
// # Concurrency
//
// Every method is safe for concurrent use. Within one process, PutDevice
// and report flushes of the same device are serialised by striped mutexes
// (read, change and write whole records); across processes the last write
// wins. Devices takes no lock. A read starts one goroutine per L1 shard
// beyond the first; a flush without BulkWriter up to WriteConcurrency.
// Run owns the report writer's workers, L0's sweeper and the repairs, and
// returns after draining queued reports when its context ends; Close
// closes L1 and belongs after Run has returned. Open starts no goroutine.
package tiered
