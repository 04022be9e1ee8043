// Package engine runs the relay: it consumes the relay queue (package
// internal/relayq) and decides, for every target whose fallback check is
// due, whether it still needs its vendor channel; then it sends through the
// vendor, retries what the vendor could not take now, removes dead tokens,
// and records each target's outcome.
//
// Rules, in order, for a due fallback check: an acknowledged target is done;
// an expired one ends as expired; a device without a usable vendor channel
// (a token and the app's credential for that vendor) ends as no_channel;
// otherwise a send job goes to the vendor's queue. A send job whose target
// already has an outcome is dropped, so a job redelivered after a crash
// is not sent again once its outcome was recorded.
//
// Concurrency: Run consumes both queues with a pool of workers; sends
// through one app's credential for one vendor are bounded by
// Config.PerCredential. Jobs are acknowledged to JetStream only after their
// outcome is recorded or the job is rescheduled, so a crash redelivers them.
package engine
