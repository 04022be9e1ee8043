package wsconn

import (
	"fmt"
	"testing"
)

func BenchmarkDecode(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			// Decoding unmasks in place, so every round flips the payload;
			// the header, all Decode looks at, stays the same.
			frame := clientFrame(true, OpBinary, repeat(size))
			var d Decoder
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				m, n, err := d.Decode(frame)
				if err != nil || n != len(frame) || len(m.Payload) != size {
					b.Fatalf("Decode = %v, %d, %v", m.Op, n, err)
				}
			}
		})
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			payload := repeat(size)
			out := make([]byte, 0, MaxHeaderLen+size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				out = AppendFrame(out[:0], OpBinary, payload)
			}
			if len(out) <= size {
				b.Fatalf("frame of %d bytes", len(out))
			}
		})
	}
}
