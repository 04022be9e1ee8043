// Package gateway is the REST API for backends and SDK registration: the
// admin API for apps, device registration, and the push API. It
// authenticates, validates, stores each push durably before answering 202,
// then routes it: target devices are grouped by the connector that owns
// them on the ring and each group is delivered as one batch, all groups at
// once, results merged by position.
//
// Durability: an accepted push is in the store in the pending state until
// routing finishes. Run re-routes pending pushes left by a crash when it
// starts; delivery is therefore at least once, and the SDK drops duplicates
// by push id.
//
// Concurrency: handlers run concurrently; routing of accepted pushes runs in
// goroutines owned by Run, which waits for them when its context ends.
package gateway
