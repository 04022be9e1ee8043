package reccodec

import (
	"encoding/binary"

	"github.com/mopush/mopush/internal/store"
)

// MessageVersion is the first byte of an encoded stream message.
const MessageVersion = 1

// EncodeMessage returns the binary encoding of m. Layout (version 1): the
// version byte; Seq as a uvarint; PushID, Title and Body as
// uvarint-length-prefixed bytes; the data count and its key, value pairs
// sorted by key; SentAt and ExpiresAt as devices' times are.
func EncodeMessage(m *store.Message) []byte {
	n := len(m.PushID) + len(m.Title) + len(m.Body)
	for k, v := range m.Data {
		n += len(k) + len(v)
	}
	b := make([]byte, 1, 1+stringsLen(n, 4+2*len(m.Data))+2*timeLen)
	b[0] = MessageVersion
	b = binary.AppendUvarint(b, m.Seq)
	b = appendString(appendString(appendString(b, m.PushID), m.Title), m.Body)
	b = appendPairs(b, m.Data)
	return appendTime(appendTime(b, m.SentAt), m.ExpiresAt)
}

// DecodeMessage decodes what EncodeMessage returned. It never panics; a
// malformed input is an error.
func DecodeMessage(b []byte) (store.Message, error) {
	r, err := newReader(b, "message", MessageVersion)
	if err != nil {
		return store.Message{}, err
	}
	m := store.Message{Seq: r.uvarint()}
	m.PushID, m.Title, m.Body = r.string(), r.string(), r.string()
	m.Data = r.pairs()
	m.SentAt, m.ExpiresAt = r.time(), r.time()
	if r.err != nil || len(r.s) != 0 {
		return store.Message{}, ErrMalformed
	}
	return m, nil
}
