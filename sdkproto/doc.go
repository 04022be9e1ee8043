// Package sdkproto is the mopush device protocol: the frame schema (package
// pb), the handshake that proves a device secret without sending it and agrees
// fresh per-session keys, the sealing of every later frame, and the typed error
// and close codes.
//
// The handshake is transport-agnostic: the caller moves the byte slices over a
// WebSocket (or anything that keeps message boundaries). docs/protocol.md is
// the specification an SDK in another language implements from.
//
// Concurrency: a Codec seals and opens independently, so one goroutine may seal
// while another opens; Seal itself and Open itself are not safe for concurrent
// use. Handshake values are used by one goroutine.
//
// This package imports nothing from the server side so that the SDK can ship
// alone.
package sdkproto
