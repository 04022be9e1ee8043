// Package client is the Go SDK of the mopush device protocol: it registers a
// device, asks the dispatcher which connector owns it, connects, runs the
// handshake, hands pushes to the application in stream order exactly once
// per push id, acknowledges them, sends heartbeats, and reconnects with
// exponential backoff and jitter, resuming from the last acknowledged
// sequence.
//
// Concurrency: a Client is used by one Run at a time; State may be called
// from any goroutine. The OnPush callback runs on the client's read
// goroutine: a slow callback slows delivery (and acks) of later pushes.
package client
