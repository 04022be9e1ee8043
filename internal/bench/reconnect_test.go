package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A scrape answered late must not inflate the handshake rate: the counter
// is timed by its own scrape, the CPU by its /proc reading.
func TestPeaksTimeEachFigureByItsOwnReading(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := serverSample{proc: ProcSample{At: t0, CPU: 0, WriteBytes: 0}, scraped: t0.Add(5 * time.Millisecond), handshakes: 100}
	// The next /proc reading is 100 ms later, but its scrape is answered
	// 400 ms after the one before: 400 handshakes in 400 ms.
	cur := serverSample{proc: ProcSample{At: t0.Add(100 * time.Millisecond), CPU: 50 * time.Millisecond, WriteBytes: 2e5},
		scraped: t0.Add(405 * time.Millisecond), handshakes: 500}
	var pk peaks
	pk.add(prev, cur)
	require.InDelta(t, 1000, pk.handshakes, 1e-6, "400 handshakes in 400 ms, not in 100 ms")
	require.InDelta(t, 0.5, pk.cpu, 1e-9)
	require.InDelta(t, 2, pk.writeMB, 1e-9)

	// A slower window does not lower a peak; a restarted server's counter
	// (lower than before) does not count.
	next := serverSample{proc: ProcSample{At: t0.Add(200 * time.Millisecond), CPU: 60 * time.Millisecond, WriteBytes: 2e5},
		scraped: t0.Add(505 * time.Millisecond), handshakes: 10}
	pk.add(cur, next)
	require.InDelta(t, 1000, pk.handshakes, 1e-6)
	require.InDelta(t, 0.5, pk.cpu, 1e-9)

	// Samples with no time between them are skipped, not divided by zero.
	pk.add(next, next)
	require.InDelta(t, 1000, pk.handshakes, 1e-6)
}
