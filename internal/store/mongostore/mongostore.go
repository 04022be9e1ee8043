package mongostore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/mopush/mopush/internal/store"
)

var (
	_ store.Apps    = (*Store)(nil)
	_ store.Pushes  = (*Store)(nil)
	_ store.Devices = (*Store)(nil)
)

// Defaults of Config.
const (
	// DefaultDatabase is the database Open uses when Config.Database is empty.
	DefaultDatabase = "mopush"
	// DefaultTimeout bounds Open's first ping and every operation.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxPoolSize is the connection pool's size per server.
	DefaultMaxPoolSize = 16
)

// CountMode says how AddCounts keeps a push's counters.
type CountMode int

// Count modes.
const (
	// CountAuto picks CountDeltas on FerretDB and CountInc on MongoDB, from
	// the server's buildInfo at Open.
	CountAuto CountMode = iota
	// CountInc applies $inc to the push document: one document per push,
	// atomic on MongoDB. Not safe on FerretDB 1.x, where concurrent updates
	// of one document can lose each other.
	CountInc
	// CountDeltas inserts one document per AddCounts into push_counts and
	// sums them on read: safe on any server that makes inserts atomic, at
	// the price of reads that grow with the number of deltas.
	CountDeltas
)

// String returns the mode's name.
func (m CountMode) String() string {
	switch m {
	case CountAuto:
		return "auto"
	case CountInc:
		return "inc"
	case CountDeltas:
		return "deltas"
	}
	return fmt.Sprintf("CountMode(%d)", int(m))
}

// Config configures Open. Zero fields take their documented defaults.
type Config struct {
	// URI is the MongoDB connection string, for example
	// "mongodb://127.0.0.1:27017". Required.
	URI string
	// Database is the database that holds the collections. Default
	// DefaultDatabase ("mopush").
	Database string
	// Timeout bounds Open's first ping and each operation, server selection
	// and connecting included; when it runs out the call fails with
	// store.ErrUnavailable. Default DefaultTimeout (5 s).
	Timeout time.Duration
	// MaxPoolSize is the most connections the pool keeps open per server.
	// Operations borrow one only for the instant they run, so a few serve
	// many concurrent requests. Default DefaultMaxPoolSize (16).
	MaxPoolSize uint64
	// IdempotencyWindow is how long an idempotency key of CreatePush is
	// remembered. Default store.DefaultIdempotencyWindow (24 h).
	IdempotencyWindow time.Duration
	// Counts says how counters are kept. Default CountAuto.
	Counts CountMode
	// Now is the clock of the idempotency window. Default time.Now; tests
	// set it.
	Now func() time.Time
	// Logger receives the store's few log lines. Default: a logger that
	// discards everything.
	Logger *slog.Logger
}

// Store is the MongoDB backend of store.Apps, store.Credentials,
// store.Pushes, store.Devices, store.Campaigns and store.Users. Its methods
// are safe for concurrent use.
type Store struct {
	client    *mongo.Client
	apps      *mongo.Collection
	pushes    *mongo.Collection
	counts    *mongo.Collection
	devices   *mongo.Collection
	creds     *mongo.Collection
	campaigns *mongo.Collection
	users     *mongo.Collection
	cfg       Config
	log       *slog.Logger
	closed    atomic.Bool
	// bulkMax is the most operations PutDevices sends in one bulk write;
	// 0 for no limit. Set at Open (see ferretBulkMax).
	bulkMax int
	// serial serialises compare-and-set updates of one record inside the
	// process on FerretDB, whose updates are not atomic; nil on MongoDB.
	// Set at Open.
	serial *recordLocks
}

// Open connects to the server in cfg.URI, pings it and creates the indexes
// the store needs. When the server does not answer within cfg.Timeout it
// fails with an error wrapping store.ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, nil)
}

// open is Open with a hook that adjusts the driver's options; tests use it
// to attach monitors.
func open(ctx context.Context, cfg Config, tune func(*options.ClientOptions)) (*Store, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	opts := options.Client().ApplyURI(cfg.URI).
		SetAppName("mopush").
		SetMaxPoolSize(cfg.MaxPoolSize).
		SetServerSelectionTimeout(cfg.Timeout).
		SetConnectTimeout(cfg.Timeout)
	if tune != nil {
		tune(opts)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongostore: connect: %w", err)
	}
	s := newStore(client, cfg)
	if err := s.start(ctx, hosts(opts)); err != nil {
		s.disconnect(ctx)
		return nil, err
	}
	s.log.Debug("mongostore open", "hosts", hosts(opts), "database", cfg.Database, "counts", s.cfg.Counts.String())
	return s, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.URI == "" {
		return cfg, errors.New("mongostore: Config.URI is empty")
	}
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxPoolSize == 0 {
		cfg.MaxPoolSize = DefaultMaxPoolSize
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = store.DefaultIdempotencyWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func newStore(client *mongo.Client, cfg Config) *Store {
	db := client.Database(cfg.Database)
	return &Store{
		client:    client,
		apps:      db.Collection("apps"),
		pushes:    db.Collection("pushes"),
		counts:    db.Collection("push_counts"),
		devices:   db.Collection("devices"),
		creds:     db.Collection("credentials"),
		campaigns: db.Collection("campaigns"),
		users:     db.Collection("users"),
		cfg:       cfg,
		log:       cfg.Logger.With("component", "mongostore"),
	}
}

// start pings the server, asks whether it is FerretDB (for the count mode,
// the size of bulk writes and how compare-and-set updates run) and creates
// the indexes, all within one Timeout.
func (s *Store) start(ctx context.Context, hosts string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("mongostore: ping %s: %w: %w", hosts, store.ErrUnavailable, err)
	}
	ferret, err := s.isFerretDB(ctx)
	if err != nil {
		return mapErr(ctx, "build info", err)
	}
	if ferret {
		s.bulkMax = ferretBulkMax
		s.serial = newRecordLocks()
	}
	if s.cfg.Counts == CountAuto {
		s.cfg.Counts = CountInc
		if ferret {
			s.cfg.Counts = CountDeltas
		}
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return mapErr(ctx, "create indexes", err)
	}
	return nil
}

// isFerretDB reports whether the server is FerretDB, which adds its own
// version to buildInfo.
func (s *Store) isFerretDB(ctx context.Context) (bool, error) {
	var info bson.M
	err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info)
	if err != nil {
		return false, err
	}
	_, ok := info["ferretdbVersion"]
	return ok, nil
}

// hosts names the servers of opts for messages; it leaves out credentials.
func hosts(opts *options.ClientOptions) string {
	return strings.Join(opts.Hosts, ",")
}

// Close disconnects from the server, waiting up to Timeout for operations
// in flight. Later calls, Close included, do nothing and return nil.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongostore: close: %w", err)
	}
	return nil
}

// disconnect closes the client after a failed Open.
func (s *Store) disconnect(ctx context.Context) {
	s.closed.Store(true)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		s.log.Debug("disconnect after failed open", "error", err)
	}
}

// do runs op with a context bounded by Timeout and maps its error (see
// mapErr). what names the operation in error messages.
func (s *Store) do(ctx context.Context, what string, op func(ctx context.Context) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: %s: %w", what, err)
	}
	opCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	return mapErr(ctx, what, op(opCtx))
}
