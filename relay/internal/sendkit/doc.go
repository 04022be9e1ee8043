// Package sendkit is the plumbing the vendor senders under relay/ share: an
// access-token cache that refreshes once for all callers, the TTL a message
// has left, Retry-After parsing, bounded body reads, stable notification ids
// for collapse keys, and the mapping of transport failures and bare HTTP
// statuses onto the relay error contract.
//
// Concurrency: TokenCache is safe for concurrent use; the functions are pure.
package sendkit
