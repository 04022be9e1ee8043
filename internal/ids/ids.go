// Package ids makes identifiers and secrets: time-ordered ids for pushes and
// devices, and random secrets.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// crockford is the base32 alphabet without I, L, O, U; lexical order matches
// numeric order.
var enc = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// MaxLen bounds the length of an id that outside input names (a push id
// in a report or a query): ids made here are 26 characters, and a longer
// string is refused before any store is asked.
const MaxLen = 64

// New returns a 26-character id whose first 10 characters encode the current
// millisecond, so ids sort by creation time; the rest is random.
func New() string { return At(time.Now()) }

// At returns an id for the given time.
func At(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	rand.Read(b[6:]) //nolint:errcheck // never fails
	return enc.EncodeToString(b[:])
}

// Time returns the millisecond an id of New or At was made at; false for a
// string that is no such id.
func Time(id string) (time.Time, bool) {
	if len(id) != 26 {
		return time.Time{}, false
	}
	b, err := enc.DecodeString(id)
	if err != nil || len(b) != 16 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(b[:8]) >> 16)), true
}

// Secret returns n random bytes.
func Secret(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails
	return b
}

// Token returns a random url-safe string carrying n random bytes.
func Token(n int) string {
	return enc.EncodeToString(Secret(n))
}
