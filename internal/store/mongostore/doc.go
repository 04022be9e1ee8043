// Package mongostore is the MongoDB backend of the data layer's business
// data: apps with their settings, their sealed vendor credentials, pushes
// with their counters (opens and clicks counted once per device included),
// pending list, per-app listing and idempotency keys, campaigns, portal
// users, and devices with their alias and tag indexes. It implements
// store.Apps, store.Credentials, store.Pushes, store.Engagements,
// store.Campaigns, store.Users, store.Devices, store.TagIndex and
// store.PushLister with the official driver
// (go.mongodb.org/mongo-driver/v2). Per-device streams and per-target
// outcomes are device state, which stays with the stores built for it
// (Aerospike, Pebble).
//
// # Collections
//
//   - apps: one document per app with its settings, _id is the app id; a
//     unique index on key.
//   - credentials: one document per app and vendor holding the sealed
//     credential; an index on app_id.
//   - pushes: one document per push, _id is the push id (time-ordered, so
//     sorting by _id is sorting by age). The field idem is unique: for a push
//     without an idempotency key it is derived from the id, for one with a key
//     it names the app, the key and a generation (see below). The field
//     state is pending, done, scheduled or cancelled; a scheduled push has
//     send_at, its send time. An index on (state, _id) serves the pending
//     list, one on (state, send_at, _id) DuePushes, one on (app_id, _id)
//     PushIDsByApp.
//   - push_counts: counter deltas, in CountDeltas mode only (see CountMode),
//     and one document per open or click counted, _id push id/kind/device
//     id, whose unique _id counts each device's report once (see
//     CountEngagement).
//   - devices: one document per device, _id is the device id; an index on
//     (app_id, alias) serves DeviceIDsByAlias, a multikey one on (app_id,
//     tags, _id) DeviceIDsByTags (tags is the device's array of tags), one
//     on (app_id, _id) DeviceIDsByApp.
//   - campaigns: one document per campaign, _id is the campaign id
//     (time-ordered); an index on (app_id, _id) serves CampaignsByApp. A
//     version field serves compare-and-set (see below).
//   - users: one document per portal user, _id is the user id; a unique
//     index on email, which is kept in lower case. A version field serves
//     compare-and-set.
//
// Maps (notification data, vendor tokens) are stored as arrays of {k, v}
// pairs, so that keys with dots or dollar signs are safe on every server.
//
// # What it does not use
//
// The project's test server is FerretDB 1.24 on SQLite, which has no TTL
// indexes, transactions or change streams, and which applies updates as
// read-modify-write of the whole document: two concurrent updates of one
// document can lose one of them, $inc included. So:
//
//   - Idempotency keys expire by comparing their stored creation time with
//     Config.Now, never by TTL.
//   - Claiming an idempotency key is an insert, never an update: a key's
//     holder is the push with the highest generation of that key, and a new
//     holder takes over a lapsed key by inserting the next generation, which
//     the unique index on idem lets only one caller do. Nothing rewrites an
//     existing push except FinishPush and EndSchedule, which set its
//     state.
//   - Counters are $inc on the push document on MongoDB, where that is
//     atomic; on FerretDB each AddCounts inserts a delta document and Push
//     sums them on the client (CountMode, detected at Open from buildInfo).
//     FerretDB 1.24 lost 943 of 1000 concurrent $inc in the conformance
//     suite, and its $group computes only the first of several $sum
//     accumulators, so the sum is not an aggregation.
//   - An open or click counts once per push, device and kind through the
//     insert of a document with a deterministic _id, never a filtered
//     update: on FerretDB that document is the delta itself; on MongoDB
//     a $inc follows it, and a crash between the two loses that one count
//     (see CountEngagement).
//   - PutDevices writes devices as replace-upserts in one unordered bulk
//     write, never $inc or $set on a stored device. On FerretDB it sends
//     them 16 at a time: its SQLite backend keeps a pooled connection for
//     each update of a command that matched a document until the command
//     ends, so a command that replaces about 100 devices never finishes.
//   - UpdateDevice and ReplaceDevices replace a device only while it has
//     the revision read (a random number every write gives it); on FerretDB
//     they filter by _id alone under the store's record locks, which every
//     device write holds there (see casFilter).
//   - UpdateCampaign and UpdateUser are compare-and-set: they replace the
//     document with the filter {_id, version}, which MongoDB matches and
//     replaces in one atomic step. On FerretDB two such replacements from
//     one version can both match, so when Open finds FerretDB the store
//     also holds a mutex per record id (256 stripes) around each read,
//     compare and replace. On FerretDB compare-and-set is therefore exact
//     only between callers in one process; two processes updating one
//     campaign or user at once can both succeed and one update is lost.
//     FerretDB does check the unique email index in the same step as the
//     write, so emails stay unique across processes; it reports a
//     violation by an update as an InternalError, which the store maps to
//     store.ErrConflict like a duplicate key.
//   - EndSchedule sets a push's state with the filter {_id, state:
//     scheduled}, so that of a start and a cancel at once one matches. On
//     FerretDB both could match, so the store holds the push's record lock
//     around it there; like compare-and-set, that is exact between callers
//     in one process only.
//
// FerretDB 1.24 on SQLite runs only an equality filter on _id in SQL (and
// the project's FerretDB tool indexes the expression that filter uses; see
// tools/ferretdb/idindex.go); every other query (by app key, alias, tag,
// idempotency key, pending state, due pushes, an app's pushes, a user's
// email, an app's campaigns) reads the whole collection. The indexes above serve MongoDB;
// against FerretDB those queries slow down as collections grow, which is
// fine for tests and a laptop but not for production data.
//
// # Errors
//
// A missing record is store.ErrNotFound, a taken id, key, email or
// idempotency generation and a stale version are store.ErrConflict, and a server that cannot be reached, a
// network error or an operation that ran out of Config.Timeout is
// store.ErrUnavailable (the driver's error stays in the chain). Calls after
// Close fail with ErrClosed, which wraps store.ErrUnavailable.
//
// # Concurrency and connections
//
// A Store is safe for concurrent use. It holds one driver client whose pool
// keeps at most Config.MaxPoolSize connections per server. Every operation
// borrows a connection from the pool only while its command is on the wire
// and returns it at once; nothing holds a connection between operations.
//
// Session is the per-request view of a Store (DESIGN: lazy proxy sessions):
// it holds no connection, so thousands of requests can have a session open
// while a handful of connections serve them. A Session is safe for
// concurrent use; its Close is idempotent, and calls after it fail with
// ErrSessionClosed.
//
// The package starts no goroutines of its own; the driver's monitoring and
// pool goroutines stop in Close.
package mongostore
