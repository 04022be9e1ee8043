// Package fcm sends relay messages through Firebase Cloud Messaging's HTTP
// v1 API (POST {endpoint}/v1/projects/{project}/messages:send).
//
// A Sender authenticates as a Google service account: it signs a JWT with
// the key from the service-account JSON and trades it at the token endpoint
// for an OAuth 2.0 access token (golang.org/x/oauth2/jwt). The access token
// is cached until shortly before it expires; concurrent sends share one
// fetch. A 401 from FCM drops the cached token and retries the send once
// with a fresh one.
//
// Mapping of relay.Message to FCM (Android options; APNs and Web Push
// overrides are not set):
//   - Title and Body become the notification; Background sends a data-only
//     message.
//   - Data becomes data, and PushID the data key "push_id".
//   - CollapseID is android.collapse_key; HighPriority is android.priority
//     HIGH, otherwise NORMAL.
//   - The time left until ExpiresAt is android.ttl in whole seconds ("Ns",
//     rounded up, at most FCM's 4 weeks); no ExpiresAt leaves FCM's
//     default. A message already past ExpiresAt fails with relay.ErrExpired
//     without reaching FCM.
//
// Mapping of FCM answers (the google.rpc.Status body and its FcmError
// errorCode) to relay errors:
//   - UNREGISTERED, INVALID_ARGUMENT about the registration token, and
//     SENDER_ID_MISMATCH: *relay.DeadTokenError. SENDER_ID_MISMATCH means
//     the token belongs to another Firebase project; this sender's project
//     can never reach it, so the token is dead for this app. (A sender
//     configured with the wrong project would see every token this way:
//     check the project before trusting a burst of such errors.)
//   - QUOTA_EXCEEDED (429), UNAVAILABLE (503), INTERNAL (500), other 5xx
//     and transport failures: *relay.RetryError with Retry-After.
//   - 401 UNAUTHENTICATED (after one refresh), THIRD_PARTY_AUTH_ERROR and
//     403 PERMISSION_DENIED, and a token endpoint that refuses the service
//     account: relay.ErrBadCredentials.
//   - Any other refusal (INVALID_ARGUMENT about the message, ...):
//     relay.ErrRejected.
//
// A Sender is safe for concurrent use.
package fcm
