// Package conformance is the shared test suite for relay.Sender
// implementations. Each vendor package wires its sender to its local fake in
// a Harness; Run checks the behaviour the relay depends on (success, dead
// tokens, retryable throttling and 5xx with Retry-After, expiry without a
// vendor call, bad credentials, access-token refresh, concurrent use, one
// token for senders on several instances sharing it through Redis) and
// Bench measures send throughput at several concurrencies. SharedCaches
// starts the Redis and the per-instance token caches.
//
// Concurrency: every case builds its own Harness, so cases run in parallel.
package conformance
