// Package wns sends notifications through Windows Push Notification
// Services (WNS). The device token is the app's channel URI.
//
// # Authentication
//
// The OAuth 2.0 client credentials grant at TokenURL (default
// https://login.live.com/accesstoken.srf; form grant_type, client_id = the
// package SID, client_secret, scope notify.windows.com) returns a bearer
// token, valid a day. The Sender caches it and renews it shortly before it
// expires; a push answered 401 (token expired or invalid) makes it fetch a new
// token and retry that push once, and a second 401 is
// relay.ErrBadCredentials. A token endpoint that refuses the client
// (invalid_client, invalid_scope) is relay.ErrBadCredentials at once.
//
// # Channel URIs
//
// The bearer token goes to whatever URI the device registered, so the Sender
// only posts to https URIs whose host is under notify.windows.com, or is one
// of Config.AllowedHosts (host:port, for the local fake in tests). Any other
// token (plain http, another host, user info, unparsable) is a
// *relay.DeadTokenError without a call: such a channel can never work and
// must not receive the token.
//
// # Request
//
// POST {channel URI} with "Authorization: Bearer <token>". A notification is
// X-WNS-Type wns/toast, Content-Type text/xml, body
// <toast launch="..."><visual><binding template="ToastGeneric"><text>title
// </text><text>body</text></binding></visual></toast> built with
// encoding/xml, so title, body and Data are escaped; launch carries Data as
// a URL query string for the app's activation handler. A Background message
// is X-WNS-Type wns/raw, Content-Type application/octet-stream, body Data as
// JSON. X-WNS-TTL is the seconds left until ExpiresAt; X-WNS-Tag is the
// CollapseID (a 16-hex-digit hash when it is longer than WNS's 16
// characters); X-WNS-Priority 1 (high) is sent for HighPriority toasts.
// Payloads over WNS's 5000-byte limit are relay.ErrRejected without a call.
//
// # Answers
//
// The status codes and their meaning are confirmed on Microsoft Learn's
// "Troubleshooting push notifications" page (WNS HTTP response codes); the
// mapping onto the relay contract is ours:
//
//   - 200: accepted; VendorID is X-WNS-Msg-ID.
//   - 404 (channel URI not valid or not recognized; "do not send further
//     notifications to this channel") and 410 (channel expired):
//     *relay.DeadTokenError.
//   - 401 (authentication ticket not valid): refresh once, then
//     relay.ErrBadCredentials. 403 (authenticated, but the token's app is not
//     the app that requested the channel): relay.ErrBadCredentials.
//   - 406 (throttle limit exceeded), 429 (monthly quota exceeded), 500, 503:
//     *relay.RetryError with Retry-After when WNS sends one.
//   - 413 (payload over 5000 bytes), 400, 405 and other statuses:
//     relay.ErrRejected.
//
// Confirmed on Microsoft Learn's "Push notification service request and
// response headers" page: the token endpoint, its form parameters and its
// answer (access_token, token_type bearer, expires_in; 400 on failure).
// Confirmed by the Notification Hubs reference: X-WNS-Type values and
// application/octet-stream for wns/raw. From memory of the WNS header
// reference, not confirmed here: the 16-character limit of X-WNS-Tag and the
// values of X-WNS-Priority.
//
// Transport failures are *relay.RetryError with status 0 (the caller's own
// cancellation is returned as the context error). Messages past ExpiresAt
// fail with relay.ErrExpired without a call.
//
// Concurrency: a Sender is safe for concurrent use. Errors never contain the
// client secret, the bearer token or the channel URI.
package wns
