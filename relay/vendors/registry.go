package vendors

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	"github.com/mopush/mopush/internal/secretbox"
	"github.com/mopush/mopush/relay"
)

// CredentialStore reads sealed credentials.
type CredentialStore interface {
	Credential(ctx context.Context, appID, vendor string) ([]byte, error)
}

// Registry seals credentials for storage and keeps one sender per app and
// vendor. It is safe for concurrent use.
type Registry struct {
	box   *secretbox.Box
	store CredentialStore
	env   Env

	mu      sync.Mutex
	senders map[string]cached
}

type cached struct {
	sum    [sha256.Size]byte // of the sealed credential it was built from
	sender relay.Sender
}

// NewRegistry returns a registry sealing with box and reading from st.
func NewRegistry(box *secretbox.Box, st CredentialStore, env Env) *Registry {
	return &Registry{box: box, store: st, env: env, senders: map[string]cached{}}
}

func slot(appID, vendor string) string { return appID + "/" + vendor }

// Check validates a credential by building a sender from it.
func (r *Registry) Check(vendor string, raw []byte) error {
	s, err := Build(vendor, raw, r.env)
	if err != nil {
		return err
	}
	closeSender(s)
	return nil
}

// Seal seals a credential for an app's vendor slot.
func (r *Registry) Seal(appID, vendor string, raw []byte) []byte {
	return r.box.Seal(raw, slot(appID, vendor))
}

// Sender returns the sender of an app's vendor, built from its current
// credential; errors wrap store.ErrNotFound when there is none and
// relay.ErrBadCredentials when it does not open or parse.
func (r *Registry) Sender(ctx context.Context, appID, vendor string) (relay.Sender, error) {
	sealed, err := r.store.Credential(ctx, appID, vendor)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sealed)
	key := slot(appID, vendor)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.senders[key]; ok && c.sum == sum {
		return c.sender, nil
	}
	raw, err := r.box.Open(sealed, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", relay.ErrBadCredentials, err)
	}
	s, err := Build(vendor, raw, r.env)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", relay.ErrBadCredentials, err)
	}
	if old, ok := r.senders[key]; ok {
		closeSender(old.sender)
	}
	r.senders[key] = cached{sum: sum, sender: s}
	return s, nil
}

// Close releases every cached sender.
func (r *Registry) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, c := range r.senders {
		closeSender(c.sender)
		delete(r.senders, k)
	}
}

func closeSender(s relay.Sender) {
	switch c := s.(type) {
	case io.Closer:
		c.Close()
	case interface{ Close() }:
		c.Close()
	}
}
