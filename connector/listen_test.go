package connector

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// splitPair is one connector behind two HTTP servers with the same
// handlers: split reads device connects through Split, plain leaves them
// to the HTTP server. viaHTTP counts the connects that reached ServeHTTP.
type splitPair struct {
	c            *Connector
	st           *pebblestore.Store
	split, plain string // host:port
	viaHTTP      atomic.Int64
}

// foreignDevice is a device id the pair's connector does not own.
const foreignDevice = "foreign"

func newSplitPair(t *testing.T) *splitPair {
	t.Helper()
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	p := &splitPair{st: st}
	p.c = New(Config{}, st, func(id string) bool { return id != foreignDevice }, nil, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, r *http.Request) {
		p.viaHTTP.Add(1)
		p.c.ServeHTTP(w, r)
	})
	mux.HandleFunc("/other", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "other") })
	serve := func(split bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := httpx.NewServer(mux)
		served := ln
		if split {
			served = p.c.Split(ln)
		}
		go srv.Serve(served) //nolint:errcheck // ends with Close
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	p.split, p.plain = serve(true), serve(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.c.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	return p
}

func (p *splitPair) device(t *testing.T) (string, []byte) {
	t.Helper()
	id, secret := ids.New(), ids.Secret(32)
	require.NoError(t, p.st.PutDevice(context.Background(), &store.Device{ID: id, AppID: "app", Secret: secret}))
	return id, secret
}

// exchange sends raw to addr in writes of chunk bytes (all at once if 0)
// and reads the HTTP answer.
func exchange(t *testing.T, addr, raw string, chunk int) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	for rest := raw; rest != ""; {
		n := len(rest)
		if chunk > 0 {
			n = min(n, chunk)
		}
		_, err := io.WriteString(conn, rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	return resp
}

// upgradeHead is a device connect's head without an early hello, for
// target, with the RFC's example key.
func upgradeHead(target string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
}

// Device connects on a split listener never reach the HTTP server, early
// hello or not; every other request does, HTTP/2 with prior knowledge
// included, and so do requests that only start like a connect. The same
// connector behind the HTTP server alone still runs sessions.
func TestSplitServesConnectsItself(t *testing.T) {
	p := newSplitPair(t)
	for _, early := range []bool{true, false} {
		id, secret := p.device(t)
		ws, codec, hs := clientConnect(t, "ws://"+p.split+Path+"?device_id="+id, id, secret, early)
		s := &rawSession{ws: ws, codec: codec}
		w := s.read(t).GetWelcome()
		require.NotNil(t, w, "early %v", early)
		require.NoError(t, hs.VerifyWelcome(w))
		ws.Close()
	}
	require.Zero(t, p.viaHTTP.Load())

	resp, err := http.Get("http://" + p.split + "/other")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "other", string(body))

	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &protos, TLSClientConfig: &tls.Config{}}}
	resp, err = h2.Get("http://" + p.split + "/other")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Equal(t, http.StatusNotFound, exchange(t, p.split, upgradeHead("/v1/connectx"), 0).StatusCode)
	require.Equal(t, http.StatusMethodNotAllowed, exchange(t, p.split, strings.Replace(upgradeHead(Path), "GET", "POST", 1), 0).StatusCode)
	require.Zero(t, p.viaHTTP.Load())

	id, secret := p.device(t)
	ws, codec, _ := clientConnect(t, "ws://"+p.plain+Path, id, secret, true)
	require.NotNil(t, (&rawSession{ws: ws, codec: codec}).read(t).GetWelcome())
	ws.Close()
	require.Equal(t, int64(1), p.viaHTTP.Load())
}

