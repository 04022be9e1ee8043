// Package honorfake is a local Honor Push server for tests. It serves over
// HTTP/2 TLS on 127.0.0.1:
//
//   - POST /auth/token (also at /oauth2/v3/token): the OAuth 2.0 client
//     credentials grant, form grant_type, client_id, client_secret; answers
//     {"access_token","expires_in","token_type":"Bearer"} or 401
//     {"error":"invalid_client"}.
//   - POST /api/v1/{appId}/sendMessage: headers "Authorization: Bearer
//     <access token>" and timestamp (ms); a JSON body with token (1 to 1000
//     push tokens), notification {title, body}, android {ttl "<n>s" up to
//     15 days, notification {title, body, importance, notifyId, tag,
//     clickAction {type}}}, and data (a string); at most 4096 bytes without
//     the tokens. Answers {"code":200,"message","data":{"sendResult",
//     "requestId","failTokens","expireTokens"}}.
//
// A refused access token answers HTTP 403 with code 403; message errors use
// Honor's codes (80300007 all tokens invalid, 80300008 message too large,
// 80100003 bad message structure, ...).
//
// Create one with New and point the sender at URL and TokenURL. Script
// failures with the embedded vendorfake.Script (FailNext, FailToken keyed by
// push token): a Fault's Reason is an Honor code ("80300007"), or
// ReasonExpiredToken / ReasonFailedToken for a partial-success answer that
// lists the token in data.expireTokens / data.failTokens; it is answered as
// HTTP 200 JSON unless Status says otherwise, and a Fault without Reason is
// a bare HTTP error. ExpireAccessTokens invalidates every issued access
// token; the embedded vendorfake.Recorder reports what was accepted.
//
// Concurrency: all methods are safe for concurrent use.
package honorfake
