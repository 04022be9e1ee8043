// Package apns sends relay messages through the Apple Push Notification
// service with github.com/sideshow/apns2, over one long-lived HTTP/2
// connection per Sender.
//
// A Sender authenticates with a provider token (a .p8 signing key, its key
// id and the team id) or with a TLS client certificate (PKCS#12 or PEM). It
// pushes to one topic, the app's bundle id. A provider token (JWT) is used
// for 50 minutes and replaced 5 minutes before that, well inside APNs's
// one-hour limit; with WithSharedTokens every instance of the cluster that
// signs with the same key uses the same token.
//
// Mapping of relay.Message to APNs:
//   - Title and Body become aps.alert; Background makes a data-only push
//     (aps.content-available = 1, apns-push-type background, priority 5).
//   - Data keys become custom top-level payload keys, and PushID the key
//     "push_id" (a Data key named "aps" is dropped).
//   - HighPriority is apns-priority 10, otherwise 5.
//   - CollapseID is apns-collapse-id; one longer than APNs's 64 bytes is
//     replaced by the hex SHA-256 of it, so equal ids still collapse.
//   - ExpiresAt is apns-expiration; a message already past it fails with
//     relay.ErrExpired without reaching APNs.
//
// Mapping of APNs answers to relay errors:
//   - 410 Unregistered or ExpiredToken, BadDeviceToken and
//     DeviceTokenNotForTopic: *relay.DeadTokenError.
//   - 429, 500 and 503 (and other 5xx), and transport failures:
//     *relay.RetryError, with Retry-After when APNs sends one.
//   - 403 provider-token and certificate reasons: relay.ErrBadCredentials;
//     ExpiredProviderToken first drops the token and retries once with a
//     new one.
//   - Every other refusal (413 PayloadTooLarge, BadTopic, TopicDisallowed,
//     ...): relay.ErrRejected.
//
// A Sender is safe for concurrent use; its token cache serialises token
// renewal.
package apns
