// Package vendorfake holds what the local fake push vendors share: an
// HTTP/2 TLS test server and a client that trusts it, scripted faults, a
// thread-safe recorder of accepted messages, and JWT parsing and signature
// checks.
//
// Each vendor has its own subpackage (apnsfake, fcmfake, hmsfake,
// webpushfake, ...) that speaks that vendor's documented HTTP API on
// 127.0.0.1 with a random port. The fakes validate what the vendor validates,
// record what they accept, and answer scripted errors, so relay senders and
// end-to-end tests run without a network.
//
// Everything here is safe for concurrent use.
package vendorfake
