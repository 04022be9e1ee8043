package redisstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// deviceCodecV1 is the first byte of an encoded device.
const deviceCodecV1 = 1

// EncodeDevice returns the binary encoding of d that the store keeps in
// Redis and that an L0 cache can hold as it is. Times keep nanoseconds and
// decode in UTC; an empty slice or map decodes as nil. Layout (version 1):
// the version byte; ID, AppID, Secret, Platform, Alias, Locale and TimeZone
// as uvarint-length-prefixed bytes; the tag count and the tags; the token
// count and the tokens as vendor, token pairs sorted by vendor; CreatedAt
// and LastSeen as a byte (0: zero time, 1: set) followed, when set, by
// varint Unix seconds and uvarint nanoseconds.
func EncodeDevice(d *store.Device) []byte {
	n := 1 + 7*binary.MaxVarintLen32 + len(d.ID) + len(d.AppID) + len(d.Secret) + len(d.Platform) +
		len(d.Alias) + len(d.Locale) + len(d.TimeZone) + 2*binary.MaxVarintLen32 + 2*(1+2*binary.MaxVarintLen64)
	for _, t := range d.Tags {
		n += binary.MaxVarintLen32 + len(t)
	}
	for k, v := range d.Tokens {
		n += 2*binary.MaxVarintLen32 + len(k) + len(v)
	}
	b := make([]byte, 1, n)
	b[0] = deviceCodecV1
	for _, s := range []string{d.ID, d.AppID, string(d.Secret), d.Platform, d.Alias, d.Locale, d.TimeZone} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(d.Tags)))
	for _, t := range d.Tags {
		b = appendString(b, t)
	}
	vendors := make([]string, 0, len(d.Tokens))
	for k := range d.Tokens {
		vendors = append(vendors, k)
	}
	slices.Sort(vendors)
	b = binary.AppendUvarint(b, uint64(len(vendors)))
	for _, k := range vendors {
		b = appendString(appendString(b, k), d.Tokens[k])
	}
	return appendTime(appendTime(b, d.CreatedAt), d.LastSeen)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// DecodeDevice decodes what EncodeDevice returned. It never panics; a
// malformed input is an error. The strings of the result share one copy of
// b, so a decode costs few allocations.
func DecodeDevice(b []byte) (*store.Device, error) {
	r := reader{s: string(b)}
	if v := r.byte(); v != deviceCodecV1 {
		return nil, fmt.Errorf("%w: device encoding version %d", errBadReply, v)
	}
	d := &store.Device{}
	d.ID, d.AppID = r.string(), r.string()
	if secret := r.string(); secret != "" {
		d.Secret = []byte(secret)
	}
	d.Platform, d.Alias, d.Locale, d.TimeZone = r.string(), r.string(), r.string(), r.string()
	if n := r.count(); n > 0 {
		d.Tags = make([]string, n)
		for i := range d.Tags {
			d.Tags[i] = r.string()
		}
	}
	if n := r.count(); n > 0 {
		d.Tokens = make(map[string]string, n)
		for range n {
			k := r.string()
			d.Tokens[k] = r.string()
		}
	}
	d.CreatedAt, d.LastSeen = r.time(), r.time()
	if r.err != nil || len(r.s) != 0 {
		return nil, fmt.Errorf("%w: malformed device encoding", errBadReply)
	}
	return d, nil
}

// reader consumes an encoding; after the first error every read returns
// zero values and err stays set.
type reader struct {
	s   string
	err error
}

func (r *reader) fail() { r.err, r.s = errBadReply, "" }

func (r *reader) byte() byte {
	if len(r.s) == 0 {
		r.fail()
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}

// uvarint reads what binary.AppendUvarint wrote.
func (r *reader) uvarint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return v
		}
	}
	r.fail()
	return 0
}

// count reads a count of items that take at least one byte each.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) string() string {
	n := r.count()
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func (r *reader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
	default:
		r.fail()
		return time.Time{}
	}
	u := r.uvarint()
	sec := int64(u >> 1) // zig-zag, as binary.AppendVarint writes
	if u&1 != 0 {
		sec = ^sec
	}
	nsec := r.uvarint()
	if r.err != nil || nsec >= 1e9 {
		r.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// encodeMessage returns a message as the list holds it: its expiry in Unix
// microseconds (empty for none), '|', and its JSON with Seq left 0 (the
// sequence number follows from the position in the list).
func encodeMessage(m store.Message) (string, error) {
	m.Seq = 0
	j, err := json.Marshal(&m)
	if err != nil {
		return "", fmt.Errorf("redisstore: encode message: %w", err)
	}
	var b strings.Builder
	b.Grow(len(j) + 18)
	if !m.ExpiresAt.IsZero() {
		b.WriteString(strconv.FormatInt(m.ExpiresAt.UnixMicro(), 10))
	}
	b.WriteByte('|')
	b.Write(j)
	return b.String(), nil
}

// decodeMessage decodes the JSON part of a message (the scripts strip the
// expiry) and gives it its sequence number.
func decodeMessage(j []byte, seq uint64) (store.Message, error) {
	var m store.Message
	if err := json.Unmarshal(j, &m); err != nil {
		return m, fmt.Errorf("%w: decode message %d: %v", errBadReply, seq, err)
	}
	m.Seq = seq
	return m, nil
}
