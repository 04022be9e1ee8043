package aerofake

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proto header values: every message on the wire starts with 8 bytes,
// version (1 byte), type (1 byte) and body length (6 bytes, big-endian).
const (
	protoHeaderSize      = 8
	protoVersion    byte = 2
	protoInfo       byte = 1
	protoMessage    byte = 3
	// maxProtoSize bounds the body of one request.
	maxProtoSize = 128 << 20
)

// Fixed answers of info commands.
const (
	// infoFeatures lists the server features the fake announces. The client
	// requires pscans; batch-any, pquery and query-show change which
	// commands it sends.
	infoFeatures = "batch-any;batch-index;blob-bits;cdt-list;cdt-map;cluster-stable;float;geo;" +
		"peers;pipelining;pquery;pscans;query-show;relaxed-sc;replicas;sindex-exists;" +
		"truncate-namespace;udf"
	infoBuild   = "7.0.0.0"
	infoEdition = "Aerospike Community Edition"
	// infoGeneration is the partition, peers and rebalance generation: the
	// single node never changes its cluster.
	infoGeneration = "1"
	// partitionCount is the number of partitions of every namespace.
	partitionCount = 4096
	// maxNamespaceLen is the server's limit on namespace name length.
	maxNamespaceLen = 31
)

// Config configures a Server.
type Config struct {
	// Namespaces are the namespaces served; default []string{"test"}.
	Namespaces []string
	// MaxRecordSize is the largest record in bytes; default 1 << 20 (1 MiB,
	// the server's default max-record-size). A write whose record would be
	// larger answers RECORD_TOO_BIG (13) and changes nothing.
	MaxRecordSize int
	// ClusterName is answered to the cluster-name info command; empty
	// answers "null", as a server without a cluster name does.
	ClusterName string
}

// Server is an in-memory Aerospike node listening on 127.0.0.1.
type Server struct {
	cfg      Config
	store    *store
	ln       net.Listener
	port     int
	nodeName string

	wg   sync.WaitGroup
	done chan struct{}

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	closeOnce sync.Once
	closeErr  error

	messages atomic.Int64 // AS_MSG commands answered
}

// Messages returns how many AS_MSG commands (single-record or batch) the
// server has answered, for tests that count a client's round trips.
func (s *Server) Messages() int64 {
	return s.messages.Load()
}

// Start starts a server on a free port of 127.0.0.1.
func Start(cfg Config) (*Server, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("aerofake: listen: %w", err)
	}
	s.ln = ln
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.nodeName = fmt.Sprintf("BB9FAKE%09X", s.port)
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// newServer returns a server with its store but without a listener.
func newServer(cfg Config) (*Server, error) {
	if len(cfg.Namespaces) == 0 {
		cfg.Namespaces = []string{"test"}
	}
	cfg.Namespaces = append([]string(nil), cfg.Namespaces...)
	for _, ns := range cfg.Namespaces {
		if ns == "" || len(ns) > maxNamespaceLen || strings.ContainsAny(ns, ":;,\t\n") {
			return nil, fmt.Errorf("aerofake: invalid namespace name %q", ns)
		}
	}
	if cfg.MaxRecordSize <= 0 {
		cfg.MaxRecordSize = 1 << 20
	}
	return &Server{
		cfg:      cfg,
		store:    newStore(cfg.Namespaces),
		nodeName: "BB9FAKE000000000",
		done:     make(chan struct{}),
		conns:    make(map[net.Conn]struct{}),
	}, nil
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Port returns the server's port.
func (s *Server) Port() int {
	return s.port
}

// Close stops listening, closes every connection and waits until every
// goroutine of the server has ended.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := s.conns
		s.conns = nil
		s.mu.Unlock()
		close(s.done)
		if s.ln != nil {
			if err := s.ln.Close(); err != nil {
				s.closeErr = fmt.Errorf("aerofake: close listener: %w", err)
			}
		}
		for conn := range conns {
			_ = conn.Close()
		}
	})
	s.wg.Wait()
	return s.closeErr
}

// acceptLoop accepts connections until the listener closes.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !s.pause() {
				return
			}
			continue
		}
		if !s.track(conn) {
			_ = conn.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(conn)
	}
}

// pause waits a little after a failed accept; it reports false when the
// server closes meanwhile.
func (s *Server) pause() bool {
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// track registers an accepted connection; it reports false once the
// server is closed.
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[conn] = struct{}{}
	return true
}

// forget closes a connection and unregisters it.
func (s *Server) forget(conn net.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	_ = conn.Close()
}

// serveConn answers the requests of one connection, one at a time, until
// the connection fails, sends something the fake does not speak, or the
// server closes.
func (s *Server) serveConn(conn net.Conn) {
	defer s.wg.Done()
	defer s.forget(conn)
	r := bufio.NewReader(conn)
	for {
		typ, body, err := readProto(r)
		if err != nil {
			return
		}
		reply, ok := s.answerProto(typ, body)
		if !ok {
			return
		}
		if _, err := conn.Write(reply); err != nil {
			return
		}
	}
}

// readProto reads one proto: its header and body.
func readProto(r io.Reader) (byte, []byte, error) {
	var header [protoHeaderSize]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return 0, nil, fmt.Errorf("read proto header: %w", err)
	}
	if header[0] != protoVersion {
		return 0, nil, fmt.Errorf("read proto header: version %d, want %d", header[0], protoVersion)
	}
	size := binary.BigEndian.Uint64(header[:]) & (1<<48 - 1)
	if size > maxProtoSize {
		return 0, nil, fmt.Errorf("read proto header: body of %d bytes is too big", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, fmt.Errorf("read proto body: %w", err)
	}
	return header[1], body, nil
}

