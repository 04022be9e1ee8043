// Package connector holds device sessions: it serves the device WebSocket
// endpoint, runs the handshake, keeps live sessions in a sharded hub, and
// delivers batches by appending each message to the device's stream and
// writing it to the live session.
//
// Ordering: every device's messages reach the socket in stream order. A
// session remembers the last sequence it wrote; a live push that is the next
// one is queued at once, anything else (a gap left by a concurrent batch,
// or the replay after the handshake) is filled from the stream by the
// session's writer, which reads the store in pages. So a device never sees
// seq N+1 before N, and a push appended during a replay is not lost.
//
// Concurrency: the handshake runs in the HTTP handler's goroutine; then an
// epoll poller (internal/netpoll) reads the session: one of its workers at
// a time decodes the WebSocket frames (internal/wsconn) and handles them.
// A writer goroutine, started when there is something to write and gone
// when there is not, alone seals and writes frames. An idle session so
// holds no goroutine. Silent sessions are found by one periodic sweep, not
// a deadline per socket. Deliver is safe for concurrent use. Slow devices:
// the send queue is bounded; a session whose queue is full is closed with
// 4002 instead of stalling the caller.
package connector
