package client

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// Pushes, and replay pages, that arrive together take one cumulative Ack,
// sent before the client waits for the network again; a push with only a
// control frame or a part of a frame behind it is acknowledged at once.
func TestPushesReadTogetherTakeOneAck(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	var acks []uint64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		_, ws, codec := serveHandshake(t, w, r, secret, true)
		if ws == nil {
			return
		}
		defer ws.Close()
		raw := ws.UnderlyingConn()
		ws.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // a client that waits fails the read
		push := func(seq uint64) []byte {
			b, err := codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Push{Push: &pb.Push{
				PushId: fmt.Sprintf("p%d", seq), Seq: seq, Epoch: 1}}})
			if err != nil {
				t.Errorf("seal: %v", err)
			}
			return wsconn.AppendFrame(nil, wsconn.OpBinary, b)
		}
		// step writes b in one write and waits for the client's next Ack.
		step := func(b []byte) bool {
			if _, err := raw.Write(b); err != nil {
				t.Errorf("write: %v", err)
				return false
			}
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					t.Errorf("read: %v", err)
					return false
				}
				f, err := codec.Open(msg)
				if err != nil {
					t.Errorf("open: %v", err)
					return false
				}
				if a := f.GetAck(); a != nil {
					acks = append(acks, a.Seq)
					return true
				}
			}
		}
		// Frames are sealed in the order they are sent.
		if !step(slices.Concat(push(1), push(2), push(3))) || // one write, one read
			!step(slices.Concat(push(4), wsconn.AppendFrame(nil, wsconn.OpPing, []byte("hb")))) {
			return
		}
		p5, p6 := push(5), push(6)
		if !step(slices.Concat(p5, p6[:len(p6)/2])) || !step(p6[len(p6)/2:]) {
			return
		}
		// The two pages of a replay sent together take one Ack.
		page := func(r *pb.SyncResponse) []byte {
			b, err := codec.Seal(nil, &pb.Frame{Body: &pb.Frame_SyncResponse{SyncResponse: r}})
			if err != nil {
				t.Errorf("seal: %v", err)
			}
			return wsconn.AppendFrame(nil, wsconn.OpBinary, b)
		}
		if !step(slices.Concat(
			page(&pb.SyncResponse{Epoch: 1, HeadSeq: 7, Pushes: []*pb.Push{{PushId: "p7", Seq: 7, Epoch: 1}}}),
			page(&pb.SyncResponse{Epoch: 1, Broadcast: true}))) {
			return
		}
		// An Error frame behind a push ends the session, after the Ack.
		p8 := push(8)
		e, err := codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Error{Error: &pb.Error{Code: 4500, Message: "internal"}}})
		if err != nil {
			t.Errorf("seal: %v", err)
			return
		}
		step(slices.Concat(p8, wsconn.AppendFrame(nil, wsconn.OpBinary, e)))
	}))
	t.Cleanup(srv.Close)

	var got []uint64
	c := New(Config{Server: "http://127.0.0.1:1", HTTP: &http.Client{}, OnPush: func(p Push) { got = append(got, p.Seq) }},
		State{DeviceID: "dev", Secret: secret})
	welcomed, _, err := c.session(t.Context(), &pb.Redirect{Url: "ws" + strings.TrimPrefix(srv.URL, "http")})
	<-done
	require.True(t, welcomed)
	var pe *sdkproto.PeerError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8}, got)
	// 3 and not 1: the first Ack covers the three pushes read together;
	// one 7 for the two pages.
	require.Equal(t, []uint64{3, 4, 5, 6, 7, 8}, acks)
}
