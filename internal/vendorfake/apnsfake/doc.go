// Package apnsfake is a local Apple Push Notification service: the HTTP/2
// provider API (POST /3/device/{token}) with token-based (ES256 provider
// JWT) and certificate-based (TLS client certificate) authentication, the
// apns-* request headers, and APNs status codes and reasons.
//
// Create one with New, point the sender's host at URL and trust TLSConfig.
// Issue credentials with IssueAuthKey (a .p8 key the fake accepts) or
// IssueCertificate (a client certificate for a topic). Script failures with
// FailNext and FailToken, whose Fault.Reason is the APNs reason string;
// read what was accepted with Received, and how many provider tokens were
// used with ProviderTokens. A Server is safe for concurrent use.
package apnsfake
