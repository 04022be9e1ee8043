package aerostore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"

	"github.com/mopush/mopush/internal/store"
)

var (
	_ store.Devices  = (*Store)(nil)
	_ store.Streams  = (*Store)(nil)
	_ store.Outcomes = (*Store)(nil)
)

// Defaults of Config.
const (
	// DefaultNamespace is the namespace Open uses when Config.Namespace is
	// empty.
	DefaultNamespace = "mopush"
	// DefaultTimeout bounds Open's connection attempt and every operation.
	DefaultTimeout = 2 * time.Second
)

// Limits of the server that Open checks names against.
const (
	maxNamespaceLen = 31
	maxSetLen       = 63
)

// Set names, after Config.SetPrefix.
const (
	setDevices = "devices"
	setAliases = "aliases"
	setStreams = "streams"
)

// Config configures Open. Zero fields take their documented defaults.
type Config struct {
	// Hosts are the seed nodes of the cluster, each "host:port". Required;
	// the client finds the other nodes from them.
	Hosts []string
	// Namespace holds every record of the store. It must be configured on
	// the server. Default DefaultNamespace ("mopush").
	Namespace string
	// SetPrefix is put in front of the names of the three sets the store
	// uses (devices, aliases, streams), so that several stores can share a
	// namespace. Default: no prefix. A set name is at most 63 bytes.
	SetPrefix string
	// MaxStreamLen is how many messages each device stream retains at most;
	// older ones are dropped as new ones arrive. Fewer are retained when
	// they would not fit in one record (see the package documentation).
	// Default store.DefaultMaxStreamLen (1000).
	MaxStreamLen int
	// Timeout bounds Open's connection attempt and each operation; a
	// context deadline that comes sooner takes its place. When it runs out
	// the call fails with an error wrapping store.ErrUnavailable. Default
	// DefaultTimeout (2 s).
	Timeout time.Duration
	// User and Password authenticate the client on clusters with security
	// enabled. Default: none.
	User, Password string
	// Now is the clock of message expiry. Default time.Now; tests set it.
	Now func() time.Time
	// Logger receives the store's few log lines. Default: a logger that
	// discards everything.
	Logger *slog.Logger
}

// Store is the Aerospike backend of store.Devices, store.Streams and
// store.Outcomes. Its methods are safe for concurrent use.
type Store struct {
	client *as.Client
	cfg    Config
	log    *slog.Logger

	devices string // set names
	aliases string
	streams string

	fits fits // per device, the messages its stream record can hold

	// afterAckRead, when set (tests), runs between AdvanceAcked's read and
	// its write.
	afterAckRead func()

	closed atomic.Bool
}

// Open connects to the cluster that cfg.Hosts name and checks that the
// namespace answers. When no node answers within the timeout (Config.Timeout
// or ctx's deadline, whichever comes first) it fails with an error wrapping
// store.ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	hosts, err := parseHosts(cfg.Hosts)
	if err != nil {
		return nil, err
	}
	timeout, err := callTimeout(ctx, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("aerostore: open: %w", err)
	}
	cp := as.NewClientPolicy()
	cp.Timeout = timeout
	cp.FailIfNotConnected = true
	cp.User, cp.Password = cfg.User, cfg.Password
	client, aerr := as.NewClientWithPolicyAndHost(cp, hosts...)
	if aerr != nil {
		return nil, connectErr(strings.Join(cfg.Hosts, ","), aerr)
	}
	s := newStore(client, cfg)
	if err := s.probe(ctx); err != nil {
		client.Close()
		return nil, err
	}
	s.log.Debug("aerostore open", "hosts", strings.Join(cfg.Hosts, ","), "namespace", cfg.Namespace, "set_prefix", cfg.SetPrefix)
	return s, nil
}

// connectErr wraps a failed connection: unavailable, unless the cluster
// answered and refused the credentials.
func connectErr(hosts string, err error) error {
	switch code(err) {
	case types.NOT_AUTHENTICATED, types.INVALID_USER, types.INVALID_PASSWORD,
		types.EXPIRED_PASSWORD, types.INVALID_CREDENTIAL, types.ROLE_VIOLATION:
		return fmt.Errorf("aerostore: connect %s: %w", hosts, err)
	}
	return fmt.Errorf("aerostore: connect %s: %w: %w", hosts, store.ErrUnavailable, err)
}

