package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// Key layout. Every key starts with a one-byte table tag. A part written
// lp(x) is x's length as a uvarint followed by its bytes, so an id can never
// run into the part after it; a part at the end of a key is written raw.
// Integers are big-endian, so keys sort in numeric order.
//
//	key                                        value
//	'a' app id                                 store.App, JSON
//	'k' app key                                app id (unique key index)
//	'd' device id                              store.Device, reccodec (JSON before)
//	'l' lp(app id) lp(alias) device id         empty (alias index)
//	'f' lp(app id) lp(tag) device id           empty (tag index)
//	'f' lp(app id) lp("") device id            empty (the app's devices)
//	's' lp(device id) 'h'                      stream head: epoch, head, first (3 × uint64)
//	's' lp(device id) 'm' seq (uint64)         store.Message, reccodec (JSON before)
//	's' lp(device id) 'o' seq (uint64)         store.Outcome (1 byte)
//	's' lp(device id) 'w' mark (1 byte)        watermark (uint64)
//	'p' push id                                store.Push without counts, reccodec (JSON before)
//	'j' lp(app id) push id                     empty (pushes of an app; ids sort by time)
//	'c' push id                                store.Counts, sparse (codec.go), merge operands
//	'x' push id                                empty (the push exists; a cheap check for counters)
//	'y' lp(push id) lp(device id) kind         empty (the device's open or click was counted)
//	'r' lp(app id) vendor                      sealed vendor credential
//	'q' push id                                empty (pending index; ids sort by time)
//	't' send at (uint64) push id               empty (scheduled index, by send time)
//	'z' push id                                empty (a scheduled push was cancelled)
//	'i' lp(app id) idempotency key             created at (unix ns, int64) + push id
//	'e' created at (uint64) lp(app id) key     empty (idempotency expiry queue)
//	'g' campaign id                            store.Campaign, JSON
//	'b' lp(app id) campaign id                 empty (campaigns of an app; ids sort by time)
//	'u' user id                                store.User, JSON
//	'v' email (normalised)                     user id (unique email index)
//	'm' name                                   empty (a marker of the database's state, see below)
//
// An engagement marker 'y' is written in the batch that merges its count
// into 'c' (engagements.go), so a report counts once per push, device and
// kind.
//
// The tag index holds one entry per tag of each device, kept in the batch
// that writes or deletes the device (devices.go). Databases written before
// it existed have devices without entries: the first Open that finds the
// marker 'm' "tag index" missing writes the entries of every stored device
// and then the marker (indexbuild.go), before it returns.
//
// The index of an app's devices is the tag index under the empty tag,
// which no device's tag can be: one entry per device, whatever its tags,
// kept in the same batches as the tag entries (devices.go). Databases
// written before it existed get the entries of every stored device the
// same way, at the first Open that finds the marker 'm' "app device
// index" missing (tags.go).
//
// The index of an app's pushes holds one entry per push, written in the
// batch that stores the push record (pushes.go) and never deleted, as
// pushes are not. Databases written before it existed get the entries of
// every stored push the same way, at the first Open that finds the marker
// 'm' "push index" missing (indexbuild.go, pushlist.go).
//
// A stream's head, messages and watermarks share the prefix 's' lp(device id),
// and 'h' < 'm' < 'w': one iterator over [prefix 'h', prefix 'n') sees a
// head and the messages it counts at one point in time.
//
// The records of the push path are binary (internal/store/reccodec):
// devices, which every handshake reads, and the stream messages and push
// records every push writes, at under half the size of their JSON and
// decoded several times faster. A value that starts with '{' is the JSON
// an earlier version wrote and is read as such. The hot fixed-size values
// (heads, watermarks, counters, idempotency entries) are binary too. The
// records written rarely (apps, campaigns, users) stay JSON (encoding/json),
// readable with a hex dump.
const (
	tagApp      = 'a'
	tagAppKey   = 'k'
	tagDevice   = 'd'
	tagAlias    = 'l'
	tagStream   = 's'
	tagPush     = 'p'
	tagCounts   = 'c'
	tagPushMark = 'x'
	tagPending  = 'q'
	tagIdem     = 'i'
	tagIdemExp  = 'e'
	tagCred     = 'r'
	tagCampaign = 'g'
	tagAppCamp  = 'b'
	tagUser     = 'u'
	tagEmail    = 'v'

	// tagScheduled keys a scheduled push by its send time (unix ns,
	// big-endian) and id; tagCancelled marks one cancelled.
	tagScheduled = 't'
	tagCancelled = 'z'

	// tagDeviceTag keys the tag index: an app's devices by tag. tagMeta
	// keys markers of the database's state.
	tagDeviceTag = 'f'
	tagMeta      = 'm'

	// tagEngaged keys the marker of an open or click a device reported
	// for a push and that was counted.
	tagEngaged = 'y'

	// tagAppPush keys the index of an app's pushes, by push id.
	tagAppPush = 'j'

	streamHead      = 'h'
	streamMsg       = 'm'
	streamMsgEnd    = 'n' // upper bound of head and messages
	streamOutcome   = 'o'
	streamWatermark = 'w'
)

// Batch.Set, Delete and DeleteRange on a batch that is not yet committed only
// record the operation and always return nil, so their results are not
// checked in this package.

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// readLP splits one lp(x) part off the front of b.
func readLP(b []byte) (string, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return "", nil, errors.New("pebblestore: malformed key")
	}
	return string(b[w : w+int(n)]), b[w+int(n):], nil
}

func tagged(tag byte, s string) []byte {
	return append([]byte{tag}, s...)
}

