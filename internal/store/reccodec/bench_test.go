package reccodec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkRecords encodes and decodes a unicast push's stream message
// and push record, as the embedded store writes and reads them, in this
// package's encoding and in the JSON it replaced there.
func BenchmarkRecords(b *testing.B) {
	m, p := testMessages()[1], testPushes()[1]
	b.Run("message/binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, err := DecodeMessage(EncodeMessage(&m))
			require.NoError(b, err)
		}
	})
	b.Run("message/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := json.Marshal(&m)
			require.NoError(b, err)
			var got = m
			require.NoError(b, json.Unmarshal(v, &got))
		}
	})
	b.Run("push/binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, err := DecodePush(EncodePush(p))
			require.NoError(b, err)
		}
	})
	b.Run("push/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := json.Marshal(p)
			require.NoError(b, err)
			got := *p
			require.NoError(b, json.Unmarshal(v, &got))
		}
	})
}
