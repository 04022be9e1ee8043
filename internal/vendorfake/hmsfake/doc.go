// Package hmsfake is a local Huawei Push Kit server API: the OAuth 2.0
// client-credentials token endpoint (POST /oauth2/v3/token) and
// POST /v1/{appId}/messages:send, answering with Push Kit result codes
// ("80000000" success, "80300007" all tokens invalid, "80200003" access
// token expired, ...).
//
// Create one with New; the sender's push endpoint and OAuth base are both
// URL, and AppID and AppSecret are the credentials it accepts. Script
// failures with FailNext and FailToken, whose Fault.Reason is the result
// code (Fault.Status defaults to the HTTP status the fake pairs with that
// code); read what was accepted with Received. A Server is safe for
// concurrent use.
//
// Huawei documents the result codes and, separately, the HTTP statuses
// (200, 400, 401, 404, 500, 502, 503) but not which status comes with
// which code; the pairing here is an approximation, and senders should
// decide on the code first.
package hmsfake
