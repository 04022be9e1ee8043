package connector

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// benchFleet is n devices of one app connected to a connector; each
// reader counts the pushes it opens.
type benchFleet struct {
	c      *Connector
	st     *pebblestore.Store
	ids    []string
	pushes atomic.Int64
	synced atomic.Int64 // devices whose initial replay (both streams) arrived
}

func newBenchFleet(b *testing.B, n int) *benchFleet {
	b.Helper()
	c, st, url := startConnector(b, Config{SendQueue: 1024})
	ctx := context.Background()
	f := &benchFleet{c: c, st: st}
	var readers sync.WaitGroup
	var conns []*websocket.Conn
	for range n {
		id, secret := ids.New(), ids.Secret(32)
		require.NoError(b, st.PutDevice(ctx, &store.Device{ID: id, AppID: "bench", Secret: secret}))
		ws, codec, _ := clientConnect(b, url, id, secret, true)
		conns = append(conns, ws)
		f.ids = append(f.ids, id)
		readers.Go(func() {
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					return
				}
				fr, err := codec.Open(msg)
				if err != nil {
					return
				}
				if fr.GetPush() != nil {
					f.pushes.Add(1)
				} else if sr := fr.GetSyncResponse(); sr != nil {
					f.pushes.Add(int64(len(sr.Pushes)))
					if sr.Broadcast && !sr.More {
						f.synced.Add(1) // the replay's last page: the broadcast stream's
					}
				}
			}
		})
	}
	b.Cleanup(func() { // before startConnector's
		for _, ws := range conns {
			ws.Close()
		}
		readers.Wait()
	})
	// A broadcast appended before a new session read the broadcast
	// stream's head is one from before the device joined, which it does
	// not get: wait until every device has its replay.
	deadline := time.Now().Add(30 * time.Second)
	for f.synced.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.EqualValues(b, n, f.synced.Load(), "devices synced")
	require.Equal(b, n, c.Sessions())
	return f
}

// clientConnect dials url and runs a device's handshake up to the Hello;
// the Welcome is the caller's to read. With early set the ClientHello goes
// with the upgrade request, as the SDK sends it; otherwise it is the first
// message, as from a client that predates early hellos.
func clientConnect(tb testing.TB, url, id string, secret []byte, early bool) (*websocket.Conn, *sdkproto.Codec, *sdkproto.ClientHandshake) {
	tb.Helper()
	return clientConnectWith(tb, url, id, secret, early, &pb.Hello{})
}

// clientConnectWith is clientConnect with the Hello's fields (its proof
// aside) given.
func clientConnectWith(tb testing.TB, url, id string, secret []byte, early bool, h *pb.Hello) (*websocket.Conn, *sdkproto.Codec, *sdkproto.ClientHandshake) {
	tb.Helper()
	hs, ch, err := sdkproto.NewClientHandshake(id, secret)
	require.NoError(tb, err)
	d := websocket.Dialer{Subprotocols: []string{sdkproto.Subprotocol}}
	if early {
		d.Subprotocols = sdkproto.EarlyHelloProtocols(ch)
	}
	ws, _, err := d.Dial(url, nil)
	require.NoError(tb, err, url)
	if ws.Subprotocol() != sdkproto.SubprotocolEarlyHello {
		require.NoError(tb, ws.WriteMessage(websocket.BinaryMessage, ch))
	}
	_, sh, err := ws.ReadMessage()
	require.NoError(tb, err)
	codec, hello, err := hs.Finish(sh, h)
	require.NoError(tb, err)
	require.NoError(tb, ws.WriteMessage(websocket.BinaryMessage, hello))
	return ws, codec, hs
}

// waitPushes waits until the fleet has opened want pushes.
func (f *benchFleet) waitPushes(b *testing.B, want int64) {
	deadline := time.Now().Add(60 * time.Second)
	for f.pushes.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("received %d of %d pushes", f.pushes.Load(), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkHubBroadcast measures one app broadcast written to every
// session: encode once, seal and write per session (the store append is
// not included: the gateway does it once per broadcast). Its CPU per
// message includes the devices' side, which runs in the same process.
func BenchmarkHubBroadcast(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			f := newBenchFleet(b, n)
			ctx := context.Background()
			sent := int64(0)
			broadcast := func() {
				msg := store.Message{PushID: ids.New(), Title: "all", Body: "of you", SentAt: time.Now()}
				pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("bench"), Message: msg}})
				require.NoError(b, err)
				msg.Seq = pos[0].Seq
				_, err = f.c.Broadcast(ctx, route.Broadcast{AppID: "bench", Message: msg, Epoch: pos[0].Epoch})
				require.NoError(b, err)
				sent += int64(n)
				f.waitPushes(b, sent)
			}
			broadcast() // sessions learn the stream's epoch through a catch-up
			start, cpu0 := time.Now(), processCPU()
			for b.Loop() {
				broadcast()
			}
			msgs := float64(sent - int64(n))
			b.ReportMetric(msgs/time.Since(start).Seconds(), "msgs/s")
			// The devices' reading and opening run in this process too.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/msgs, "cpu-µs/msg")
		})
	}
}

// BenchmarkDeliverBatch measures Deliver of one message to a batch of
// connected devices: the durable append to each stream and the write to
// each live session.
func BenchmarkDeliverBatch(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("devices=%d", n), func(b *testing.B) {
			f := newBenchFleet(b, n)
			ctx := context.Background()
			sent := int64(0)
			start := time.Now()
			for b.Loop() {
				msg := store.Message{PushID: ids.New(), Title: "t", Body: "b", SentAt: time.Now()}
				res, err := f.c.Deliver(ctx, route.Batch{Message: msg, DeviceIDs: f.ids})
				require.NoError(b, err)
				require.Equal(b, route.Written, res[0].Status)
				sent += int64(n)
				f.waitPushes(b, sent)
			}
			b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkConnect measures a device connect: the WebSocket upgrade, the
// handshake, the Welcome and the initial replay (a page of each stream),
// then the close, with the ClientHello in the upgrade request (early, as
// the SDK connects) or as the first message. The devices' side runs in the
// same process, so its CPU per connect counts both sides.
func BenchmarkConnect(b *testing.B) {
	for _, early := range []bool{true, false} {
		name := "hello=message"
		if early {
			name = "hello=early"
		}
		b.Run(name, func(b *testing.B) {
			_, st, url := startConnector(b, Config{})
			ctx := context.Background()
			// A device connects again only long after its last session
			// closed, so that no connect replaces a session.
			devs := make([]*store.Device, 256)
			for i := range devs {
				devs[i] = &store.Device{ID: ids.New(), AppID: "bench", Secret: ids.Secret(32)}
			}
			require.NoError(b, st.PutDevices(ctx, devs))
			n := 0
			start, cpu0 := time.Now(), processCPU()
			for b.Loop() {
				d := devs[n%len(devs)]
				n++
				ws, codec, _ := clientConnect(b, url, d.ID, d.Secret, early)
				s := &rawSession{ws: ws, codec: codec}
				require.NotNil(b, s.read(b).GetWelcome())
				s.synced(b)
				ws.Close()
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "connects/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/connect")
		})
	}
}
