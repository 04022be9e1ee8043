package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KeepAlive tells JetStream every interval that m is still being worked
// on, so that it is not handed to another consumer after its ack wait,
// until the returned stop is called. Pass a third of the consumer's ack
// wait.
func KeepAlive(m jetstream.Msg, every time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m.InProgress() //nolint:errcheck // the worst case is a redelivery
			}
		}
	}()
	return func() { close(done) }
}
