package pebblestore

import (
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// crashable is a store on a memory file system that can lose, as in a power
// cut, every write that was not synced.
type crashable struct {
	t  *testing.T
	fs *vfs.MemFS
	s  *Store
}

func openCrashable(t *testing.T) *crashable {
	c := &crashable{t: t, fs: vfs.NewStrictMem()}
	// The database's directory itself must survive the crash.
	require.NoError(t, c.fs.MkdirAll("db", 0o755))
	root, err := c.fs.OpenDir("")
	require.NoError(t, err)
	require.NoError(t, root.Sync())
	require.NoError(t, root.Close())
	c.reopen()
	return c
}

func (c *crashable) reopen() {
	s, err := Open(Config{Dir: "db", FS: c.fs})
	require.NoError(c.t, err)
	c.s = s
}

// crash closes the store as if the power went: nothing written after the
// last sync survives.
func (c *crashable) crash() {
	c.fs.SetIgnoreSyncs(true)
	require.NoError(c.t, c.s.Close())
	c.fs.ResetToSyncedState()
	c.fs.SetIgnoreSyncs(false)
	c.reopen()
}

func (c *crashable) close() { require.NoError(c.t, c.s.Close()) }

func newPush(n int) *store.Push {
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	return &store.Push{ID: ids.At(now.Add(time.Duration(n) * time.Millisecond)), AppID: "app", Targets: []string{"d1"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func TestDeferredPushIsLostWithoutSync(t *testing.T) {
	ctx := t.Context()
	c := openCrashable(t)
	defer c.close()
	p := newPush(0)
	_, _, err := c.s.CreatePushDeferred(ctx, p, "")
	require.NoError(t, err)
	got, err := c.s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.PushPending, got.State)

	c.crash()
	_, err = c.s.Push(ctx, p.ID)
	require.True(t, errors.Is(err, store.ErrNotFound), "an unsynced push must not survive the crash, got %v", err)
}

func TestSyncSinceMakesDeferredPushDurable(t *testing.T) {
	ctx := t.Context()
	c := openCrashable(t)
	defer c.close()
	p := newPush(0)
	_, mark, err := c.s.CreatePushDeferred(ctx, p, "key")
	require.NoError(t, err)
	require.False(t, c.s.tickets.covers(mark))
	require.NoError(t, c.s.SyncSince(ctx, mark))
	require.True(t, c.s.tickets.covers(mark))

	c.crash()
	got, err := c.s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, p.ID, got.ID)
	pending, err := c.s.PendingPushes(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{p.ID}, pending)
	// The idempotency key was written with it.
	id, err := c.s.CreatePush(ctx, newPush(1), "key")
	require.NoError(t, err)
	require.Equal(t, p.ID, id)
}

func TestAppendCarriesDeferredPush(t *testing.T) {
	ctx := t.Context()
	c := openCrashable(t)
	defer c.close()
	p := newPush(0)
	_, mark, err := c.s.CreatePushDeferred(ctx, p, "")
	require.NoError(t, err)
	_, err = c.s.Append(ctx, []store.Entry{{DeviceID: "d1", Message: store.Message{PushID: p.ID, Title: "t", SentAt: p.CreatedAt}}})
	require.NoError(t, err)
	// The append's sync covered the push: SyncSince has nothing to do.
	require.True(t, c.s.tickets.covers(mark))
	require.NoError(t, c.s.SyncSince(ctx, mark))

	c.crash()
	got, err := c.s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, p.ID, got.ID)
	page, err := c.s.ReadStream(ctx, "d1", 0, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1)
}

func TestSyncBeforeMarkDoesNotCover(t *testing.T) {
	ctx := t.Context()
	c := openCrashable(t)
	defer c.close()
	// A synced write that took its ticket before the push was written
	// cannot have carried it.
	n := c.s.tickets.take()
	_, mark, err := c.s.CreatePushDeferred(ctx, newPush(0), "")
	require.NoError(t, err)
	c.s.tickets.done(n)
	require.False(t, c.s.tickets.covers(mark))
}

func TestSyncTicketsKeepTheHighest(t *testing.T) {
	var tk syncTickets
	a, b := tk.take(), tk.take()
	require.Less(t, a, b)
	tk.done(b)
	tk.done(a) // finishing late does not lower it
	require.Equal(t, b, tk.synced.Load())
	require.True(t, tk.covers(a))
	require.False(t, tk.covers(b))
}

func TestSyncSinceAfterClose(t *testing.T) {
	c := openCrashable(t)
	_, mark, err := c.s.CreatePushDeferred(t.Context(), newPush(0), "")
	require.NoError(t, err)
	c.close()
	require.ErrorIs(t, c.s.SyncSince(t.Context(), mark), ErrClosed)
}

func TestCrashKeepsSyncedPush(t *testing.T) {
	ctx := t.Context()
	c := openCrashable(t)
	defer c.close()
	p := newPush(0)
	_, err := c.s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	c.crash()
	_, err = c.s.Push(ctx, p.ID)
	require.NoError(t, err)
}
