package reccodec

import (
	"bytes"

	"github.com/mopush/mopush/internal/store"
)

// DeviceVersion is the first byte of an encoded device.
const DeviceVersion = 1

// SameDevice reports whether a and b hold the same device: their
// encodings, which order tokens by vendor, are equal. nil is the same only
// as nil.
func SameDevice(a, b *store.Device) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(EncodeDevice(a), EncodeDevice(b))
}

// EncodeDevice returns the binary encoding of d. Times keep nanoseconds and
// decode in UTC; an empty slice or map decodes as nil. Layout (version 1):
// the version byte; ID, AppID, Secret, Platform, Alias, Locale and TimeZone
// as uvarint-length-prefixed bytes; the tag count and the tags; the token
// count and the tokens as vendor, token pairs sorted by vendor; CreatedAt
// and LastSeen as a byte (0: zero time, 1: set) followed, when set, by
// varint Unix seconds and uvarint nanoseconds.
func EncodeDevice(d *store.Device) []byte {
	strs, n := []string{d.ID, d.AppID, string(d.Secret), d.Platform, d.Alias, d.Locale, d.TimeZone}, 0
	for _, s := range strs {
		n += len(s)
	}
	for _, t := range d.Tags {
		n += len(t)
	}
	for k, v := range d.Tokens {
		n += len(k) + len(v)
	}
	b := make([]byte, 1, 1+stringsLen(n, len(strs)+len(d.Tags)+2*len(d.Tokens)+2)+2*timeLen)
	b[0] = DeviceVersion
	for _, s := range strs {
		b = appendString(b, s)
	}
	b = appendPairs(appendList(b, d.Tags), d.Tokens)
	return appendTime(appendTime(b, d.CreatedAt), d.LastSeen)
}

// DecodeDevice decodes what EncodeDevice returned. It never panics; a
// malformed input is an error. The strings of the result share one copy of
// b, so a decode costs few allocations.
func DecodeDevice(b []byte) (*store.Device, error) {
	r, err := newReader(b, "device", DeviceVersion)
	if err != nil {
		return nil, err
	}
	d := &store.Device{}
	d.ID, d.AppID = r.string(), r.string()
	if secret := r.string(); secret != "" {
		d.Secret = []byte(secret)
	}
	d.Platform, d.Alias, d.Locale, d.TimeZone = r.string(), r.string(), r.string(), r.string()
	d.Tags, d.Tokens = r.list(), r.pairs()
	d.CreatedAt, d.LastSeen = r.time(), r.time()
	if r.err != nil || len(r.s) != 0 {
		return nil, ErrMalformed
	}
	return d, nil
}
