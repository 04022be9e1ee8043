// Package hms sends relay messages through Huawei Push Kit's server API v1
// (POST {endpoint}/v1/{appId}/messages:send).
//
// A Sender authenticates with an OAuth 2.0 access token from the client
// credentials grant at {oauth}/oauth2/v3/token (app id and app secret,
// golang.org/x/oauth2/clientcredentials). The token is cached until
// shortly before it expires and concurrent sends share one fetch. When
// Push Kit refuses the token (80200001, 80200003, or a bare 401) the cached
// token is dropped and the send is retried once with a fresh one.
//
// Mapping of relay.Message to Push Kit:
//   - Title and Body become android.notification (with click_action type
//     3, "open the app"); Background sends a data message without one.
//   - Data and PushID (key "push_id") become message.data, a JSON object
//     encoded as a string as Push Kit wants; PushID is also android.bi_tag,
//     which Push Kit returns in delivery receipts.
//   - CollapseID is android.notification.tag, which replaces a shown
//     notification with the same tag. Push Kit's android.collapse_key is an
//     integer cache group (-1..100) that cannot carry an arbitrary id, so
//     data messages do not collapse.
//   - HighPriority is android.urgency HIGH for data messages (Huawei grants
//     it per app); notification messages have no delivery priority.
//   - The time left until ExpiresAt is android.ttl in whole seconds, at most
//     Push Kit's 15 days; a message already past it fails with
//     relay.ErrExpired without reaching Push Kit.
//
// Mapping of Push Kit answers (result code first, then HTTP status):
//   - 80300007 (all tokens invalid) and 80100000 naming the token in
//     illegal_tokens: *relay.DeadTokenError.
//   - 81000001 (internal error), 429 and 5xx (503 is Push Kit's flow
//     control), and transport failures: *relay.RetryError with Retry-After.
//   - 80200001/80200003 or 401 after one refresh, 80200005, 80300002 (no
//     push permission), 80600003 (OAuth failed), 403, and a token endpoint
//     that refuses the app: relay.ErrBadCredentials.
//   - 80100004 (TTL already passed): relay.ErrExpired.
//   - Any other code (80300008 too large, 80100001, 80100003, ...):
//     relay.ErrRejected.
//
// A Sender is safe for concurrent use.
package hms
