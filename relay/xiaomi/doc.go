// Package xiaomi sends notifications through Xiaomi Push (MiPush) with its
// server API: POST {BaseURL}/v3/message/regid, form-encoded, authenticated by
// the header "Authorization: key=<AppSecret>". Every request carries the
// secret, so there is no access token to cache or refresh.
//
// # Request
//
// One registration id per request (registration_id), restricted_package_name,
// pass_through (1 for Background messages, which carry Data as JSON in
// payload), notify_type, title and description, time_to_live in
// milliseconds (the time left until ExpiresAt, at most two weeks), notify_id
// and extra.channel_id. MiPush replaces a shown notification that has the
// same notify_id, so notify_id is derived from CollapseID when set and from
// the PushID otherwise (one notification per push). Data entries travel as
// extra.<key>; the sender's own extra fields win over a Data key of the same
// name. HighPriority selects HighPriorityChannelID, an Android notification
// channel the app created with high importance; MiPush itself has no
// priority field.
//
// # Answers
//
// MiPush answers HTTP 200 with {"result":"ok"|"error","code",...}. The codes
// come from MiPush's published error-code table (as mirrored by third-party
// integrations; the vendor page itself could not be fetched here):
//
//   - 20301 ("发送消息失败", seen with reason "No valid targets!") and 66007
//     (regId illegal): *relay.DeadTokenError. 20301 is confirmed from real
//     responses quoted in public code; its meaning for reasons other than
//     "No valid targets!" is not, and it is still treated as dead.
//   - 21301 ("认证失败", reason "Invalid application secret.", confirmed from a
//     quoted response), 21302, 22000, 22006, 22007, 22022 (package name),
//     10031 (app blacklisted), 10036 (app operation forbidden):
//     relay.ErrBadCredentials. Only 21301 is confirmed by a real response.
//   - 10001, 10002, 10003 (system error, busy, remote error), 10027 (calls
//     too frequent), 200002 (QPS quota): *relay.RetryError. 10034 and 200001
//     (daily quota) are retryable with After set to the next midnight in
//     China, when MiPush resets quotas. Codes from the table, not confirmed
//     by responses.
//   - Any other error code: relay.ErrRejected.
//   - HTTP 429 and 5xx: *relay.RetryError with Retry-After; 401 and 403:
//     relay.ErrBadCredentials; other statuses: relay.ErrRejected.
//
// Transport failures are *relay.RetryError with status 0, except that the
// caller's own context cancellation is returned as the context error.
// Messages already past ExpiresAt fail with relay.ErrExpired without a call;
// an empty token is a *relay.DeadTokenError.
//
// Concurrency: a Sender is safe for concurrent use. Errors never contain the
// AppSecret, and vendor reasons have the device token masked out.
package xiaomi
