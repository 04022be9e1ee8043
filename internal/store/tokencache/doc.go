// Package tokencache shares expiring vendor credentials (APNs provider JWTs,
// FCM and HMS OAuth access tokens) across every instance of the cluster, so
// that each token is minted once per key, not once per process.
//
// Get looks in three places. A local copy is used while it is fresh and
// younger than LocalTTL. Otherwise the token is read from Redis. When Redis
// has none, or only one close to its expiry, Get takes a per-key lock with
// SET NX PX, looks at Redis again (another instance may have just finished),
// calls the refresh function, stores the new token in Redis with PX set to
// its remaining life, publishes the key on a channel so that other instances
// drop their local copy, and releases the lock if it still owns it (a
// compare-and-delete script). Callers that lose the race for the lock poll
// Redis with growing pauses until the winner's token appears, their context
// ends, or the lock expires because its holder died, at which point one of
// them takes it over. Within one process, concurrent Gets of one key share a
// single lookup.
//
// When Redis fails or does not answer within OpTimeout, Get refreshes on
// its own instead of failing: a push cannot wait for Redis, and a vendor
// tolerates one token per instance.
//
// A token counts as close to expiry when less than RefreshMargin of its life
// remains, or less than half of it for tokens issued with a life shorter
// than twice the margin. A refresh error is returned to the callers waiting
// for that lookup and is not stored anywhere: the next Get tries again.
//
// Redis keys: Prefix+key holds the token, Prefix+key+":lock" the lock.
// Values hold the issue and expiry times and the token; tokens are secrets
// and never logged.
//
// Notices sent while an instance has no subscription are lost: its
// connection broke, and the client is resubscribing. So every time Run's
// subscription starts (the Redis client resubscribes by itself after most
// failures, which shows only as a new subscription confirmation), the
// instance drops every local copy; push_store_tokencache_subscriptions_total
// counts those starts.
//
// Concurrency: all methods of Cache are safe for concurrent use. Run, which
// listens for other instances' refreshes, runs in one goroutine owned by
// the caller; without it local copies still expire after LocalTTL.
package tokencache