// A split listener refuses what the HTTP server's path refuses, with the
// same status and headers; a malformed early hello is answered after the
// upgrade with the same bytes.
func TestSplitRefusesAsTheHTTPServer(t *testing.T) {
	p := newSplitPair(t)
	compare := func(name, raw string) {
		t.Helper()
		want, got := exchange(t, p.plain, raw, 0), exchange(t, p.split, raw, 0)
		require.NotEqual(t, http.StatusSwitchingProtocols, want.StatusCode, name)
		require.Equal(t, want.StatusCode, got.StatusCode, name)
		for _, h := range []string{"Allow", "Sec-WebSocket-Version", "Retry-After", "Content-Type"} {
			require.Equal(t, want.Header.Get(h), got.Header.Get(h), "%s: %s", name, h)
		}
	}
	for _, c := range []struct{ name, raw string }{
		{"misdirected", upgradeHead(Path + "?device_id=" + foreignDevice)},
		{"version", strings.Replace(upgradeHead(Path), "Version: 13", "Version: 8", 1)},
		{"no key", strings.Replace(upgradeHead(Path), "Sec-WebSocket-Key", "X-Key", 1)},
		{"connection", strings.Replace(upgradeHead(Path), "Connection: Upgrade", "Connection: keep-alive", 1)},
		{"upgrade", strings.Replace(upgradeHead(Path), "Upgrade: websocket", "Upgrade: h2c", 1)},
		{"HTTP/1.0", strings.Replace(upgradeHead(Path), "HTTP/1.1", "HTTP/1.0", 1)},
	} {
		compare(c.name, c.raw)
	}
	require.Equal(t, int64(6), p.viaHTTP.Load(), "each refusal of the plain server came from ServeHTTP")
	compare("no Host", strings.Replace(upgradeHead(Path), "Host: x\r\n", "", 1))
	require.Equal(t, int64(6), p.viaHTTP.Load(), "the HTTP server refuses it before any handler")

	badHello := strings.Replace(upgradeHead(Path), "\r\n\r\n",
		"\r\nSec-WebSocket-Protocol: mopush.v1.hello, mopush.hello.!!\r\n\r\n", 1)
	var answers [2][]byte
	for i, addr := range []string{p.plain, p.split} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.WriteString(conn, badHello)
		require.NoError(t, err)
		answers[i], err = io.ReadAll(conn)
		require.NoError(t, err)
		conn.Close()
	}
	require.Contains(t, string(answers[1]), "101 Switching Protocols")
	require.Equal(t, answers[0], answers[1])

	p.c.mu.Lock()
	p.c.draining = true
	p.c.mu.Unlock()
	compare("draining", upgradeHead(Path))
	require.Equal(t, "1", exchange(t, p.split, upgradeHead(Path), 0).Header.Get("Retry-After"))
}

// A head that arrives a byte at a time is read whole, whether it turns out
// to be a connect or not; a malformed head is answered with 400, and one
// longer than maxHead with 431.
func TestSplitReadsHeadsInPieces(t *testing.T) {
	p := newSplitPair(t)
	resp := exchange(t, p.split, upgradeHead(Path), 1)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	require.Equal(t, http.StatusNotFound, exchange(t, p.split, upgradeHead("/v1/connex"), 1).StatusCode)
	require.Equal(t, http.StatusNotFound, exchange(t, p.split, upgradeHead("/v1/con"), 3).StatusCode)

	folded := strings.Replace(upgradeHead(Path), "Host: x\r\n", "Host: x\r\n y\r\n", 1)
	require.Equal(t, http.StatusBadRequest, exchange(t, p.split, folded, 0).StatusCode)
	long := strings.Replace(upgradeHead(Path), "Host: x\r\n", "Host: x\r\nX-Pad: "+strings.Repeat("p", maxHead)+"\r\n", 1)
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, exchange(t, p.split, long, 1000).StatusCode)
	require.Zero(t, p.viaHTTP.Load())
}

// Closing a split listener closes the listener under it and ends Accept.
func TestSplitClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := (&Connector{}).Split(ln)
	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		errc <- err
	}()
	require.NoError(t, l.Close())
	require.ErrorIs(t, <-errc, net.ErrClosed)
	_, err = net.Dial("tcp", ln.Addr().String())
	require.Error(t, err)
	_, err = l.Accept()
	require.True(t, errors.Is(err, net.ErrClosed))
}

// A connection's goroutine, done with it, serves the next connection the
// listener accepts instead of ending.
func TestSplitGoroutineServesTheNextConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := (&Connector{}).Split(ln).(*splitListener)
	defer l.Close()
	for i := range 3 {
		client, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		_, err = io.WriteString(client, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		conn, err := l.Accept() // handed on: not a device connect
		require.NoError(t, err)
		b := make([]byte, len("GET /other "))
		_, err = io.ReadFull(conn, b)
		require.NoError(t, err)
		require.Equal(t, "GET /other ", string(b))
		conn.Close()
		client.Close()
		require.Eventually(t, func() bool { return l.run.waiting() == 1 }, 10*time.Second, time.Millisecond,
			"the goroutine waits for the next connection after connection %d", i)
	}
	require.EqualValues(t, 1, l.run.spawned.Load(), "one goroutine served all three")
}

