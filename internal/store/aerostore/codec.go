package aerostore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// Record encoding. Messages and devices are stored as blobs in a compact
// binary format of this package, so that a stream of a thousand messages
// stays far below the record size limit and every field survives exactly:
//
//	message: version (1) | flags | lp(push id) | lp(title) | lp(body)
//	         | pairs(data) | [varint sent at ms] | [varint expires at ms]
//	device:  version (1) | flags | lp(id) | lp(app id) | lp(secret)
//	         | lp(platform) | lp(alias) | list(tags) | lp(locale)
//	         | lp(time zone) | pairs(tokens) | [varint created at ms]
//	         | [varint last seen ms]
//
// lp(x) is x's length as a uvarint followed by its bytes; list(x) is a
// uvarint count followed by lp of each item; pairs(m) is a uvarint count
// followed by lp(key) lp(value) of each entry, keys sorted and unique.
// flags says which times follow (a zero time is left out). Times are Unix
// milliseconds, the precision every backend keeps, and decode in UTC. A
// message's sequence number is not stored: it follows from its position in
// the stream (see streams.go).
const (
	codecVersion = 1

	flagFirstTime  = 1 << 0 // sent at, created at
	flagSecondTime = 1 << 1 // expires at, last seen
	flagsKnown     = flagFirstTime | flagSecondTime
)

// errMalformed is the cause of every decoding error.
var errMalformed = errors.New("malformed record")

// encodeMessage encodes m without its sequence number.
func encodeMessage(m *store.Message) []byte {
	b := make([]byte, 0, 32+len(m.PushID)+len(m.Title)+len(m.Body)+pairsLen(m.Data))
	b = append(b, codecVersion, timeFlags(m.SentAt, m.ExpiresAt))
	b = appendLP(b, m.PushID)
	b = appendLP(b, m.Title)
	b = appendLP(b, m.Body)
	b = appendPairs(b, m.Data)
	b = appendTime(b, m.SentAt)
	return appendTime(b, m.ExpiresAt)
}

// decodeMessage decodes a message encoded by encodeMessage; its Seq is
// left zero. Data read from the database goes through here, so it checks
// everything and never panics.
func decodeMessage(b []byte) (store.Message, error) {
	var m store.Message
	r := reader{b: b}
	flags := r.header()
	m.PushID = r.str()
	m.Title = r.str()
	m.Body = r.str()
	m.Data = r.pairs()
	m.SentAt = r.time(flags&flagFirstTime != 0)
	m.ExpiresAt = r.time(flags&flagSecondTime != 0)
	if err := r.done(); err != nil {
		return store.Message{}, fmt.Errorf("aerostore: decode message: %w", err)
	}
	return m, nil
}

// encodeDevice encodes d.
func encodeDevice(d *store.Device) []byte {
	b := make([]byte, 0, 64+len(d.ID)+len(d.AppID)+len(d.Secret)+pairsLen(d.Tokens))
	b = append(b, codecVersion, timeFlags(d.CreatedAt, d.LastSeen))
	b = appendLP(b, d.ID)
	b = appendLP(b, d.AppID)
	b = appendLP(b, string(d.Secret))
	b = appendLP(b, d.Platform)
	b = appendLP(b, d.Alias)
	b = binary.AppendUvarint(b, uint64(len(d.Tags)))
	for _, t := range d.Tags {
		b = appendLP(b, t)
	}
	b = appendLP(b, d.Locale)
	b = appendLP(b, d.TimeZone)
	b = appendPairs(b, d.Tokens)
	b = appendTime(b, d.CreatedAt)
	return appendTime(b, d.LastSeen)
}

