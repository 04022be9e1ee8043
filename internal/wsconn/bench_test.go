package wsconn

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkUpgradeHead reads and checks a device connect's head with an
// early hello, as the connector's listener does (parser=own: ParseHead
// and AcceptHead), and as the HTTP server did before it (parser=net/http:
// a 4 KB bufio.Reader, http.ReadRequest and checkRequest).
func BenchmarkUpgradeHead(b *testing.B) {
	head := []byte(strings.Replace(connectHead, "mopush.v1, chat",
		"mopush.v1.hello, mopush.v1, mopush.hello."+strings.Repeat("A", 150), 1))
	b.Run("parser=own", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, n, err := ParseHead(head)
			if err != nil || n != len(head) {
				b.Fatal(n, err)
			}
			if _, err := AcceptHead(&h, testSubprotocol); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parser=net/http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(head), 4096))
			if err != nil {
				b.Fatal(err)
			}
			key, bad := checkRequest(r)
			if bad != nil {
				b.Fatal(bad)
			}
			_ = appendResponse(make([]byte, 0, 192), key, testSubprotocol)
		}
	})
}

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
