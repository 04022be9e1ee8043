package connector

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// A session that sends nothing for two heartbeats is closed as stale by
// the shared sweep; one that pings on time stays.
func TestSilentSessionIsStale(t *testing.T) {
	f := newFixture(t, Config{Heartbeat: 200 * time.Millisecond})
	silentID, silentSecret := f.device()
	liveID, liveSecret := f.device()
	silent := f.connect(silentID, silentSecret)
	live := f.connect(liveID, liveSecret)
	live.synced(t)
	stop := make(chan struct{})
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 200; i++ { // bounded: 10 s at most
			select {
			case <-stop:
				return
			case <-tick.C:
				b, err := live.codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 1}}})
				if err != nil || live.ws.WriteMessage(websocket.BinaryMessage, b) != nil {
					return
				}
			}
		}
	}()
	require.Equal(t, int(sdkproto.CodeStale), closeCode(t, silent.ws))
	close(stop)
	<-pinged
	require.True(t, f.c.hub.get(liveID) != nil, "the pinging session is still live")
	// The session leaves the hub just after its socket closes.
	deadline := time.Now().Add(10 * time.Second)
	for f.c.hub.get(silentID) != nil {
		require.True(t, time.Now().Before(deadline), "the stale session never left the hub")
		time.Sleep(time.Millisecond)
	}
}

// WebSocket pings are answered with pongs carrying their payload.
func TestWebSocketPing(t *testing.T) {
	f := newFixture(t, Config{})
	id, secret := f.device()
	s := f.connect(id, secret)
	s.synced(t)
	got := make(chan string, 1)
	s.ws.SetPongHandler(func(data string) error { got <- data; return nil })
	require.NoError(t, s.ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)))
	go func() {
		s.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		s.ws.ReadMessage() //nolint:errcheck // runs the pong handler; ends with the test
	}()
	select {
	case data := <-got:
		require.Equal(t, "are you there", data)
	case <-time.After(10 * time.Second):
		t.Fatal("no pong")
	}
}

// Frames that arrive a byte at a time, and several frames in one write,
// are each handled once and in order.
func TestFramesSplitAndJoined(t *testing.T) {
	f := newFixture(t, Config{})
	id, secret := f.device()
	s := f.connect(id, secret)
	s.synced(t)
	raw := s.ws.NetConn()
	var joined []byte
	for i := range 3 {
		b, err := s.codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: int64(i + 1)}}})
		require.NoError(t, err)
		joined = append(joined, clientFrame(b)...)
	}
	// The first frame byte by byte, the rest in one write.
	first := len(joined) / 3
	for i := range first {
		_, err := raw.Write(joined[i : i+1])
		require.NoError(t, err)
	}
	_, err := raw.Write(joined[first:])
	require.NoError(t, err)
	for i := range 3 {
		require.Equal(t, int64(i+1), s.read(t).GetPong().GetTimeMs())
	}
}

// clientFrame frames payload as a masked binary client frame.
func clientFrame(payload []byte) []byte {
	mask := [4]byte{1, 2, 3, 4}
	b := wsconn.AppendHeader(nil, wsconn.OpBinary, len(payload))
	b[1] |= 0x80
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}
