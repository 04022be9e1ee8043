package dispatcher

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/mopush/mopush/internal/httpx"
)

// DefaultFallbacks is how many fallback nodes a dispatch answer lists when
// Handler is given 0.
const DefaultFallbacks = 2

// MaxDeviceIDLen is the longest device_id, in bytes, that the dispatch
// endpoint accepts.
const MaxDeviceIDLen = 128

// Problem types of the dispatch endpoint.
const (
	slugBadRequest       = "bad-request"
	slugNoConnectors     = "no-connectors"
	slugMethodNotAllowed = "method-not-allowed"
)

// Dispatch is the body of a 200 answer to GET /v1/dispatch.
type Dispatch struct {
	DeviceID  string     `json:"device_id"`
	NodeID    string     `json:"node_id"`
	URL       string     `json:"url"`       // the owner's WSURL, or the first fallback's when the owner is known to be down
	Fallbacks []Fallback `json:"fallbacks"` // the next ring nodes, in order; never null
}

// Fallback is a connector to try when the owner cannot be reached.
type Fallback struct {
	NodeID string `json:"node_id"`
	URL    string `json:"url"`
}

type dispatcher struct {
	src       RingSource
	fallbacks int
	metrics   *Metrics
	down      func(nodeID string) bool // nil: every node is taken as up
}

// HandlerOption changes a Handler.
type HandlerOption func(*dispatcher)

// WithDown makes the answer put the nodes for which down reports true
// after the others: a device then dials a connector that is up first, and
// one known to be unreachable (for example crashed, while its registration
// has not expired yet) only if every other fails. down must be cheap and
// safe for concurrent use.
func WithDown(down func(nodeID string) bool) HandlerOption {
	return func(d *dispatcher) { d.down = down }
}

// Handler serves GET /v1/dispatch?device_id=ID: the connector that owns the
// device on src's current ring and up to fallbacks next ring nodes (0 means
// DefaultFallbacks, a negative number none). A missing or oversized
// device_id is a 400 bad-request problem, an empty ring a 503
// no-connectors problem with Retry-After: 1; no answer may be cached.
// Requests are counted on m, which may be nil.
func Handler(src RingSource, fallbacks int, log *slog.Logger, m *Metrics, opts ...HandlerOption) http.Handler {
	switch {
	case fallbacks == 0:
		fallbacks = DefaultFallbacks
	case fallbacks < 0:
		fallbacks = 0
	}
	log = orNop(log).With("component", "dispatcher")
	d := &dispatcher{src: src, fallbacks: fallbacks, metrics: m}
	for _, o := range opts {
		o(d)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/dispatch", httpx.Handle(log, m.observe, d.dispatch))
	mux.Handle("/v1/dispatch", httpx.Handle(log, m.observe, methodNotAllowed))
	return mux
}

func (d *dispatcher) dispatch(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	id := r.URL.Query().Get("device_id")
	if id == "" || len(id) > MaxDeviceIDLen {
		return httpx.Errorf(http.StatusBadRequest, slugBadRequest, "Bad request",
			fmt.Sprintf("device_id is required and at most %d bytes", MaxDeviceIDLen))
	}
	owners := d.src.Ring().Owners(id, 1+d.fallbacks)
	if len(owners) == 0 {
		e := httpx.Errorf(http.StatusServiceUnavailable, slugNoConnectors, "No connectors",
			"no connector is on the ring")
		e.Header = http.Header{"Retry-After": {"1"}}
		return e
	}
	if d.down != nil && slices.ContainsFunc(owners, func(n Node) bool { return d.down(n.ID) }) {
		// The ring's order among the nodes that are up, then among those
		// that are down.
		var up, down []Node
		for _, n := range owners {
			if d.down(n.ID) {
				down = append(down, n)
			} else {
				up = append(up, n)
			}
		}
		owners = append(up, down...)
	}
	out := Dispatch{DeviceID: id, NodeID: owners[0].ID, URL: owners[0].WSURL, Fallbacks: make([]Fallback, 0, len(owners)-1)}
	for _, n := range owners[1:] {
		out.Fallbacks = append(out.Fallbacks, Fallback{NodeID: n.ID, URL: n.WSURL})
	}
	d.metrics.observe(outcomeOK)
	return httpx.WriteJSON(w, http.StatusOK, out)
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) error {
	e := httpx.Errorf(http.StatusMethodNotAllowed, slugMethodNotAllowed, "Method not allowed", "use GET")
	e.Header = http.Header{"Allow": {"GET, HEAD"}}
	return e
}

func orNop(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
