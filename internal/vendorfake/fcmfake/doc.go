// Package fcmfake is a local Firebase Cloud Messaging HTTP v1 API: the
// OAuth 2.0 token endpoint for service accounts (RFC 7523 JWT bearer grant,
// RS256 assertions) and POST /v1/projects/{project}/messages:send with
// google.rpc.Status errors carrying FcmError details.
//
// Create one with New, get a service-account key file it accepts from
// ServiceAccountJSON (its token_uri points at the fake), and point the
// sender's endpoint at URL. Script failures with FailNext and FailToken,
// whose Fault.Reason is the FCM errorCode (UNREGISTERED, QUOTA_EXCEEDED,
// ...); read what was accepted with Received. A Server is safe for
// concurrent use.
package fcmfake
