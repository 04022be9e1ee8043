package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"

	"github.com/mopush/mopush/internal/capmap"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/cache"
	"github.com/mopush/mopush/internal/store/shard"
)

var (
	_ store.Devices  = (*Store)(nil)
	_ store.Streams  = (*Store)(nil)
	_ store.Outcomes = (*Store)(nil)
)

// Store is the Redis backend of store.Devices, store.Streams and
// store.Outcomes over one or more shards. Build it with Open. Its methods
// are safe for concurrent use.
type Store struct {
	cfg    Config
	ring   *shard.Ring
	shards []*shardConn
	sc     scripts
	log    *slog.Logger
	m      *metrics // nil without a registerer
	// appended is the last position this store appended at in each
	// device's stream, at most maxAppended of them.
	appended *capmap.Map[string, store.Position]
	closed   atomic.Bool
}

// maxAppended bounds the positions a store remembers to tell a stream that
// went back: 40 bytes and a device id each.
const maxAppended = 1 << 16

// shardConn is the client of one shard.
type shardConn struct {
	name string
	rdb  rueidis.Client // instrumented when metrics are on
	raw  rueidis.Client
}

// Open connects to every shard in cfg.Addrs at once and checks each with a
// PING. When a shard cannot be reached within cfg.DialTimeout it fails with
// an error wrapping store.ErrUnavailable and leaves no connection open.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ring, err := shard.New(cfg.Names, cfg.VNodes)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	s := &Store{cfg: cfg, ring: ring, shards: make([]*shardConn, len(cfg.Addrs)), sc: newScripts(),
		log: cfg.Logger.With("component", "redisstore"), appended: capmap.New[string, store.Position](maxAppended)}
	errs := make([]error, len(cfg.Addrs))
	var wg sync.WaitGroup
	for i := range cfg.Addrs {
		wg.Go(func() { s.shards[i], errs[i] = s.connect(ctx, i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.closeClients()
		return nil, err
	}
	if cfg.CheckPersistence {
		for _, sc := range s.shards {
			s.checkPersistence(ctx, sc)
		}
	}
	m, err := newMetrics(cfg.Registerer, cfg.Name)
	if err != nil {
		s.closeClients()
		return nil, err
	}
	s.m = m
	for _, sc := range s.shards {
		sc.rdb = m.instrument(sc.raw, sc.name)
	}
	return s, nil
}

// UnixDial returns the rueidis dial function for a shard address that is
// a unix socket path (it starts with "/"), or nil for host:port, which
// rueidis dials over TCP itself.
func UnixDial(addr string) func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
	if !strings.HasPrefix(addr, "/") {
		return nil
	}
	return func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
		return d.DialContext(ctx, "unix", addr)
	}
}

// connect opens the client of shard i and pings it.
func (s *Store) connect(ctx context.Context, i int) (*shardConn, error) {
	addr, name := s.cfg.Addrs[i], s.cfg.Names[i]
	opt := rueidis.ClientOption{
		InitAddress:  []string{addr},
		Dialer:       net.Dialer{Timeout: s.cfg.DialTimeout},
		ClientName:   "mopush",
		DisableRetry: true, // a failed shard degrades; it is not waited for
		DisableCache: s.cfg.Invalidator == nil,
	}
	if s.cfg.Invalidator != nil {
		// OPTOUT tracks every read without a CLIENT CACHING YES before it,
		// so plain pipelined GETs are tracked on whichever connection
		// rueidis picks for them, and a Redis Cluster client can pipeline
		// them across slots. rueidis's own cache stays empty: the store
		// never calls DoCache (see the package doc).
		opt.ClientTrackingOptions = []string{"OPTOUT"}
		opt.OnInvalidations = cache.InvalidationHook(s.cfg.Invalidator)
	}
	opt.DialCtxFn = UnixDial(addr)
	rdb, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redisstore: connect to shard %s: %w: %w", name, store.ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	if err := rdb.Do(ctx, rdb.B().Ping().Build()).Error(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redisstore: ping shard %s: %w: %w", name, store.ErrUnavailable, err)
	}
	return &shardConn{name: name, rdb: rdb, raw: rdb}, nil
}

