package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaveTimeout bounds the delete of a connector's key on shutdown.
const leaveTimeout = 2 * time.Second

// Registration keeps one connector's key alive in the bucket. Its Run is
// the only method; run it once per connector.
type Registration struct {
	js   jetstream.JetStream
	node Node
	ttl  time.Duration
	log  *slog.Logger
}

// NewRegistration returns a Registration of node on js. ttl is the
// bucket's TTL if Run has to create the bucket, and sets the refresh
// period to ttl/3; it should match the MembershipConfig.TTL of the
// cluster. Default DefaultTTL, at least MinTTL. A nil log discards.
func NewRegistration(js jetstream.JetStream, node Node, ttl time.Duration, log *slog.Logger) *Registration {
	return &Registration{
		js:   js,
		node: node,
		ttl:  normTTL(ttl),
		log:  orNop(log).With("component", "dispatcher", "node_id", node.ID),
	}
}

// Run puts the node into the bucket (creating the bucket if it is
// missing) and puts it again every ttl/3, so that the key outlives the
// bucket's TTL only while Run runs. Failed puts are logged and retried at
// the next refresh. When ctx ends, Run deletes the key within a short
// deadline, unless another process has put the same node ID since (a
// restarted connector), and returns. It returns ErrInvalidNodeID for a
// node it cannot register, and a delete's error.
func (r *Registration) Run(ctx context.Context) error {
	key, err := nodeKey(r.node.ID)
	if err != nil {
		return fmt.Errorf("register connector: %w", err)
	}
	val, err := json.Marshal(r.node)
	if err != nil {
		return fmt.Errorf("register connector %s: %w", r.node.ID, err)
	}
	t := time.NewTicker(r.ttl / 3)
	defer t.Stop()
	var (
		kv  jetstream.KeyValue // nil until opened, and again after a failed put
		rev uint64             // of this process's last successful put, 0 if none
	)
	for {
		kv, rev = r.refresh(ctx, kv, key, val, rev)
		select {
		case <-ctx.Done():
			return r.leave(ctx, key, rev)
		case <-t.C:
		}
	}
}

// refresh puts the node once and returns the bucket to use next time (nil
// after a failure, so that a bucket deleted and recreated meanwhile is
// found again) and the revision of the latest successful put.
func (r *Registration) refresh(ctx context.Context, kv jetstream.KeyValue, key string, val []byte,
	rev uint64) (jetstream.KeyValue, uint64) {
	if kv == nil {
		var err error
		if kv, err = openBucket(ctx, r.js, r.ttl); err != nil {
			if ctx.Err() == nil {
				r.log.WarnContext(ctx, "connector registration failed", "error", err)
			}
			return nil, rev
		}
	}
	next, err := kv.Put(ctx, key, val)
	if err != nil {
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "connector registration failed", "error", err)
		}
		return nil, rev
	}
	if rev == 0 {
		r.log.InfoContext(ctx, "connector registered", "key", key, "ttl", r.ttl)
	}
	return kv, next
}

// leave deletes the key if it still holds this process's last put.
func (r *Registration) leave(ctx context.Context, key string, rev uint64) error {
	if rev == 0 {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	kv, err := r.js.KeyValue(dctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err == nil {
		err = kv.Delete(dctx, key, jetstream.LastRevision(rev))
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		r.log.InfoContext(dctx, "connector key taken over; not deleting it", "key", key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deregister connector %s: %w", r.node.ID, err)
	}
	r.log.InfoContext(dctx, "connector deregistered", "key", key)
	return nil
}
