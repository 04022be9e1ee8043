// Package sendkit is the plumbing the vendor senders under relay/ share: an
// access-token cache that refreshes once for all callers (of the process,
// or of the cluster when it is backed by a SharedTokens), the TTL a message
// has left, Retry-After parsing, bounded body reads, stable notification ids
// for collapse keys, and the mapping of transport failures and bare HTTP
// statuses onto the relay error contract.
//
// Concurrency: TokenCache is safe for concurrent use; the functions are pure.
package sendkit
