package relayq

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// HeaderWake carries, on a message of fallback checks, the Unix
// milliseconds at which it is worth reading: when its checks are due (see
// Wake). A relay that receives the message earlier puts it back until
// then without decoding it.
const HeaderWake = "Mopush-Wake"

// DueSpread is how far apart the due times of a message's checks may be
// for all of them to wait for the last one: a message whose checks fall
// due within one second is handled once, when all are due.
const DueSpread = time.Second

// Wake returns when a message holding jobs should be handled: when the
// last is due if they are at most DueSpread apart, when the first is
// otherwise. jobs must not be empty.
func Wake(jobs []Job) time.Time {
	first, last := jobs[0].DueMs, jobs[0].DueMs
	for _, j := range jobs[1:] {
		first, last = min(first, j.DueMs), max(last, j.DueMs)
	}
	if time.Duration(last-first)*time.Millisecond <= DueSpread {
		return time.UnixMilli(last)
	}
	return time.UnixMilli(first)
}

// WakeOf reads HeaderWake; ok is false when it is missing or malformed.
func WakeOf(h nats.Header) (at time.Time, ok bool) {
	v := h.Get(HeaderWake)
	if v == "" {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > maxWakeMs {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// maxWakeMs bounds a believable wake time (year 9999).
const maxWakeMs = 253402300799999

func wakeHeader(jobs []Job) nats.Header {
	return nats.Header{HeaderWake: []string{strconv.FormatInt(Wake(jobs).UnixMilli(), 10)}}
}
