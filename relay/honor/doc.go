// Package honor sends notifications through Honor Push with its server API.
//
// # Authentication
//
// The OAuth 2.0 client credentials grant at TokenURL (form grant_type,
// client_id, client_secret; default https://iam.developer.honor.com/auth/token,
// the endpoint Honor's current guide and several integrations use; older
// integrations use https://hnoauth-login.cloud.honor.com/oauth2/v3/token)
// returns an access token with expires_in. The Sender caches it and renews
// it shortly before it expires. When a push is refused for the token (HTTP
// 401 or 403, or code 403 "authentication failed"; also 80200001 and
// 80200003, the OAuth codes of the Huawei API Honor's derives from) it
// fetches a new token and retries that push once; a second refusal is
// relay.ErrBadCredentials. A token endpoint that refuses the client is
// relay.ErrBadCredentials at once.
//
// # Request
//
// POST {BaseURL}/api/v1/{AppID}/sendMessage with headers "Authorization:
// Bearer <token>" and timestamp (ms), JSON at the top level (Honor's guide
// and SDK structs put the fields there, not under a "message" wrapper):
// token [device token], notification {title, body}, android {ttl "<n>s"
// (seconds left until ExpiresAt, at most 15 days), notification {title,
// body, importance, notifyId and tag from CollapseID, clickAction {type 3:
// open the app}}} and data (Data as a JSON string). HighPriority sets
// importance NORMAL (Honor's service and communication class); otherwise
// Importance from Config (empty: Honor's default, which classifies as
// marketing). Background messages are data-only (no notification objects).
//
// # Answers
//
// Honor answers {"code":200,"message","data":{"sendResult","requestId",
// "failTokens","expireTokens"}}; VendorID is data.requestId. Codes from a
// push aggregator's table of Honor's downlink response codes and the Huawei
// codes Honor shares:
//
//   - 80300007 (all tokens invalid), or the token listed in
//     data.expireTokens: *relay.DeadTokenError. 80300007 confirmed in the
//     table; expireTokens from the response struct of a public Honor SDK.
//   - 403 and 80200001/80200003: refresh once, then relay.ErrBadCredentials.
//     10205 (appId unknown) and 80300002 (app may not push):
//     relay.ErrBadCredentials.
//   - 500, 502, 503 (QPS limit) and 81000001 (internal error):
//     *relay.RetryError. 80200047 and 80300029 (test-message quotas):
//     retryable after the next midnight in China.
//   - The token in data.failTokens, 80300008 (over 4096 bytes), 80100003
//     (structure), other codes: relay.ErrRejected.
//   - HTTP 429 and 5xx: *relay.RetryError with Retry-After; other statuses
//     without a code: relay.ErrRejected.
//
// Not confirmed: the HTTP status Honor uses for a refused token (handled
// whether it is 200, 401 or 403), and whether tag replaces a shown
// notification as notifyId does.
//
// Transport failures are *relay.RetryError with status 0 (the caller's own
// cancellation is returned as the context error). Messages past ExpiresAt
// fail with relay.ErrExpired without a call.
//
// Concurrency: a Sender is safe for concurrent use. Errors never contain the
// client secret or access token; device tokens are masked out of vendor text.
package honor