// flakyListener fails its first Accept with errs, one each, then accepts
// from the listener it wraps.
type flakyListener struct {
	net.Listener
	errs []error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	return l.Listener.Accept()
}

// A split listener waits and accepts again after running out of files, as
// the HTTP server does, and stops at any other failure.
func TestSplitAcceptsAgainAfterATemporaryError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	flaky := &flakyListener{Listener: ln, errs: []error{emfile, emfile}}
	l := (&Connector{log: slog.New(slog.DiscardHandler)}).Split(flaky)
	go func() {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			io.WriteString(conn, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
			defer conn.Close()
		}
	}()
	conn, err := l.Accept()
	require.NoError(t, err)
	conn.Close()

	broken := errors.New("listener broken")
	l = (&Connector{log: slog.New(slog.DiscardHandler)}).Split(&flakyListener{Listener: ln, errs: []error{broken}})
	_, err = l.Accept()
	require.ErrorIs(t, err, broken)
	ln.Close()
}

// absoluteForm rewrites the request line of the first write to the
// absolute form a proxy may send ("GET http://host/path").
type absoluteForm struct {
	net.Conn
	host string
	done bool
}

func (c *absoluteForm) Write(b []byte) (int, error) {
	if c.done {
		return c.Conn.Write(b)
	}
	c.done = true
	rewritten := strings.Replace(string(b), "GET /", "GET http://"+c.host+"/", 1)
	if _, err := io.WriteString(c.Conn, rewritten); err != nil {
		return 0, err
	}
	return len(b), nil
}

// A connect whose request line Split does not take as one (here, in
// absolute form) is served by the HTTP server's path, and its session
// still joins the poller once the replayed bytes are read.
func TestSplitLeavesOtherConnectFormsToTheHTTPServer(t *testing.T) {
	p := newSplitPair(t)
	id, secret := p.device(t)
	hs, ch, err := sdkproto.NewClientHandshake(id, secret)
	require.NoError(t, err)
	d := websocket.Dialer{
		Subprotocols: sdkproto.EarlyHelloProtocols(ch),
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &absoluteForm{Conn: conn, host: addr}, nil
		},
	}
	ws, _, err := d.Dial("ws://"+p.split+Path, nil)
	require.NoError(t, err)
	defer ws.Close()
	require.Equal(t, sdkproto.SubprotocolEarlyHello, ws.Subprotocol())
	_, sh, err := ws.ReadMessage()
	require.NoError(t, err)
	codec, hello, err := hs.Finish(sh, &pb.Hello{})
	require.NoError(t, err)
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, hello))
	s := &rawSession{ws: ws, codec: codec}
	require.NoError(t, hs.VerifyWelcome(s.read(t).GetWelcome()))
	s.synced(t)
	s.send(t, &pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 9}}})
	require.Equal(t, int64(9), s.read(t).GetPong().GetTimeMs(), "the poller reads the session")
	require.Equal(t, int64(1), p.viaHTTP.Load())
}

// A head that arrives in pieces of any size is found whole: the search for
// its end covers every piece, including an ending split across two, or
// followed by the client's first frame in the same piece.
func TestSplitFindsTheHeadInEveryPieceSize(t *testing.T) {
	p := newSplitPair(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := p.c.Split(ln).(*splitListener)
	defer l.Close()
	head := upgradeHead(Path) + "\x82\x80\x00\x00\x00\x00" // and an empty masked binary frame
	for chunk := 1; chunk <= 24; chunk++ {
		server, client := net.Pipe() // each Write is one Read, and waits for it
		go l.serve(server)
		client.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			for rest := head; rest != ""; {
				n := min(chunk, len(rest))
				if _, err := io.WriteString(client, rest[:n]); err != nil {
					return // the read below fails too
				}
				rest = rest[n:]
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(client), nil)
		require.NoError(t, err, "chunk %d", chunk)
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "chunk %d", chunk)
		client.Close()
	}
}
