// Package webpush sends relay messages to browsers with the Web Push
// protocol (RFC 8030), encrypting each message for the subscription
// (RFC 8291 over the aes128gcm content coding of RFC 8188) and identifying
// the application server with VAPID (RFC 8292). It uses only the standard
// library's crypto: crypto/ecdh for the P-256 key agreement, crypto/hkdf,
// AES-128-GCM, and crypto/ecdsa for the ES256 VAPID token.
//
// The device token is the subscription as the browser's
// PushSubscription.toJSON() gives it:
//
//	{"endpoint":"https://...","keys":{"p256dh":"...","auth":"..."}}
//
// Mapping of relay.Message to a push message:
//   - The encrypted body is a JSON object {"push_id","title","body","data"}
//     for the service worker; Background leaves out title and body.
//   - The time left until ExpiresAt is the TTL header in whole seconds
//     (Config.DefaultTTL when there is no ExpiresAt); a message already
//     past it fails with relay.ErrExpired without a request.
//   - HighPriority is Urgency: high, otherwise normal.
//   - CollapseID is the Topic header; one that is not at most 32 URL-safe
//     base64 characters (RFC 8030 section 5.4) is replaced by the first 32
//     characters of its SHA-256 in URL-safe base64, so equal ids still
//     collapse.
//   - Each message has one record of at most 4096 bytes: plaintext longer
//     than 3993 bytes fails with relay.ErrRejected.
//
// Mapping of push service answers: 201 (or any 2xx) is success, with the
// Location header as the vendor id; 404 and 410 are *relay.DeadTokenError;
// 429, 5xx and transport failures are *relay.RetryError with Retry-After;
// 401 and 403 are relay.ErrBadCredentials; 413, 400 and the rest are
// relay.ErrRejected. A token that is not a valid subscription is a dead
// token. A subscription whose endpoint host is not in Config.AllowedHosts
// (when set) is rejected without a request.
//
// A Sender is safe for concurrent use; VAPID tokens are cached per push
// service origin.
package webpush
