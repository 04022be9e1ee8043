// Package aerostore is the Aerospike backend of the data layer's device
// state: devices with their alias index, per-device message streams with
// their watermarks, and per-target outcomes. It implements store.Devices,
// store.Streams and store.Outcomes with the official client
// (github.com/aerospike/aerospike-client-go/v7), without UDFs: every
// operation that must be atomic is one Operate (or one BatchOperate entry)
// on one record, which the server applies under that record's lock.
//
// # Records
//
// Three sets in Config.Namespace, each name after Config.SetPrefix:
//
//   - devices, key device id: bins dev (the device, encoded by this
//     package), app, alias and tok (see PutDevice).
//   - aliases, key aliasKey(app id, alias): bin ids, a map device id ->
//     token. The index is a superset of the truth; DeviceIDsByAlias checks
//     it against the devices.
//   - streams, key device id: bins epoch, seq (the head), msgs (a list of
//     the retained messages, oldest first, each encoded by this package),
//     sent and acked (watermarks) and out (a key-ordered map seq ->
//     outcome). A message's sequence number is its position: the list
//     holds seq-len+1 .. seq.
//
// A record holds at most the namespace's max-record-size (write-block-size
// before server 7.0), 1 MiB by default. A stream keeps at most
// Config.MaxStreamLen messages; when an append would make the record too
// big, it is retried keeping half as many older messages, down to the
// messages of that append alone, which fail with ErrRecordTooBig if they do
// not fit either. With the defaults (1000 messages, 1 MiB) a stream keeps
// all 1000 while messages average under about 1 KiB encoded.
//
// # Server requirements
//
// Aerospike server 6.0 or later (batch writes; expressions in operations
// need 5.6). The namespace must exist; its default-ttl applies to every
// record, and a stream record that expires is a lost stream: the next
// append starts a new epoch, as the store.Streams contract allows.
//
// # Errors
//
// A missing record is store.ErrNotFound where the interfaces ask for it; a
// cluster that cannot be reached, an operation that ran out of time and an
// overloaded node are store.ErrUnavailable, with the client's error kept in
// the chain. Calls after Close fail with ErrClosed, which wraps
// store.ErrUnavailable.
//
// # Concurrency
//
// A Store is safe for concurrent use; it holds no lock of its own. The
// client keeps a pool of connections per node and one tend goroutine for
// the cluster map, which Close stops; an operation takes a connection only
// while its command is on the wire. Appends to one device are serialised
// by the server's record lock; appends to different devices run in
// parallel, and one Append that names several devices sends one batch
// that every node serves at once. PutDevice is a read-modify-write with a
// generation check that retries when another writer comes first.
//
// The client's calls take no context: every call sets the client's total
// and socket timeouts to Config.Timeout or the time left before ctx's
// deadline, whichever is sooner, and fails at once when ctx is done before
// it starts. A context canceled while a command is on the wire does not
// interrupt it; the command ends within its timeout.
//
// Writes are not retried by the client: a write whose answer was lost may
// or may not have been applied, and fails with store.ErrUnavailable. A
// caller that retries an Append may then append a message twice, which
// at-least-once delivery allows (message ids let the SDK drop duplicates).
package aerostore