// decodeDevice decodes a device encoded by encodeDevice. Empty secrets,
// tags and tokens decode as nil.
func decodeDevice(b []byte) (*store.Device, error) {
	d := &store.Device{}
	r := reader{b: b}
	flags := r.header()
	d.ID = r.str()
	d.AppID = r.str()
	if s := r.str(); s != "" {
		d.Secret = []byte(s)
	}
	d.Platform = r.str()
	d.Alias = r.str()
	d.Tags = r.list()
	d.Locale = r.str()
	d.TimeZone = r.str()
	d.Tokens = r.pairs()
	d.CreatedAt = r.time(flags&flagFirstTime != 0)
	d.LastSeen = r.time(flags&flagSecondTime != 0)
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("aerostore: decode device: %w", err)
	}
	return d, nil
}

func timeFlags(first, second time.Time) byte {
	var f byte
	if !first.IsZero() {
		f |= flagFirstTime
	}
	if !second.IsZero() {
		f |= flagSecondTime
	}
	return f
}

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPairs(b []byte, m map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = appendLP(b, k)
		b = appendLP(b, m[k])
	}
	return b
}

func pairsLen(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v) + 4
	}
	return n
}

// appendTime appends t as Unix milliseconds, nothing for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return binary.AppendVarint(b, t.UnixMilli())
}

// reader decodes the parts of an encoded record. The first error sticks:
// every later read returns a zero value, and done reports it.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errMalformed, what)
	}
}

// header reads the version and the flags.
func (r *reader) header() byte {
	if len(r.b) < 2 {
		r.fail("short header")
		return 0
	}
	if r.b[0] != codecVersion {
		r.fail(fmt.Sprintf("version %d", r.b[0]))
		return 0
	}
	flags := r.b[1]
	if flags&^flagsKnown != 0 {
		r.fail(fmt.Sprintf("flags %#x", flags))
		return 0
	}
	r.b = r.b[2:]
	return flags
}

// count reads a uvarint count of items that each take at least size
// bytes, so a bogus count cannot make the caller allocate more than the
// input.
func (r *reader) count(size int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/size) {
		r.fail("count past the end")
		return 0
	}
	return int(n)
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// list reads list(x); an empty list is nil.
func (r *reader) list() []string {
	n := r.count(1)
	if n == 0 || r.err != nil {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.str())
	}
	if r.err != nil {
		return nil
	}
	return out
}

// pairs reads pairs(m); an empty map is nil. Keys must be sorted and
// unique, as appendPairs writes them.
func (r *reader) pairs() map[string]string {
	n := r.count(2)
	if n == 0 || r.err != nil {
		return nil
	}
	m := make(map[string]string, n)
	prev := ""
	for i := range n {
		k, v := r.str(), r.str()
		if r.err != nil {
			return nil
		}
		if i > 0 && k <= prev {
			r.fail("keys out of order")
			return nil
		}
		m[k], prev = v, k
	}
	return m
}

// time reads a time if present says it was written.
func (r *reader) time(present bool) time.Time {
	if !present || r.err != nil {
		return time.Time{}
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return time.Time{}
	}
	r.b = r.b[n:]
	return time.UnixMilli(v).UTC()
}

// done returns the first error, or an error when bytes are left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return r.err
}

// Values read from the database come back as the client's Go types; these
// helpers accept what the client produces and reject anything else.

// toInt returns an integer bin or result. ok is false for nil and for
// values of other types.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// toUint returns a non-negative integer bin or result; nil is 0.
func toUint(v any) (uint64, error) {
	if v == nil {
		return 0, nil
	}
	n, ok := toInt(v)
	if !ok || n < 0 {
		return 0, fmt.Errorf("aerostore: %w: want a non-negative integer, got %T", errMalformed, v)
	}
	return uint64(n), nil
}

// toBlobs returns a list of blobs; nil is an empty list.
func toBlobs(v any) ([][]byte, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("aerostore: %w: want a list, got %T", errMalformed, v)
	}
	out := make([][]byte, len(list))
	for i, e := range list {
		b, ok := e.([]byte)
		if !ok {
			return nil, fmt.Errorf("aerostore: %w: list item %d is %T, not a blob", errMalformed, i, e)
		}
		out[i] = b
	}
	return out, nil
}
