package mongostore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// poolGauge follows the driver's pool events: how many connections are
// checked out now, the most at once, and how many were created.
type poolGauge struct {
	mu      sync.Mutex
	out     int
	peak    int
	created int
}

func (g *poolGauge) event(e *event.PoolEvent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch e.Type {
	case event.ConnectionCheckedOut:
		g.out++
		g.peak = max(g.peak, g.out)
	case event.ConnectionCheckedIn:
		g.out--
	case event.ConnectionCreated:
		g.created++
	}
}

func (g *poolGauge) read() (out, peak, created int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out, g.peak, g.created
}

func (g *poolGauge) monitor(o *options.ClientOptions) {
	o.SetPoolMonitor(&event.PoolMonitor{Event: g.event})
}

// TestLazySessions opens 500 request sessions at once, each doing one read,
// 50 ms of work that is not the database's, one write, and two Closes. The
// sessions hold no connection: while all 500 are open and none has run an
// operation, no connection is checked out, and at any moment only the
// operations on the wire hold one. A session that held a connection for its
// lifetime would need 500.
func TestLazySessions(t *testing.T) {
	t.Parallel()
	const (
		requests = 500
		poolSize = 16
		work     = 50 * time.Millisecond
	)
	var gauge poolGauge
	s := openStoreWith(t, Config{MaxPoolSize: poolSize, Timeout: time.Minute}, gauge.monitor)
	ctx := t.Context()
	app := &store.App{ID: ids.New(), Name: "lazy", Key: ids.New()}
	require.NoError(t, s.CreateApp(ctx, app))
	push := &store.Push{ID: ids.New(), AppID: app.ID}
	_, err := s.CreatePush(ctx, push, "")
	require.NoError(t, err)
	outBefore, _, _ := gauge.read()
	require.Zero(t, outBefore)

	var opened, done sync.WaitGroup
	var failures errList
	start := make(chan struct{})
	opened.Add(requests)
	for range requests {
		done.Go(func() {
			ss := s.Session()
			opened.Done()
			<-start
			failures.add(request(ctx, ss, app.ID, push.ID, work))
		})
	}
	opened.Wait()
	outOpen, _, _ := gauge.read()
	close(start)
	done.Wait()
	require.NoError(t, failures.err())

	out, peak, created := gauge.read()
	t.Logf("%d sessions open at once held %d connections; during the run at most %d were checked out at once "+
		"(pool limit %d, %d connections created); a connection per request would hold %d",
		requests, outOpen, peak, poolSize, created, requests)
	require.Zero(t, outOpen, "open sessions hold no connection")
	require.Zero(t, out, "every connection went back to the pool")
	require.Positive(t, peak)
	require.LessOrEqual(t, peak, poolSize)

	got, err := s.Push(ctx, push.ID)
	require.NoError(t, err)
	require.EqualValues(t, requests, got.Counts.Delivered, "every request wrote")
}

// request is one request's life on a session.
func request(ctx context.Context, ss *Session, appID, pushID string, work time.Duration) error {
	if _, err := ss.AppByID(ctx, appID); err != nil {
		return err
	}
	if err := simulateWork(ctx, work); err != nil {
		return err
	}
	if err := ss.AddCounts(ctx, pushID, store.Counts{Delivered: 1}); err != nil {
		return err
	}
	if err := ss.Close(); err != nil {
		return err
	}
	return ss.Close()
}

// simulateWork stands for d of work that is not the database's: rendering,
// calling another service. It is not a wait for an outcome.
func simulateWork(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestSessionClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	ctx := t.Context()
	ss := s.Session()
	app := &store.App{ID: ids.New(), Name: "n", Key: ids.New()}
	require.NoError(t, ss.CreateApp(ctx, app))
	push := &store.Push{ID: ids.New(), AppID: app.ID}
	_, err := ss.CreatePush(ctx, push, "")
	require.NoError(t, err)
	listed, err := ss.PushIDsByApp(ctx, app.ID, "", 10)
	require.NoError(t, err)
	require.Equal(t, []string{push.ID}, listed)
	apps, err := ss.ListApps(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, apps, 1)
	require.Equal(t, app.ID, apps[0].ID)
	require.False(t, ss.Closed())
	for range 3 {
		require.NoError(t, ss.Close())
	}
	require.True(t, ss.Closed())

	_, err = ss.AppByID(ctx, app.ID)
	require.ErrorIs(t, err, ErrSessionClosed)
	_, err = ss.ListApps(ctx, "", 10)
	require.ErrorIs(t, err, ErrSessionClosed)
	_, err = ss.PushIDsByApp(ctx, app.ID, "", 10)
	require.ErrorIs(t, err, ErrSessionClosed)
	require.ErrorIs(t, ss.AddCounts(ctx, "p", store.Counts{}), ErrSessionClosed)
	_, err = ss.CountEngagement(ctx, "p", "d", store.EngagementOpen)
	require.ErrorIs(t, err, ErrSessionClosed)
	_, err = ss.CreatePush(ctx, &store.Push{ID: ids.New()}, "")
	require.ErrorIs(t, err, ErrSessionClosed)
	_, err = ss.Devices(ctx, []string{"d"})
	require.ErrorIs(t, err, ErrSessionClosed)
	_, err = ss.Credential(ctx, app.ID, "apns")
	require.ErrorIs(t, err, ErrSessionClosed)

	got, err := s.Session().AppByID(ctx, app.ID)
	require.NoError(t, err, "the store and other sessions go on")
	require.Equal(t, app.ID, got.ID)
}

// errList collects errors of goroutines, which must not call require.
type errList struct {
	mu   sync.Mutex
	list []error
	n    atomic.Int64
}

func (e *errList) add(err error) {
	if err == nil {
		return
	}
	e.n.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) < 10 {
		e.list = append(e.list, err)
	}
}

func (e *errList) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) == 0 {
		return nil
	}
	return fmt.Errorf("%d failures, the first: %w", e.n.Load(), errors.Join(e.list...))
}
