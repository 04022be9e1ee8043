// Package bench is the load generator behind `mopush bench`: it simulates
// devices with the Go SDK (real registration, handshake, sealing and acks)
// against one mopush server, runs named scenarios (idle, unicast,
// broadcast, reconnect) several times, and reports each figure as the
// median and range of the runs, as one text line and optionally JSON.
//
// The parent process (Run) owns the server under test (an existing one, or
// `mopush all` that it spawns and stops), creates the app, sends the REST
// pushes, samples the server's CPU, RSS and I/O from /proc/PID and its
// goroutines from /metrics, and merges what the workers report. Devices
// live in worker processes (RunWorker, reached as the hidden `mopush bench
// worker` subcommand, or as goroutines for tests) so that no process holds
// more sockets than its open-file limit allows. Parent and workers talk in
// JSON values: one command at a time on the worker's stdin, exactly one
// reply to each on its stdout.
//
// Every figure needs a shared clock: pushes carry their send time (Unix
// nanoseconds in data.t) and the receiving device computes the latency, so
// parent, workers and server must run on the same machine. The bench talks
// to 127.0.0.0/8 only, spreads its devices over the source addresses
// 127.0.0.1 … 127.0.0.K to keep clear of ephemeral port exhaustion, and
// bounds every loop by a count and a deadline.
//
// Concurrency: Run and RunWorker each drive one benchmark at a time; the
// types here are not meant to be shared between goroutines unless their
// documentation says so.
package bench
