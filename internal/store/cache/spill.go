package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/cockroachdb/pebble"
)

// Spiller stores values too large to keep in memory. The cache calls it
// without holding any lock, possibly from many goroutines at once.
type Spiller interface {
	// Put stores val under key, replacing any earlier value.
	Put(key string, val []byte) error
	// Get returns the value under key and whether there is one. The caller
	// owns the returned slice.
	Get(key string) ([]byte, bool, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(key string) error
}

var _ Spiller = (*PebbleSpill)(nil)

// PebbleSpill is a Spiller on a Pebble LSM in a local directory. It is
// scratch space: writes skip the write-ahead log and are not synced, and
// nothing survives Close of a directory it created itself.
type PebbleSpill struct {
	db     *pebble.DB
	dir    string
	remove bool // the directory is temporary and removed on Close

	closeOnce sync.Once
	closeErr  error
}

// OpenPebbleSpill opens a spill store in dir, or in a new temporary
// directory removed again by Close when dir is empty. logger receives
// Pebble's messages at debug level; nil discards them.
func OpenPebbleSpill(dir string, logger *slog.Logger) (*PebbleSpill, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &PebbleSpill{dir: dir}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mopush-spill-")
		if err != nil {
			return nil, fmt.Errorf("make spill dir: %w", err)
		}
		p.dir, p.remove = tmp, true
	}
	db, err := pebble.Open(p.dir, &pebble.Options{
		DisableWAL: true,
		Logger:     pebbleLogger{logger},
	})
	if err != nil {
		if p.remove {
			os.RemoveAll(p.dir) //nolint:errcheck // best effort after a failed open
		}
		return nil, fmt.Errorf("open spill store: %w", err)
	}
	p.db = db
	return p, nil
}

// Put stores val under key.
func (p *PebbleSpill) Put(key string, val []byte) error {
	return p.db.Set([]byte(key), val, pebble.NoSync)
}

// Get returns a copy of the value under key.
func (p *PebbleSpill) Get(key string) ([]byte, bool, error) {
	v, closer, err := p.db.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

// Delete removes key.
func (p *PebbleSpill) Delete(key string) error {
	return p.db.Delete([]byte(key), pebble.NoSync)
}

// Close closes the store and removes its directory if it made it. It is
// safe to call more than once; the cache must not use the store afterwards.
func (p *PebbleSpill) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.db.Close()
		if p.remove {
			p.closeErr = errors.Join(p.closeErr, os.RemoveAll(p.dir))
		}
	})
	return p.closeErr
}

// pebbleLogger sends Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

// Infof logs at debug level: Pebble is chatty about routine work.
func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble", "detail", fmt.Sprintf(format, args...))
}

// Fatalf logs and panics: Pebble expects Fatalf not to return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble fatal", "detail", msg)
	panic("pebble: " + msg)
}
