// Package vivo sends notifications through vivo Push with its server API.
//
// # Authentication
//
// POST {BaseURL}/message/auth with JSON {appId, appKey, timestamp (ms), sign
// = lowercase hex MD5(appId + appKey + timestamp + appSecret)} returns an
// authToken valid for a day. The Sender caches it, replaces it well before it
// expires (vivo asks integrators to refresh every few hours; the cache
// renews it after 20 hours), and when a push answers result 10000
// (authentication failed: token missing, wrong or expired) fetches a new
// one and retries that push once; a second 10000 is relay.ErrBadCredentials.
// Refreshes are serialized, so concurrent sends share one auth call (the
// auth endpoint allows 10 calls a second per app).
//
// # Request
//
// POST {BaseURL}/message/send, header authToken, JSON: regId, notifyType
// (NotifyType, default 4: sound and vibration), title, content,
// timeToLive (seconds left until ExpiresAt, within vivo's 900 s to 7 days;
// a message with less than 900 s left is sent with 900 s), skipType 1 (open
// the app), classification (Classification, default 0: operational; 1:
// system, which HighPriority selects), notifyId from CollapseID,
// clientCustomMap (Data) and a fresh random requestId. vivo has no data-only
// messages: Background messages fail with relay.ErrRejected without a call.
// Titles over 40 and contents over 100 units (a non-ASCII character counts
// two) are refused by vivo and surface as relay.ErrRejected.
//
// # Answers
//
// vivo answers HTTP 200 with {"result","desc","taskId"}. Codes from vivo's
// server API document (v2.9.2, read from public copies) and from a code table
// of a push aggregator that mirrors it:
//
//   - 10302 regId invalid (not found, uninstalled, unsubscribed, data
//     cleared): *relay.DeadTokenError. Confirmed; several integrations treat
//     it the same way.
//   - 10000: refresh once, then relay.ErrBadCredentials. Confirmed meaning.
//   - 10200-10207 (auth parameters, appKey, appId, sign, timestamp), 10094
//     (token and appId differ), 10043 (push channel closed for the app),
//     10045 (app in review): relay.ErrBadCredentials. Meanings from the
//     aggregator's table; not confirmed on a vivo page.
//   - 10072 (pushing too fast): *relay.RetryError. 10070 and 10073 (daily
//     operational and system quota) and 10071 (outside the allowed hours):
//     retryable, with After set to the next midnight in China for the
//     quotas. 10070 is confirmed by the v2.9.2 document ("do not call /send
//     again today").
//   - Other codes: relay.ErrRejected.
//   - HTTP 429 and 5xx: *relay.RetryError with Retry-After; 401/403 without a
//     code: relay.ErrBadCredentials; other statuses: relay.ErrRejected.
//
// Transport failures are *relay.RetryError with status 0 (the caller's own
// cancellation is returned as the context error). Messages past ExpiresAt
// fail with relay.ErrExpired without a call.
//
// Concurrency: a Sender is safe for concurrent use. Errors never contain the
// app secret or authToken; device tokens are masked out of vendor text.
package vivo
