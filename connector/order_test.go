package connector

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto/pb"
)

// nextPushes reads the next frame and returns the pushes it carries: a
// live push, or a page's.
func (s *rawSession) nextPushes(t *testing.T) []*pb.Push {
	t.Helper()
	fr := s.read(t)
	if p := fr.GetPush(); p != nil {
		return []*pb.Push{p}
	}
	return fr.GetSyncResponse().GetPushes()
}

// readSeqs reads until n pushes arrived and returns their seqs in order.
func (s *rawSession) readSeqs(t *testing.T, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for len(seqs) < n {
		for _, p := range s.nextPushes(t) {
			seqs = append(seqs, p.Seq)
		}
	}
	return seqs
}

// A message queued for a session, then a later one whose offer finds a gap
// and asks for a catch-up: the queued message is written before the
// catch-up's, so the device reads the stream in order. Written after
// them, it would be dropped by the device as already delivered (its seq
// below the last one seen), and, acknowledged by the later Acks, lost
// without a trace.
func TestQueuedMessageGoesBeforeACatchUp(t *testing.T) {
	f := newFixture(t, Config{})
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	s := f.c.hub.get(id)
	require.NotNil(t, s)

	ctx := context.Background()
	msgs := make([]store.Message, 3)
	var epoch uint64
	for i := range msgs {
		msgs[i] = store.Message{PushID: string(rune('a' + i)), Body: "b"}
		pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: id, Message: msgs[i]}})
		require.NoError(t, err)
		msgs[i].Seq, epoch = pos[0].Seq, pos[0].Epoch
	}
	// The interleaving of three concurrent deliveries: seq 1 offered and
	// queued, seq 3 offered before seq 2, each with its writes left to
	// the caller (as Deliver does).
	var later []*session
	require.Equal(t, offerQueued, s.offerOwn(msgs[0], epoch, &later))
	require.Equal(t, offerLater, s.offerOwn(msgs[2], epoch, &later))
	writeOut(later)

	require.Equal(t, []uint64{1, 2, 3}, dev.readSeqs(t, 3))
}

// Many deliveries to a few devices at once, as gateways' routing workers
// make them: every device reads every message once, in stream order.
func TestConcurrentDeliveriesArriveInOrder(t *testing.T) {
	const devices, perDevice, senders = 4, 150, 8
	f := newFixture(t, Config{SendQueue: 4 * perDevice})
	type dev struct {
		id string
		s  *rawSession
	}
	ds := make([]dev, devices)
	for i := range ds {
		id, secret := f.device()
		ds[i] = dev{id: id, s: f.connect(id, secret)}
		ds[i].s.synced(t)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for k := w; k < perDevice; k += senders {
				ids := make([]string, devices)
				for i, d := range ds {
					ids[i] = d.id
				}
				_, err := f.c.Deliver(ctx, route.Batch{Message: store.Message{PushID: fmt.Sprint("p", k), Body: "b"}, DeviceIDs: ids})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for _, d := range ds {
		seqs := d.s.readSeqs(t, perDevice)
		for i, seq := range seqs {
			require.Equal(t, uint64(i+1), seq, "device %s read %v", d.id, seqs)
		}
	}
	wg.Wait()
}

// Deliveries go on while the device drops its connection and connects
// again with the position it read to: across both sessions it reads every
// message once, in order.
func TestConcurrentDeliveriesAcrossAReconnect(t *testing.T) {
	const total, senders = 200, 4
	f := newFixture(t, Config{SendQueue: 4 * total})
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for k := w; k < total; k += senders {
				if _, err := f.c.Deliver(ctx, route.Batch{Message: store.Message{PushID: fmt.Sprint("p", k)}, DeviceIDs: []string{id}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var seqs []uint64
	var epoch uint64
	read := func(s *rawSession, until int) {
		for len(seqs) < until {
			for _, p := range s.nextPushes(t) {
				seqs, epoch = append(seqs, p.Seq), p.Epoch
			}
		}
	}
	read(dev, total/3)
	dev.ws.Close()
	ws, codec, _ := clientConnectWith(t, f.url, id, secret, false, &pb.Hello{Epoch: epoch, LastSeq: seqs[len(seqs)-1]})
	t.Cleanup(func() { ws.Close() })
	again := &rawSession{ws: ws, codec: codec}
	require.NotNil(t, again.read(t).GetWelcome())
	read(again, total)
	wg.Wait()
	for i, seq := range seqs {
		require.Equal(t, uint64(i+1), seq, "read %v", seqs)
	}
}

// Deliveries and app broadcasts to the same sessions at once: each device
// reads its own stream and the broadcast stream each once and in order.
func TestDeliveriesAndBroadcastsInterleaved(t *testing.T) {
	const devices, own, broadcasts, senders = 3, 90, 30, 4
	f := newFixture(t, Config{SendQueue: 4 * (own + broadcasts)})
	ids := make([]string, devices)
	sessions := make([]*rawSession, devices)
	for i := range ids {
		id, secret := f.device()
		ids[i], sessions[i] = id, f.connect(id, secret)
		sessions[i].synced(t)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for k := w; k < own; k += senders {
				if _, err := f.c.Deliver(ctx, route.Batch{Message: store.Message{PushID: fmt.Sprint("p", k)}, DeviceIDs: ids}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for k := range broadcasts {
			msg := store.Message{PushID: fmt.Sprint("b", k)}
			pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"), Message: msg}})
			if err != nil {
				t.Error(err)
				return
			}
			msg.Seq = pos[0].Seq
			if _, err := f.c.Broadcast(ctx, route.Broadcast{AppID: "app", Message: msg, Epoch: pos[0].Epoch}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i, s := range sessions {
		var mine, all []uint64
		for len(mine) < own || len(all) < broadcasts {
			for _, p := range s.nextPushes(t) {
				if p.Broadcast {
					all = append(all, p.Seq)
				} else {
					mine = append(mine, p.Seq)
				}
			}
		}
		for k, seq := range mine {
			require.Equal(t, uint64(k+1), seq, "device %d, own stream: %v", i, mine)
		}
		for k, seq := range all {
			require.Equal(t, uint64(k+1), seq, "device %d, broadcast stream: %v", i, all)
		}
	}
	wg.Wait()
}
