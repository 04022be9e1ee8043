package redisstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mopush/mopush/internal/store"
)

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
