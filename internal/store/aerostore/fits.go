package aerostore

import "sync"

// A stream record has a size limit (the namespace's max-record-size, 1 MiB
// by default). An append that would take the record over it fails, and
// Append tries again keeping fewer messages. Without a memory of that, every
// later append to the same device would fail the same way first: a round
// trip and a backoff per halving, for every push to a device whose stream
// holds big messages. fits remembers, per device, how many messages its
// record held after the last append that had to keep fewer than
// Config.MaxStreamLen, and the next append starts there. Message sizes
// change, so every probeEvery-th append to such a device tries an eighth
// more, and falls back to the remembered count if that does not fit.
const (
	probeEvery = 32
	// maxFits bounds the devices remembered; when full, the memory starts
	// over (those devices then find their count again).
	maxFits = 1 << 16
)

// fit is what fits remembers of one device.
type fit struct {
	keep    int // messages the record held after its last append
	appends int // appends since the count was last probed
}

// fits is the memory of the counts that fit, safe for concurrent use.
type fits struct {
	mu sync.Mutex
	m  map[string]fit
}

// start returns how many messages an append to device should keep, of at
// most max, and the count known to fit (0 when none is known).
func (f *fits) start(device string, max int) (keep, known int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft, ok := f.m[device]
	if !ok || ft.keep >= max {
		return max, 0
	}
	ft.appends++
	f.m[device] = ft
	if ft.appends%probeEvery == 0 {
		return min(max, ft.keep+ft.keep/8+1), ft.keep
	}
	return ft.keep, ft.keep
}

// record remembers that an append to device kept keep messages, of at most
// max: a device whose record holds max is forgotten.
func (f *fits) record(device string, keep, max int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if keep >= max {
		delete(f.m, device)
		return
	}
	ft, ok := f.m[device]
	if !ok && len(f.m) >= maxFits {
		clear(f.m)
	}
	ft.keep = keep
	f.m[device] = ft
}
