// Package webpushfake is a local Web Push service (RFC 8030): it hands out
// subscriptions as a browser would, takes push messages at their
// endpoints, checks VAPID authentication (RFC 8292) and the TTL, Urgency
// and Topic headers, and decrypts every message (RFC 8291, aes128gcm of
// RFC 8188) with the subscription's private key.
//
// Create one with New, make subscriptions with NewSubscription (the JSON a
// browser's PushSubscription.toJSON gives) and send to them with an HTTP
// client that trusts the fake (Client). Unsubscribe makes an endpoint
// answer 410 Gone. Script failures with FailNext and FailToken, keyed by
// the endpoint URL; Fault.Status is the status to answer. Read what was
// accepted, decrypted, with Received. A Server is safe for concurrent use.
package webpushfake
