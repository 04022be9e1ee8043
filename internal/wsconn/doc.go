// Package wsconn is the WebSocket protocol (RFC 6455) as devices and the
// connector speak it. The server side, which the connector runs: a
// handshake that hands back the raw net.Conn, an incremental frame decoder
// fed with whatever bytes a non-blocking read returned, and encoders that
// append frames to a caller's buffer so that they can be written straight
// to the connection. The client side, which the Go SDK runs: the upgrade
// request ([AppendClientHead]), the check of the answer ([ParseResponse],
// [CheckResponse]), masked frames ([AppendMaskedFrame]) and the same
// decoder for the server's frames ([Decoder.FromServer]).
//
// # Subset
//
//   - Client frames must be masked, server frames must not be.
//   - No extensions: offered extensions (permessage-deflate, …) are ignored
//     and never accepted, so every RSV bit must be clear; a client refuses
//     an answer that names one.
//   - Version 13 only. Any Origin is accepted: devices are not browsers.
//   - One subprotocol, echoed only when the client offered it; a client
//     refuses an answer that names one it did not offer.
//   - Frames are always sent whole (FIN set); neither side fragments, and
//     both take fragmented messages.
//
// # Strictness
//
// Decode fails with an error that matches [ErrProtocol] for an unmasked
// client frame or a masked server frame, an RSV bit, a reserved opcode, a
// control frame that is fragmented or longer than 125 bytes, a continuation
// frame with no message open, a new data frame while a fragmented message is
// open, a 64-bit length with the top bit set, a length not in its minimal
// encoding (RFC 6455 §5.2), and a close frame whose payload is one byte
// long, carries a code outside 1000–1003, 1007–1011 and 3000–4999 (and, from
// a server, 1012–1014), or a reason that is not UTF-8. It fails with
// [ErrTooLarge] as soon as a frame header announces a payload that would
// take the message past [Decoder.MaxMessage], before the payload arrives.
// Text messages are not checked for UTF-8: the connector refuses text
// messages altogether, so the check would only cost time.
//
// Errors are final: the connection should be closed (after a close frame
// with 1002 or 1009, if the caller wishes).
//
// # Memory
//
// Decode unmasks payloads in place, so a message carried by one frame is a
// slice of the caller's buffer. Only a fragmented message is copied, into a
// buffer owned by the Decoder until the message is returned; an idle Decoder
// holds no buffer.
//
// # Concurrency
//
// A Decoder is used by one reader at a time. The encoders and [ParseClose]
// are pure functions. Upgrade is called from the HTTP handler that owns the
// request.
package wsconn
