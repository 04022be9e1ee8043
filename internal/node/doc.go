// Package node assembles the roles of mopush into one process: embedded (or
// remote) NATS, the store, the dispatcher's membership, one or more
// connectors, and the gateway, behind HTTP listeners. `mopush all` runs one
// Node; tests run Nodes with several connectors to exercise routing across
// owners.
//
// A relay node on the clustered store shares vendor access tokens and APNs
// provider tokens with the other nodes through a token cache on the first
// Redis shard (tokens.go); on the embedded store each process keeps its own.
//
// Lifecycle: New binds the listeners and opens the store and the bus; Run
// serves until its context ends, then drains: readiness turns off, the
// connectors redirect their devices and leave the ring, the gateway finishes
// routing, and the store and bus close.
package node
