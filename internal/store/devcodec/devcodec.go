// Package devcodec is the binary encoding of a device record: the Redis
// store keeps devices in it, an L0 cache holds them as they are, and the
// embedded store writes them in it. It decodes several times faster than
// the record's JSON, with fewer allocations.
package devcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// Version is the first byte of an encoded device.
const Version = 1

// ErrMalformed is the cause of every decoding error.
var ErrMalformed = errors.New("devcodec: malformed device encoding")

// Encode returns the binary encoding of d. Times keep nanoseconds and
// decode in UTC; an empty slice or map decodes as nil. Layout (version 1):
// the version byte; ID, AppID, Secret, Platform, Alias, Locale and TimeZone
// as uvarint-length-prefixed bytes; the tag count and the tags; the token
// count and the tokens as vendor, token pairs sorted by vendor; CreatedAt
// and LastSeen as a byte (0: zero time, 1: set) followed, when set, by
// varint Unix seconds and uvarint nanoseconds.
func Encode(d *store.Device) []byte {
	n := 1 + 7*binary.MaxVarintLen32 + len(d.ID) + len(d.AppID) + len(d.Secret) + len(d.Platform) +
		len(d.Alias) + len(d.Locale) + len(d.TimeZone) + 2*binary.MaxVarintLen32 + 2*(1+2*binary.MaxVarintLen64)
	for _, t := range d.Tags {
		n += binary.MaxVarintLen32 + len(t)
	}
	for k, v := range d.Tokens {
		n += 2*binary.MaxVarintLen32 + len(k) + len(v)
	}
	b := make([]byte, 1, n)
	b[0] = Version
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

// Decode decodes what Encode returned. It never panics; a
// malformed input is an error. The strings of the result share one copy of
// b, so a decode costs few allocations.
func Decode(b []byte) (*store.Device, error) {
	r := reader{s: string(b)}
	if v := r.byte(); v != Version {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, v)
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
		return nil, ErrMalformed
	}
	return d, nil
}

// reader consumes an encoding; after the first error every read returns
// zero values and err stays set.
type reader struct {
	s   string
	err error
}

func (r *reader) fail() { r.err, r.s = ErrMalformed, "" }

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
