// Package pebblestore is the embedded backend of the data layer: one Pebble
// database on local disk that holds apps, devices and their alias and tag
// indexes, per-device message streams with their watermarks, pushes with
// their counters, per-app index, pending list, scheduled index,
// idempotency keys and the markers of the opens and clicks counted,
// campaigns with their per-app index, and portal users with their email
// index. It stands in for Redis,
// Aerospike and MongoDB when mopush runs on one machine.
//
// # What it owns
//
// A Store owns its database directory (Config.Dir) for as long as it is
// open; pebble's lock file keeps a second process out. The key layout is in
// keys.go. The package starts no goroutines of its own; pebble's background
// flushes and compactions stop in Close.
//
// # Concurrency
//
// Every method is safe for concurrent use. There is no lock over the whole
// store while data is written:
//
//   - Read-modify-write sequences on one record (a stream head, a device and
//     its alias and tag entries, an app id and key, a push and its
//     idempotency key, a push's state, which FinishPush and EndSchedule
//     move, a campaign, a user and the email it takes) hold striped
//     mutexes: 256 stripes chosen by hashing the record's id, always taken
//     in ascending order, so callers never deadlock. A stripe is held until
//     the write is committed, which serialises appends to one device and
//     keeps their sequence numbers contiguous.
//   - Writes to different records commit at the same time, and pebble joins
//     concurrent synced batches into one WAL fsync (group commit), so many
//     devices appended to at once cost far fewer fsyncs than appends.
//   - Reads take no stripes. A stream read uses one iterator, which sees the
//     head and the messages at one point in time; a read of the tag index
//     reads all its tags from one snapshot.
//   - UpdateCampaign and UpdateUser are compare-and-set on the record's
//     version: the stripe is held from the read of the stored version to
//     the commit, so of concurrent updates from one version exactly one
//     succeeds. A user's email is unique through an index entry email -> id
//     written in the same batch as the user, under the stripe of the email
//     (see users.go).
//   - A push's state is which index holds it: the scheduled index (by send
//     time), the pending list, or neither (done, or cancelled: a marker).
//     EndSchedule checks and moves a scheduled push in one batch under the
//     push's stripe, so of concurrent calls exactly one moves it.
//   - Counters are merge operands summed by pebble (see newCountsMerger):
//     AddCounts neither reads nor locks.
//   - CountEngagement reads a marker of the push, device and kind and,
//     when it is missing, writes it and the count in one batch, under the
//     stripe of the push and device: of concurrent reports of one kind,
//     exactly one counts.
//   - Close waits for calls in flight; calls after Close return ErrClosed.
//
// # Durability
//
// CreateApp, PutDevice, PutDevices, Append, CreatePush, EndSchedule and
// every write of campaigns and users return after their batch is fsynced;
// PutDevices writes all its devices in one batch. AddCounts,
// CountEngagement, Advance, FinishPush and the deletion of lapsed
// idempotency keys commit without fsync: a crash or power cut may lose
// their last moments, so counters may read a little low (an engagement
// lost with its marker counts when it is reported again), a watermark may
// move back and cover some messages again, and a finished push may be
// routed again, which at-least-once delivery allows (see FinishPush).
// A clean Close syncs everything.
//
// Devices, stream messages and push records are stored in the binary
// encodings of internal/store/reccodec (JSON written by earlier versions is
// still read), counters sparse (codec.go), heads and watermarks as
// fixed-size big-endian integers, and the records written rarely (apps,
// campaigns, users) as JSON. keys.go has the whole layout.
package pebblestore
