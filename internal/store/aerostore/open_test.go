package aerostore

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := withDefaults(Config{Hosts: []string{"127.0.0.1:3000"}})
	require.NoError(t, err)
	require.Equal(t, DefaultNamespace, cfg.Namespace)
	require.Equal(t, "mopush", cfg.Namespace)
	require.Empty(t, cfg.SetPrefix)
	require.Equal(t, store.DefaultMaxStreamLen, cfg.MaxStreamLen)
	require.Equal(t, DefaultTimeout, cfg.Timeout)
	require.NotNil(t, cfg.Now)
	require.NotNil(t, cfg.Logger)

	s := newStore(nil, cfg)
	require.Equal(t, "devices", s.devices)
	require.Equal(t, "aliases", s.aliases)
	require.Equal(t, "streams", s.streams)

	cfg, err = withDefaults(Config{Hosts: []string{"h:1"}, Namespace: "ns", SetPrefix: "p_", MaxStreamLen: 7, Timeout: time.Second})
	require.NoError(t, err)
	require.Equal(t, "ns", cfg.Namespace)
	require.Equal(t, 7, cfg.MaxStreamLen)
	require.Equal(t, time.Second, cfg.Timeout)
	require.Equal(t, "p_streams", newStore(nil, cfg).streams)
}

func TestConfigRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"no_hosts", Config{}},
		{"long_namespace", Config{Hosts: []string{"h:1"}, Namespace: strings.Repeat("n", 32)}},
		{"long_prefix", Config{Hosts: []string{"h:1"}, SetPrefix: strings.Repeat("p", 57)}},
		{"prefix_colon", Config{Hosts: []string{"h:1"}, SetPrefix: "a:b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := withDefaults(c.cfg)
			require.Error(t, err)
			_, err = Open(t.Context(), c.cfg)
			require.Error(t, err)
			require.NotErrorIs(t, err, store.ErrUnavailable, "a bad config is not an outage")
		})
	}
	_, err := withDefaults(Config{Hosts: []string{"h:1"}, SetPrefix: strings.Repeat("p", 56)})
	require.NoError(t, err, "63-byte set names are allowed")
}

func TestParseHosts(t *testing.T) {
	t.Parallel()
	hosts, err := parseHosts([]string{"127.0.0.1:3000", "[::1]:3100", "db.example:3000"})
	require.NoError(t, err)
	require.Len(t, hosts, 3)
	require.Equal(t, "::1", hosts[1].Name)
	require.Equal(t, 3100, hosts[1].Port)
	for _, bad := range []string{"nohost", "h:", ":3000", "h:port", "h:0", "h:70000"} {
		_, err := parseHosts([]string{bad})
		require.Error(t, err, bad)
	}
}

// TestOpenUnreachableFailsFast opens a store on a port where nothing
// listens: Open must give up within its timeout and say the store is
// unavailable.
func TestOpenUnreachableFailsFast(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	start := time.Now()
	s, err := Open(t.Context(), Config{Hosts: []string{addr}, Timeout: 500 * time.Millisecond})
	elapsed := time.Since(start)
	require.Nil(t, s)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorContains(t, err, addr)
	require.Less(t, elapsed, 10*time.Second, "Open must not wait for the client's 30 s default")
	t.Logf("Open of an unreachable server failed after %s (Timeout 500ms): %v", elapsed.Round(time.Millisecond), err)
}

func TestOpenHonoursContextDeadline(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = Open(ctx, Config{Hosts: []string{addr}, Timeout: time.Minute})
	require.Error(t, err)

	done, cancelDone := context.WithCancel(t.Context())
	cancelDone()
	_, err = Open(done, Config{Hosts: []string{addr}})
	require.ErrorIs(t, err, context.Canceled)
}

func TestCallTimeout(t *testing.T) {
	t.Parallel()
	d, err := callTimeout(t.Context(), time.Minute)
	require.NoError(t, err)
	require.Equal(t, time.Minute, d)

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	d, err = callTimeout(ctx, time.Minute)
	require.NoError(t, err)
	require.LessOrEqual(t, d, time.Second)
	require.Positive(t, d)

	ctx, cancel2 := context.WithCancel(t.Context())
	cancel2()
	_, err = callTimeout(ctx, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
}

// TestClosedStore checks that every call after Close fails with ErrClosed
// before it reaches the client.
func TestClosedStore(t *testing.T) {
	t.Parallel()
	cfg, err := withDefaults(Config{Hosts: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	s := newStore(nil, cfg)
	s.closed.Store(true)
	require.NoError(t, s.Close(), "closing twice is fine")
	ctx := t.Context()

	_, err = s.Append(ctx, []store.Entry{{DeviceID: "d"}})
	requireClosed(t, err)
	_, err = s.Append(ctx, []store.Entry{{DeviceID: "d"}, {DeviceID: "e"}})
	requireClosed(t, err)
	_, err = s.ReadStream(ctx, "d", 0, 0, 10)
	requireClosed(t, err)
	_, err = s.Advance(ctx, "d", store.MarkAcked, 1)
	requireClosed(t, err)
	_, err = s.Watermark(ctx, "d", store.MarkSent)
	requireClosed(t, err)
	_, _, err = s.SetOutcome(ctx, "d", 1, store.OutcomeRelayed)
	requireClosed(t, err)
	_, err = s.OutcomeOf(ctx, "d", 1)
	requireClosed(t, err)
	requireClosed(t, s.PutDevice(ctx, &store.Device{ID: "d"}))
	_, err = s.Devices(ctx, []string{"d"})
	requireClosed(t, err)
	_, err = s.DeviceIDsByAlias(ctx, "app", []string{"alice"})
	requireClosed(t, err)
}

func requireClosed(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, err, store.ErrUnavailable)
}

// TestNoCallsNoServer checks the calls that need no round trip.
func TestNoCallsNoServer(t *testing.T) {
	t.Parallel()
	cfg, err := withDefaults(Config{Hosts: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	s := newStore(nil, cfg)
	ctx := t.Context()

	pos, err := s.Append(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, pos)
	devs, err := s.Devices(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, devs)
	ids, err := s.DeviceIDsByAlias(ctx, "app", nil)
	require.NoError(t, err)
	require.Empty(t, ids)
	ids, err = s.DeviceIDsByAlias(ctx, "app", []string{""})
	require.NoError(t, err)
	require.Empty(t, ids)

	_, err = s.Append(ctx, []store.Entry{{DeviceID: ""}})
	require.ErrorContains(t, err, "no device id")
	huge := store.Message{Body: strings.Repeat("x", maxRecordBytes)}
	_, err = s.Append(ctx, []store.Entry{{DeviceID: "d", Message: huge}})
	require.ErrorIs(t, err, ErrRecordTooBig, "more than any record can hold fails before a round trip")
	require.Error(t, s.PutDevice(ctx, &store.Device{}))
	_, err = s.Advance(ctx, "d", store.Mark(9), 1)
	require.ErrorContains(t, err, "unknown mark")
	_, err = s.Watermark(ctx, "d", store.Mark(9))
	require.ErrorContains(t, err, "unknown mark")
}
