// Package wnsfake is a local Windows Push Notification Services server for
// tests. It serves over HTTP/2 TLS on 127.0.0.1:
//
//   - POST /accesstoken.srf: the OAuth 2.0 client credentials grant, form
//     grant_type, client_id (the package SID), client_secret and scope
//     notify.windows.com; answers {"token_type":"bearer","access_token",
//     "expires_in"} or 400 {"error":"invalid_client"}.
//   - POST /?token=<channel>: a channel URI as ChannelURI returns. It checks
//     what WNS checks: "Authorization: Bearer <access token>" (401 with
//     WWW-Authenticate error="invalid_token" otherwise), X-WNS-Type
//     (wns/toast, wns/tile, wns/badge, wns/raw), the matching Content-Type
//     (text/xml, or application/octet-stream for raw), a well-formed XML body
//     with a <toast> root for toasts, at most 5000 bytes (413 otherwise),
//     X-WNS-TTL (seconds), X-WNS-Tag (at most 16 characters) and
//     X-WNS-Priority (1-4). Accepted pushes answer 200 with X-WNS-Status
//     received and X-WNS-Msg-ID.
//
// Create one with New; ChannelURI makes channel URIs that point at it, Host
// is what the sender must allow, TokenURL is the token endpoint. Script
// failures with the embedded vendorfake.Script: FailNext, and FailToken
// keyed by channel name (FailChannel takes the channel URI); a Fault is an
// HTTP status (404 invalid channel, 410 channel expired, 406 throttled, ...)
// with Message sent as X-WNS-Error-Description. ExpireAccessTokens
// invalidates every issued access token; the embedded vendorfake.Recorder
// reports what was accepted.
//
// Concurrency: all methods are safe for concurrent use.
package wnsfake