func withDefaults(cfg Config) (Config, error) {
	if len(cfg.Hosts) == 0 {
		return cfg, errors.New("aerostore: Config.Hosts is empty")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if len(cfg.Namespace) > maxNamespaceLen {
		return cfg, fmt.Errorf("aerostore: namespace %q is longer than %d bytes", cfg.Namespace, maxNamespaceLen)
	}
	if n := len(cfg.SetPrefix) + len(setDevices); n > maxSetLen {
		return cfg, fmt.Errorf("aerostore: set prefix %q makes set names longer than %d bytes", cfg.SetPrefix, maxSetLen)
	}
	if strings.ContainsAny(cfg.SetPrefix, ":;") {
		return cfg, fmt.Errorf("aerostore: set prefix %q contains ':' or ';'", cfg.SetPrefix)
	}
	if cfg.MaxStreamLen <= 0 {
		cfg.MaxStreamLen = store.DefaultMaxStreamLen
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// parseHosts turns "host:port" strings into the client's hosts.
func parseHosts(addrs []string) ([]*as.Host, error) {
	hosts, err := as.NewHosts(addrs...)
	if err != nil {
		return nil, fmt.Errorf("aerostore: hosts %q: %w", addrs, err)
	}
	for i, h := range hosts {
		if h.Name == "" || h.Port <= 0 || h.Port > 65535 {
			return nil, fmt.Errorf("aerostore: host %q: want host:port", addrs[i])
		}
	}
	return hosts, nil
}

func newStore(client *as.Client, cfg Config) *Store {
	return &Store{
		client:  client,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "aerostore"),
		devices: cfg.SetPrefix + setDevices,
		aliases: cfg.SetPrefix + setAliases,
		streams: cfg.SetPrefix + setStreams,
		fits:    fits{m: make(map[string]fit)},
	}
}

// probe reads a record that does not exist: a node that answers "not
// found" proves the connection and the namespace.
func (s *Store) probe(ctx context.Context) error {
	p, err := s.readPolicy(ctx)
	if err != nil {
		return fmt.Errorf("aerostore: probe: %w", err)
	}
	key, err := s.key(s.devices, "\x00probe")
	if err != nil {
		return err
	}
	_, aerr := s.client.Get(p, key, binDevice)
	if code(aerr) == codeNotFound {
		return nil
	}
	return mapErr(ctx, "probe namespace "+s.cfg.Namespace, aerr)
}

// Close closes the client and its connections. Calls in flight may fail;
// later calls fail with ErrClosed. Close is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.client.Close()
	}
	return nil
}

// callTimeout returns how long one call may take: timeout, or less when
// ctx's deadline comes sooner. A context that is done is an error.
func callTimeout(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if dl, ok := ctx.Deadline(); ok {
		rem := time.Until(dl)
		if rem <= 0 {
			return 0, context.DeadlineExceeded
		}
		timeout = min(timeout, rem)
	}
	return timeout, nil
}

// begin checks that the store is open and returns the time the call may
// take.
func (s *Store) begin(ctx context.Context) (time.Duration, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	return callTimeout(ctx, s.cfg.Timeout)
}

// readPolicy returns the policy of one read, with the client's default
// retries of reads within the call's time.
func (s *Store) readPolicy(ctx context.Context) (*as.BasePolicy, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	p := as.NewPolicy()
	p.TotalTimeout, p.SocketTimeout = t, t
	return p, nil
}

// writePolicy returns the policy of one Operate or write. Writes are not
// retried by the client (a retry after a timeout could apply an append
// twice), and every operation answers, so results keep their positions.
func (s *Store) writePolicy(ctx context.Context) (*as.WritePolicy, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	p := as.NewWritePolicy(0, 0)
	p.TotalTimeout, p.SocketTimeout = t, t
	p.MaxRetries = 0
	p.RespondPerEachOp = true
	return p, nil
}

// operateReadPolicy is writePolicy for an Operate that only reads, which
// the client may retry.
func (s *Store) operateReadPolicy(ctx context.Context) (*as.WritePolicy, error) {
	p, err := s.writePolicy(ctx)
	if err != nil {
		return nil, err
	}
	p.MaxRetries = as.NewPolicy().MaxRetries
	return p, nil
}

// batchPolicy returns the policy of one batch call, which asks all nodes
// at once. Batches that write are not retried by the client.
func (s *Store) batchPolicy(ctx context.Context, write bool) (*as.BatchPolicy, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	p := as.NewBatchPolicy()
	if write {
		p = as.NewWriteBatchPolicy()
	}
	p.TotalTimeout, p.SocketTimeout = t, t
	p.ConcurrentNodes = 0 // one goroutine per node
	return p, nil
}

// key returns the key of a record of set.
func (s *Store) key(set, id string) (*as.Key, error) {
	k, err := as.NewKey(s.cfg.Namespace, set, id)
	if err != nil {
		return nil, fmt.Errorf("aerostore: key in %s: %w", set, err)
	}
	return k, nil
}

// keys returns the keys of records of set.
func (s *Store) keys(set string, ids []string) ([]*as.Key, error) {
	out := make([]*as.Key, len(ids))
	for i, id := range ids {
		k, err := s.key(set, id)
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}
