package node

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/mopush/mopush/internal/route"
)

// announcer publishes the gateway's own appends on route.AppendedSubject
// (gateway.Announcer). Core NATS, no JetStream: a connector that misses an
// announcement loses nothing, the message waits in the stream.
type announcer struct {
	nc  *nats.Conn
	log *slog.Logger
}

func (a announcer) Announce(ctx context.Context, ap route.Appended) {
	b, err := route.EncodeAppended(ap)
	if err == nil {
		err = a.nc.Publish(route.AppendedSubject, b)
	}
	if err != nil {
		a.log.WarnContext(ctx, "announcing the gateway's own appends failed", "push_id", ap.Message.PushID, "error", err)
	}
}

// followAppended hands every announcement of route.AppendedSubject to this
// node's connectors until ctx ends.
func (n *Node) followAppended(ctx context.Context) error {
	sub, err := n.bus.Conn.Subscribe(route.AppendedSubject, func(m *nats.Msg) {
		a, err := route.DecodeAppended(m.Data)
		if err != nil {
			n.log.WarnContext(ctx, "dropping a malformed appended announcement", "error", err)
			return
		}
		for _, u := range n.connectors {
			u.c.Appended(a)
		}
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	if err := sub.Unsubscribe(); err != nil {
		n.log.Debug("unsubscribe from appended announcements", "error", err)
	}
	return nil
}
