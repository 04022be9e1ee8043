// Package vivofake is a local vivo Push server for tests. It serves over
// HTTP/2 TLS on 127.0.0.1:
//
//   - POST /message/auth: JSON {appId, appKey, timestamp (ms, within ten
//     minutes of the fake's clock), sign = lowercase hex MD5(appId + appKey +
//     timestamp + appSecret)}; answers {"result":0,"desc","authToken"}.
//   - POST /message/send: header authToken and a JSON body with regId,
//     notifyType (1-4), title (at most 40 units, a non-ASCII character
//     counting two), content (at most 100 units), timeToLive (900 s to 7
//     days, optional), skipType (1-4), classification (0 or 1), notifyId,
//     clientCustomMap and requestId (1-64 characters); answers
//     {"result":0,"desc","taskId"}.
//
// Error answers use vivo's published result codes (10000 authentication
// failed, 10302 regId invalid, 10070 quota exceeded, 10072 too fast, 10206
// bad sign, ...).
//
// Create one with New and point the sender at URL. Script failures with the
// embedded vendorfake.Script (FailNext, FailToken keyed by regId): a
// Fault's Reason is a vivo result code ("10302"), answered as HTTP 200 JSON
// unless Status says otherwise; a Fault without Reason is a bare HTTP error.
// ExpireAccessTokens invalidates every issued authToken; the embedded
// vendorfake.Recorder reports what was accepted.
//
// Concurrency: all methods are safe for concurrent use.
package vivofake
