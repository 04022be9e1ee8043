// Package oppofake is a local OPPO Push (HeyTap) server for tests. It serves
// over HTTP/2 TLS on 127.0.0.1:
//
//   - POST /server/v1/auth: form app_key, timestamp (ms, within ten minutes
//     of the fake's clock) and sign = hex(SHA-256(app_key + timestamp +
//     master_secret)); answers {"code":0,"data":{"auth_token","create_time"}}.
//   - POST /server/v1/message/notification/unicast: form auth_token (the
//     auth_token header is accepted too) and message, a JSON object with
//     target_type 2 (registration id), target_value and notification
//     (title, content, off_line, off_line_ttl in [3600, 864000] seconds,
//     channel_id, notify_id, click_action_type, action_parameters); answers
//     {"code":0,"message","data":{"messageId"}}.
//
// Error answers use OPPO's public return codes (11 invalid auth token, 16
// invalid signature, 10000 invalid registration id, -2 flow control, ...).
//
// Create one with New and point the sender at URL. Script failures with the
// embedded vendorfake.Script (FailNext, FailToken keyed by registration id):
// a Fault's Reason is an OPPO code ("10000"), answered as HTTP 200 JSON unless
// Status says otherwise; a Fault without Reason is a bare HTTP error.
// ExpireAccessTokens invalidates every issued auth_token; the embedded
// vendorfake.Recorder reports what was accepted.
//
// Concurrency: all methods are safe for concurrent use.
package oppofake
