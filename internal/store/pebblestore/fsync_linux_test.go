package pebblestore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkFdatasync measures what a synced write costs the machine below
// the store: a 300-byte write followed by fdatasync, appending to a file
// (as a new WAL does) or overwriting blocks that exist (as a recycled one
// does). It reports the CPU time of the process per op (user and system,
// from getrusage), which is what a synced write adds to a push's server
// CPU, besides the wall time.
func BenchmarkFdatasync(b *testing.B) {
	for _, mode := range []string{"append", "overwrite"} {
		b.Run("mode="+mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "wal"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if mode == "overwrite" {
				if _, err := f.Write(make([]byte, 64<<20)); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			rec := make([]byte, 300)
			var off int64
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := f.WriteAt(rec, off); err != nil {
					b.Fatal(err)
				}
				off = (off + int64(len(rec))) % (64 << 20)
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
