// Package dispatcher owns the consistent-hash ring of connectors and its
// membership, and serves GET /v1/dispatch, which tells a device the
// connector that owns it and the next ring nodes as fallbacks.
//
// # Ring
//
// A Ring places each connector (Node) at Weight×vnodes points, and a key
// (a device id) belongs to the node of the first point at or clockwise
// after the key's hash. Hashes are XXH64 for keys and a SplitMix64 sequence
// seeded by XXH64 of the node ID for points, so every process on every
// machine computes the same owners from the same set of nodes, whatever
// the order they learnt them in. The gateway and the taskcontainer route
// with the same Ring as a library. Owners gives the owner followed by the
// next distinct nodes clockwise: the nodes that would own the key, in
// order, if the ones before them left.
//
// # Membership
//
// Connectors join by putting their Node, as JSON, under their ID in the
// NATS KV bucket Bucket (Registration), refreshing it every TTL/3 and
// deleting it on a graceful stop. The bucket has a TTL and limit markers,
// so the key of a connector that crashed expires and watchers see the
// expiry. Membership watches the bucket, with no polling, and builds a new
// Ring on every change of its members.
//
// # Concurrency
//
// A Ring is immutable once built and safe for concurrent use; Nodes
// returns a copy. Membership publishes rings through an atomic pointer:
// Ring never blocks, and a ring a caller holds stays valid after it is
// replaced. Membership.Run and Registration.Run each own one goroutine's
// worth of work, run until their context ends, and must be called once;
// the other methods are safe from any goroutine. Changes hands each caller
// its own coalescing channel. The package holds no global state: metrics
// live in a Metrics value registered on the registry passed to NewMetrics.
package dispatcher