func appKey(id string) []byte       { return tagged(tagApp, id) }
func appKeyIndex(key string) []byte { return tagged(tagAppKey, key) }
func deviceKey(id string) []byte    { return tagged(tagDevice, id) }
func pushKey(id string) []byte      { return tagged(tagPush, id) }
func countsKey(id string) []byte    { return tagged(tagCounts, id) }
func pushMarkKey(id string) []byte  { return tagged(tagPushMark, id) }
func pendingKey(id string) []byte   { return tagged(tagPending, id) }
func cancelledKey(id string) []byte { return tagged(tagCancelled, id) }
func campaignKey(id string) []byte  { return tagged(tagCampaign, id) }
func userKey(id string) []byte      { return tagged(tagUser, id) }
func emailKey(email string) []byte  { return tagged(tagEmail, email) }

// appCampaignPrefix is the prefix of the index entries of an app's
// campaigns.
func appCampaignPrefix(appID string) []byte { return appendLP([]byte{tagAppCamp}, appID) }

func appCampaignKey(appID, campaignID string) []byte {
	return append(appCampaignPrefix(appID), campaignID...)
}

// appPushPrefix is the prefix of the index entries of an app's pushes;
// the push ids follow it in order.
func appPushPrefix(appID string) []byte { return appendLP([]byte{tagAppPush}, appID) }

// appPushKey is the index entry of push pushID of app appID, built in one
// allocation: it is written on every push's path.
func appPushKey(appID, pushID string) []byte {
	b := make([]byte, 1, 1+binary.MaxVarintLen64+len(appID)+len(pushID))
	b[0] = tagAppPush
	return append(appendLP(b, appID), pushID...)
}

// aliasPrefix is the prefix of every index entry of (appID, alias).
func aliasPrefix(appID, alias string) []byte {
	b := appendLP([]byte{tagAlias}, appID)
	return appendLP(b, alias)
}

func aliasKey(appID, alias, deviceID string) []byte {
	return append(aliasPrefix(appID, alias), deviceID...)
}

// tagPrefix is the prefix of every index entry of (appID, tag); the device
// ids follow it in order.
func tagPrefix(appID, tag string) []byte {
	b := appendLP([]byte{tagDeviceTag}, appID)
	return appendLP(b, tag)
}

func tagKey(appID, tag, deviceID string) []byte {
	return append(tagPrefix(appID, tag), deviceID...)
}

// appDevicePrefix is the prefix of the entries of every device of appID,
// in the tag index under the empty tag, which no device's tag can be
// (tags are not empty, and lp(tag) keeps the empty one apart from every
// other); the device ids follow it in order.
func appDevicePrefix(appID string) []byte { return tagPrefix(appID, "") }

// appDeviceKey is the entry of device deviceID of app appID in the
// index of an app's devices.
func appDeviceKey(appID, deviceID string) []byte { return tagKey(appID, "", deviceID) }

// engagedPrefix is the prefix of the engagement markers of (pushID,
// deviceID); the kind follows it.
func engagedPrefix(pushID, deviceID string) []byte {
	b := make([]byte, 1, 1+2*binary.MaxVarintLen64+len(pushID)+len(deviceID)+len("click"))
	b[0] = tagEngaged
	return appendLP(appendLP(b, pushID), deviceID)
}

func engagedKey(pushID, deviceID, kind string) []byte {
	return append(engagedPrefix(pushID, deviceID), kind...)
}

// metaKey is the key of the marker name.
func metaKey(name string) []byte { return tagged(tagMeta, name) }

// streamPrefix is the prefix of every key of a device's stream.
func streamPrefix(deviceID string) []byte {
	return appendLP(append(make([]byte, 0, len(deviceID)+12), tagStream), deviceID)
}

func streamKey(deviceID string, part byte) []byte {
	return append(streamPrefix(deviceID), part)
}

func msgKey(deviceID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(streamKey(deviceID, streamMsg), seq)
}

func outcomeKey(deviceID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(streamKey(deviceID, streamOutcome), seq)
}

func credPrefix(appID string) []byte { return appendLP([]byte{tagCred}, appID) }

func credKey(appID, vendor string) []byte { return append(credPrefix(appID), vendor...) }

func watermarkKey(deviceID string, mark store.Mark) ([]byte, error) {
	if mark != store.MarkSent && mark != store.MarkAcked {
		return nil, fmt.Errorf("pebblestore: unknown mark %d", mark)
	}
	return append(streamKey(deviceID, streamWatermark), byte(mark)), nil
}

func idemKey(appID, key string) []byte {
	return append(appendLP([]byte{tagIdem}, appID), key...)
}

func idemExpKey(created time.Time, appID, key string) []byte {
	b := binary.BigEndian.AppendUint64([]byte{tagIdemExp}, unixNano(created))
	return append(appendLP(b, appID), key...)
}

// scheduledKey is the scheduled index entry of push id, sent at sendAt;
// times before 1970 sort as 1970.
func scheduledKey(sendAt time.Time, id string) []byte {
	b := binary.BigEndian.AppendUint64([]byte{tagScheduled}, unixNano(sendAt))
	return append(b, id...)
}

// parseIdemExpKey returns the app id and idempotency key of an expiry entry.
func parseIdemExpKey(k []byte) (appID, key string, err error) {
	if len(k) < 9 || k[0] != tagIdemExp {
		return "", "", errors.New("pebblestore: malformed idempotency expiry key")
	}
	appID, rest, err := readLP(k[9:])
	return appID, string(rest), err
}

// unixNano is t as unsigned nanoseconds, with times before 1970 as 0.
func unixNano(t time.Time) uint64 {
	return uint64(max(t.UnixNano(), 0))
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
