package node

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/secretbox"
	"github.com/mopush/mopush/relay/engine"
	"github.com/mopush/mopush/relay/vendors"
)

// buildRelay creates the vendor registry (credentials for the gateway's
// API and senders for the relay) and, when this node runs the relay role,
// the relay engine.
func (n *Node) buildRelay() error {
	key, err := credentialsKey(n.cfg.Relay.CredentialsKey, n.cfg.Server.DataDir)
	if err != nil {
		return err
	}
	box, err := secretbox.New(key)
	if err != nil {
		return err
	}
	n.vendors = vendors.NewRegistry(box, n.store, n.relayEnv())
	if n.roles.Relay {
		rc := n.cfg.Relay
		ec := engine.Config{Workers: rc.Workers, PerCredential: rc.PerCredential, MaxAttempts: rc.MaxAttempts}
		if cs, ok := n.store.(*clusterStore); ok {
			ec.Renewer = cs
			if cs.redis != nil {
				ec.Targets = cs.redis // one round trip per check
			}
		}
		n.relay = engine.New(ec, n.bus.JS, n.store, n.vendors, n.log, n.reg)
	}
	return nil
}

// relayEnv is the vendor environment: the configured endpoints, or the
// one given in Options, and the shared token cache when the node has one.
func (n *Node) relayEnv() vendors.Env {
	env := vendors.Env{Endpoints: n.cfg.Relay.Endpoints, AllowedHosts: n.cfg.Relay.AllowedHosts}
	if n.opts.RelayEnv != nil {
		env = *n.opts.RelayEnv
	}
	if n.tokens != nil && env.SharedTokens == nil {
		env.SharedTokens = n.tokens.cache
	}
	return env
}

// credentialsKey returns the configured key, or the one kept in the data
// directory, generating it at first start.
func credentialsKey(configured, dataDir string) ([]byte, error) {
	if configured != "" {
		return secretbox.ParseKey(configured)
	}
	path := filepath.Join(dataDir, "credentials.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return secretbox.ParseKey(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read credentials key: %w", err)
	}
	key := ids.Secret(secretbox.KeySize)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write credentials key: %w", err)
	}
	return key, nil
}
