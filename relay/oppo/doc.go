// Package oppo sends notifications through OPPO Push (HeyTap) with its
// server API.
//
// # Authentication
//
// POST {BaseURL}/server/v1/auth, form app_key, timestamp (ms) and sign =
// hex(SHA-256(app_key + timestamp + master_secret)), returns an auth_token
// valid for 24 hours. The Sender caches it, replaces it shortly before it
// expires, and when a push is refused with code 11 (Invalid AuthToken) or 29
// (Missing Auth Token) fetches a new one and retries that push once. A
// second refusal is relay.ErrBadCredentials. Refreshes are serialized, so
// concurrent sends share one auth call.
//
// # Request
//
// POST {BaseURL}/server/v1/message/notification/unicast, form-encoded,
// auth_token in the form (where the documentation puts it) and in the
// auth_token header (where several integrations put it); message is a JSON
// object: target_type 2 (registration id), target_value, notification with
// title, content, channel_id (HighPriorityChannelID for HighPriority
// messages, an Android channel the app created with high importance),
// notify_id derived from CollapseID, click_action_type 0 (open the app) and
// action_parameters (Data as a JSON string). off_line_ttl is the time left
// until ExpiresAt in seconds, at most 10 days; OPPO refuses less than one
// hour, so a message with less time left is sent with off_line false
// (delivered only to a device online now) rather than outliving ExpiresAt.
// OPPO Push has no data-only message for third-party apps: Background
// messages fail with relay.ErrRejected without a call.
//
// # Answers
//
// Codes from OPPO's "调用地址，公共参数和返回码" and single-push pages (read
// from public copies of the vendor documentation):
//
//   - 10000 Invalid Registration_id: *relay.DeadTokenError (confirmed; the
//     only registration error the single-push page lists).
//   - 11, 29: refresh once, then relay.ErrBadCredentials (confirmed).
//   - 14 Invalid App Key, 15, 16 Invalid Signature, 17, 26 IP black list, 27
//     Access Denied, 28 App Disabled, 30 Api Permission Denied:
//     relay.ErrBadCredentials (confirmed meanings; the mapping is ours).
//   - -2 flow control, -1 service unavailable, 13 App Call Limited, 55 App
//     Call Frequency Limit: *relay.RetryError (confirmed meanings). 33 (daily
//     message limit): retryable after the next midnight in China.
//   - Other codes (40, 41 invalid arguments, 51, 67, ...): relay.ErrRejected.
//   - HTTP 429 and 5xx: *relay.RetryError with Retry-After; 401/403 without
//     a code: relay.ErrBadCredentials; other statuses: relay.ErrRejected.
//
// Not confirmed: whether action_parameters reaches the app when
// click_action_type is 0, and the off_line_ttl minimum (stated in an
// integration's copy of the docs, not on the pages read).
//
// Transport failures are *relay.RetryError with status 0 (the caller's own
// cancellation is returned as the context error). Messages past ExpiresAt
// fail with relay.ErrExpired without a call.
//
// Concurrency: a Sender is safe for concurrent use. Errors never contain the
// master secret or auth token; device tokens are masked out of vendor text.
package oppo
