// Package taskcontainer runs campaigns: pushes to every device of an app or
// to those with given tags, enumerated in pages, at a rate, from a send time, optionally at that
// wall-clock time in each device's own time zone, and able to pause, resume
// and be cancelled.
//
// A campaign is a store.Campaign. Starting or resuming one publishes a job
// (its id) to the JetStream work queue CAMPAIGNS; a Runner takes jobs from
// the queue, one campaign per job, and sends the campaign's pages through
// the gateway's REST API, one push of the page's devices each (acting for
// the app with the admin token). After each page it checkpoints the
// campaign (cursor, count, push ids) with a compare-and-set on the
// campaign's version, so a pause or a cancel written in between is seen
// there, and the runner stops. A runner that dies leaves its job unacked:
// JetStream hands it to another runner after the ack wait, which resumes
// from the last checkpoint. A page sent again after such a crash carries
// the same idempotency key, so the gateway answers with the push it
// already has.
//
// Local time: the send time's wall clock is read in each device's time
// zone (store.Device.TimeZone; UTC when it has none or an unknown one). The
// runner starts at the earliest such instant (UTC+14), enumerates the
// audience once, and sends each page as one push per distinct instant,
// scheduled (options.send_at) for the instants still ahead.
//
// Concurrency: a Runner handles up to Config.Workers jobs at once, each on
// its own goroutine; Run owns them all.
package taskcontainer