// checkPersistence warns when a shard can lose writes it acknowledged: a
// restart that loses a stream's newest messages keeps the stream's epoch and
// numbers the next messages as those lost ones were, so a device that read
// the lost ones takes the new ones for messages it has and skips them. A
// server that refuses CONFIG (renamed or disabled, as managed services do)
// is not checked.
func (s *Store) checkPersistence(ctx context.Context, sc *shardConn) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	got, err := sc.raw.Do(ctx, sc.raw.B().ConfigGet().Parameter("appendonly", "appendfsync").Build()).AsStrMap()
	if err != nil {
		s.log.InfoContext(ctx, "persistence not checked: CONFIG GET refused", "shard", sc.name, "error", err)
		return
	}
	if got["appendonly"] == "yes" && got["appendfsync"] == "always" {
		return
	}
	s.log.WarnContext(ctx, "redis shard can lose acknowledged stream appends on a restart or failover; "+
		"devices that read lost messages then skip the ones numbered after them: run it with appendonly yes and appendfsync always",
		"shard", sc.name, "appendonly", got["appendonly"], "appendfsync", got["appendfsync"])
}

// Close closes the connections. Calls after Close return ErrClosed; Close
// itself is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.closeClients()
	return nil
}

func (s *Store) closeClients() {
	for _, sc := range s.shards {
		if sc != nil {
			sc.raw.Close()
		}
	}
}

// Shards returns the names of the shards, by index.
func (s *Store) Shards() []string {
	out := make([]string, s.ring.Len())
	for i := range out {
		out[i] = s.ring.Name(i)
	}
	return out
}

// ShardOf returns the name of the shard that holds a device's keys.
func (s *Store) ShardOf(deviceID string) string {
	return s.ring.Name(s.ring.Locate(deviceID))
}

// conn returns the client of the shard that holds a device's keys.
func (s *Store) conn(deviceID string) *shardConn {
	return s.shards[s.ring.Locate(deviceID)]
}

// errBadReply marks a reply the store cannot decode: corrupt data, not an
// unreachable shard.
var errBadReply = errors.New("unexpected reply")

// do runs fn against sc with the round-trip timeout and classifies its
// error: the caller's context ending, a Redis or data error, or (anything
// else) the shard being unavailable.
func (s *Store) do(ctx context.Context, op string, sc *shardConn, fn func(ctx context.Context) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	tctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err := fn(tctx)
	switch {
	case err == nil:
		return nil
	case s.closed.Load():
		return ErrClosed
	case ctx.Err() != nil:
		return fmt.Errorf("redisstore: %s: %w", op, ctx.Err())
	case isRedisErr(err), errors.Is(err, errBadReply):
		return fmt.Errorf("redisstore: %s on shard %s: %w", op, sc.name, err)
	}
	return fmt.Errorf("redisstore: %s on shard %s: %w: %w", op, sc.name, store.ErrUnavailable, err)
}

func isRedisErr(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re)
}

// fan splits positions 0..n-1 by the shard of key(i), runs fn once per
// shard at once, each under the round-trip timeout, and returns nil or a
// *ShardError naming the shards that failed.
func (s *Store) fan(ctx context.Context, op string, n int, key func(i int) string,
	fn func(ctx context.Context, sc *shardConn, pos []int) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	groups := s.ring.Split(n, key)
	errs := shard.Fan(ctx, groups, func(ctx context.Context, i int, pos []int) error {
		sc := s.shards[i]
		return s.do(ctx, op, sc, func(ctx context.Context) error { return fn(ctx, sc, pos) })
	})
	var se *ShardError
	for i, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, ErrClosed) {
			return ErrClosed
		}
		if se == nil {
			se = &ShardError{}
		}
		se.Failures = append(se.Failures, ShardFailure{Shard: s.ring.Name(i), Positions: groups[i], Err: err})
	}
	if se == nil {
		return nil
	}
	return se
}
