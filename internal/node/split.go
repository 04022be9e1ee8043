package node

import (
	"errors"
	"fmt"
	"github.com/mopush/mopush/internal/config"
)

// ErrSplitConfig means roles were asked to run apart with a configuration
// that only works in one process.
var ErrSplitConfig = errors.New("node: configuration unfit for roles running apart")

// checkSplit refuses, at start and with a clear message, configurations
// that would silently break when roles run in separate processes.
func checkSplit(cfg config.Config, roles Roles) error {
	if roles.All() {
		return nil
	}
	switch {
	case cfg.Bus.URL == "":
		return fmt.Errorf("%w: bus.url must name the NATS cluster every role shares (an embedded NATS is private to one process)", ErrSplitConfig)
	case cfg.Store.Backend == "pebble":
		return fmt.Errorf("%w: store.backend = \"pebble\" keeps data inside one process; set store.backend = \"cluster\" with store.redis and store.mongo", ErrSplitConfig)
	case cfg.Server.InternalToken == "" && (roles.Gateway || roles.Connector):
		return fmt.Errorf("%w: server.internal_token must be set, the same on every node, for the gateway to call connectors", ErrSplitConfig)
	}
	return nil
}
