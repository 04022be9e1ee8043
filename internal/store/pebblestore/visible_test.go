package pebblestore

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// gatedFS holds every sync of the write-ahead log while its gate is
// closed, and records whether the held sync finished.
type gatedFS struct {
	vfs.FS
	mu     sync.Mutex
	gate   chan struct{} // nil: open
	synced atomic.Bool   // the last held sync finished
	held   chan struct{} // closed when a sync starts waiting at the gate
}

func (g *gatedFS) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.held = make(chan struct{}), make(chan struct{})
	g.synced.Store(false)
}

func (g *gatedFS) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gate)
	g.gate = nil
}

func (g *gatedFS) wait() {
	g.mu.Lock()
	gate, held := g.gate, g.held
	g.mu.Unlock()
	if gate == nil {
		return
	}
	select {
	case <-held:
	default:
		close(held)
	}
	<-gate
}

func (g *gatedFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &gatedFile{File: f, g: g}, nil
}

func (g *gatedFS) Create(name string) (vfs.File, error) {
	f, err := g.FS.Create(name)
	return g.wrap(name, f, err)
}

func (g *gatedFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	f, err := g.FS.ReuseForWrite(oldname, newname)
	return g.wrap(newname, f, err)
}

type gatedFile struct {
	vfs.File
	g *gatedFS
}

func (f *gatedFile) sync(do func() error) error {
	f.g.wait()
	err := do()
	f.g.synced.Store(true)
	return err
}

func (f *gatedFile) Sync() error     { return f.sync(f.File.Sync) }
func (f *gatedFile) SyncData() error { return f.sync(f.File.SyncData) }
func (f *gatedFile) SyncTo(length int64) (bool, error) {
	var full bool
	err := f.sync(func() (err error) {
		full, err = f.File.SyncTo(length)
		return err
	})
	return full, err
}

// TestReadSeesOnlyDurableAppends holds an append's log sync, while its
// batch is already visible to readers of the database, and reads the
// stream meanwhile: the read may return the message only once the sync is
// done. A device that got it earlier would hold a number that a crash
// before the sync gives to the next message.
func TestReadSeesOnlyDurableAppends(t *testing.T) {
	ctx := t.Context()
	g := &gatedFS{FS: vfs.NewMem()}
	s, err := Open(Config{Dir: "db", FS: g})
	require.NoError(t, err)
	defer s.Close()
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p1"}}})
	require.NoError(t, err)

	g.close()
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p2"}}})
		appended <- err
	}()
	<-g.held
	// The batch is applied before its sync: the database shows it.
	for {
		_, ok, err := s.get(msgKey("d", 2))
		require.NoError(t, err)
		if ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	type result struct {
		page    store.Page
		err     error
		durable bool // the append's sync had finished when the read returned
	}
	read := make(chan result, 1)
	go func() {
		page, err := s.ReadStream(ctx, "d", pos[0].Epoch, 1, 10)
		read <- result{page, err, g.synced.Load()}
	}()
	time.Sleep(20 * time.Millisecond) // let the read start before the sync ends (it must not need to)
	g.open()
	require.NoError(t, <-appended)
	r := <-read
	require.NoError(t, r.err)
	require.True(t, r.durable, "read %d messages, head %d, before the append was durable", len(r.page.Messages), r.page.Head)
	require.Len(t, r.page.Messages, 1)
	require.Equal(t, "p2", r.page.Messages[0].PushID)
}
