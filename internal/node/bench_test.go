package node

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/sdkproto/client"
)

// fleet is a set of connected devices that record push latency, measured
// from just before the REST call to the SDK's OnPush.
type fleet struct {
	ids  []string
	devs []*device
	mu   sync.Mutex
	lat  []time.Duration
	got  chan struct{}
}

func newFleet(b *testing.B, n *Node, app appCreds, size int) *fleet {
	f := &fleet{got: make(chan struct{}, 1<<16)}
	for range size {
		d := &device{t: b, ready: make(chan struct{})}
		d.c = client.New(client.Config{
			Server: n.URL(), AppKey: app.key,
			HTTP: &http.Client{Timeout: 30 * time.Second},
			OnPush: func(p client.Push) {
				sent, err := strconv.ParseInt(p.Data["t"], 10, 64)
				if err == nil {
					f.mu.Lock()
					f.lat = append(f.lat, time.Since(time.Unix(0, sent)))
					f.mu.Unlock()
				}
				f.got <- struct{}{}
			},
			OnEvent: func(e client.Event) {
				if e.Kind == client.EventSynced {
					d.once.Do(func() { close(d.ready) })
				}
			},
		}, client.State{})
		d.register("")
		d.start()
		f.devs = append(f.devs, d)
		f.ids = append(f.ids, d.id())
	}
	for _, d := range f.devs {
		d.waitReady()
	}
	b.Cleanup(func() {
		for _, d := range f.devs {
			d.cancel()
			<-d.done
		}
	})
	return f
}

func (f *fleet) reset() {
	f.mu.Lock()
	f.lat = f.lat[:0]
	f.mu.Unlock()
}

// percentile returns the p-th percentile of the recorded latencies.
func (f *fleet) percentile(p float64) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lat) == 0 {
		return 0
	}
	s := slices.Clone(f.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func pushBody(id string) map[string]any {
	return map[string]any{
		"audience":     toDevices(id),
		"notification": map[string]any{"title": "bench", "data": map[string]string{"t": strconv.FormatInt(time.Now().UnixNano(), 10)}},
	}
}

// BenchmarkPush measures REST push to device receive with 1,000 connected
// devices: senders=1 gives the unloaded latency, senders=32 the throughput.
func BenchmarkPush(b *testing.B) {
	for _, senders := range []int{1, 32} {
		b.Run(fmt.Sprintf("devices=1000/senders=%d", senders), func(b *testing.B) {
			n := startNode(b, Options{})
			a := api{t: b, base: n.URL()}
			app := a.createApp(n.AdminToken(), "bench")
			f := newFleet(b, n, app, 1000)
			f.reset()
			b.ResetTimer()
			start := time.Now()
			var sent sync.WaitGroup
			work := make(chan struct{})
			for range senders {
				sent.Go(func() {
					for range work {
						a.push(app, pushBody(f.ids[rand.IntN(len(f.ids))]))
					}
				})
			}
			count := 0
			for b.Loop() {
				work <- struct{}{}
				count++
			}
			close(work)
			sent.Wait()
			for range count {
				select {
				case <-f.got:
				case <-time.After(30 * time.Second):
					b.Fatal("push not received")
				}
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(count)/elapsed.Seconds(), "pushes/s")
			b.ReportMetric(float64(f.percentile(0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(f.percentile(0.99).Microseconds())/1000, "p99-ms")
			require.Equal(b, count, len(f.lat))
		})
	}
}