// answerProto answers one request. It reports false for protos the fake
// does not speak (compressed messages, security commands), after which
// the connection is closed.
func (s *Server) answerProto(typ byte, body []byte) ([]byte, bool) {
	switch typ {
	case protoInfo:
		return s.answerInfo(body), true
	case protoMessage:
		return s.answerMessage(body), true
	default:
		return nil, false
	}
}

// beginProto appends room for a proto header to dst and returns where the
// proto starts.
func beginProto(dst []byte) ([]byte, int) {
	return append(dst, make([]byte, protoHeaderSize)...), len(dst)
}

// endProto fills in the header of the proto that starts at start, whose
// body runs to the end of dst.
func endProto(dst []byte, start int, typ byte) []byte {
	size := uint64(len(dst) - start - protoHeaderSize)
	binary.BigEndian.PutUint64(dst[start:], uint64(protoVersion)<<56|uint64(typ)<<48|size)
	return dst
}

// answerInfo answers an info request: newline-separated commands, each
// answered as "command\tvalue\n" in request order. An empty request
// answers a few general values, as the server answers all of its own.
func (s *Server) answerInfo(body []byte) []byte {
	commands := strings.Split(string(body), "\n")
	if len(bytes.TrimSpace(body)) == 0 {
		commands = []string{"node", "build", "edition", "version"}
	}
	dst, start := beginProto(nil)
	for _, command := range commands {
		if command == "" {
			continue
		}
		dst = append(dst, command...)
		dst = append(dst, '\t')
		dst = append(dst, s.infoValue(command)...)
		dst = append(dst, '\n')
	}
	return endProto(dst, start, protoInfo)
}

// infoValue answers one info command; unknown commands answer an empty
// value.
func (s *Server) infoValue(command string) string {
	name, params, _ := strings.Cut(command, ":")
	switch name {
	case "node":
		return s.nodeName
	case "build":
		return infoBuild
	case "edition":
		return infoEdition
	case "version":
		return infoEdition + " build " + infoBuild
	case "features":
		return infoFeatures
	case "partition-generation", "peers-generation", "rebalance-generation":
		return infoGeneration
	case "cluster-name":
		return cmp.Or(s.cfg.ClusterName, "null")
	case "peers-clear-std", "peers-clear-alt", "peers-tls-std", "peers-tls-alt":
		return infoGeneration + "," + strconv.Itoa(s.port) + ",[]"
	case "service", "service-clear-std", "service-clear-alt":
		return s.Addr()
	case "namespaces":
		return strings.Join(s.cfg.Namespaces, ";")
	case "replicas", "replicas-all", "replicas-master":
		return s.replicas(name)
	case "rack-ids":
		return s.perNamespace(func(ns string) string { return ns + ":0" })
	case "statistics":
		return "cluster_size=1;objects=" + strconv.Itoa(s.objectCount())
	case "truncate", "truncate-namespace":
		return s.truncate(name, params)
	default:
		return ""
	}
}

// perNamespace joins f(ns) over the namespaces with ";".
func (s *Server) perNamespace(f func(ns string) string) string {
	parts := make([]string, len(s.cfg.Namespaces))
	for i, ns := range s.cfg.Namespaces {
		parts[i] = f(ns)
	}
	return strings.Join(parts, ";")
}

// replicas answers the partition ownership commands: this node is the
// master of every partition of every namespace, with one replica.
//
//	replicas:        ns:regime,count,bitmap
//	replicas-all:    ns:count,bitmap
//	replicas-master: ns:bitmap
func (s *Server) replicas(command string) string {
	bitmap := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xFF}, partitionCount/8))
	return s.perNamespace(func(ns string) string {
		switch command {
		case "replicas":
			return ns + ":0,1," + bitmap
		case "replicas-all":
			return ns + ":1," + bitmap
		default:
			return ns + ":" + bitmap
		}
	})
}

// objectCount counts the stored records.
func (s *Server) objectCount() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	n := 0
	for _, records := range s.store.namespaces {
		n += len(records)
	}
	return n
}

// truncate runs "truncate:namespace=NS[;set=SET][;lut=NANOS]" and
// "truncate-namespace:namespace=NS[;lut=NANOS]": it deletes the records of
// the set (of the namespace when no set is given) last written before
// lut, or all of them when no lut is given. It answers "ok" or an error
// in the server's "ERROR:code:message" form.
func (s *Server) truncate(command, params string) string {
	args := parseInfoParams(params)
	set, hasSet := args["set"]
	if command == "truncate-namespace" && hasSet {
		return fmt.Sprintf("ERROR:%d:set not allowed", codeParameter)
	}
	before := int64(math.MaxInt64)
	if lut, ok := args["lut"]; ok {
		n, err := strconv.ParseInt(lut, 10, 64)
		if err != nil || n > time.Now().UnixNano() {
			return fmt.Sprintf("ERROR:%d:bad lut", codeParameter)
		}
		before = n
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	records, ok := s.store.namespaces[args["namespace"]]
	if !ok {
		return fmt.Sprintf("ERROR:%d:namespace not found", codeInvalidNamespace)
	}
	for digest, rec := range records {
		if (!hasSet || rec.set == set) && rec.lastUpdate < before {
			delete(records, digest)
		}
	}
	return "ok"
}

// parseInfoParams parses "k1=v1;k2=v2" info command parameters.
func parseInfoParams(params string) map[string]string {
	args := make(map[string]string)
	for _, kv := range strings.Split(params, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			args[k] = v
		}
	}
	return args
}
