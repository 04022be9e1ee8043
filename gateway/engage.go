package gateway

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// engagementRequest is an open or a click a device reports over HTTP, as
// it does with a Report frame on its connection (protocol.md 9.7).
type engagementRequest struct {
	Kind   string `json:"kind"`
	PushID string `json:"push_id"`
}

type engagementResponse struct {
	// Counted is false when this device's report of the kind was counted
	// before.
	Counted bool `json:"counted"`
}

// reportEngagement counts an open or a click of a push of the device's
// app, once per device, push and kind: for apps that show a vendor's
// notification without a connection (a web push service worker, a
// notification tapped before the app connects).
func (g *Gateway) reportEngagement(w http.ResponseWriter, r *http.Request) error {
	dev, err := g.authDevice(r)
	if err != nil {
		return err
	}
	var req engagementRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	es, ok := g.store.(store.Engagements)
	if !ok {
		return errEngagementsUnsupported()
	}
	ctx := r.Context()
	p, err := g.store.Push(ctx, req.PushID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.AppID != dev.AppID) {
		// Another app's push reads as unknown: ids are not secret, but
		// what exists in another app is none of this device's business.
		return errInvalid("unknown-push", "Unknown push", "no push of this device's app has that id")
	}
	if err != nil {
		return fmt.Errorf("load push: %w", err)
	}
	counted, err := es.CountEngagement(ctx, req.PushID, dev.ID, req.Kind)
	if errors.Is(err, store.ErrUnsupported) {
		return errEngagementsUnsupported()
	}
	if err != nil {
		return fmt.Errorf("count engagement: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusOK, engagementResponse{Counted: counted})
}

// check refuses a kind other than open and click, and a push id that no
// push can have.
func (req *engagementRequest) check() error {
	if req.Kind != store.EngagementOpen && req.Kind != store.EngagementClick {
		return errInvalid("invalid-engagement", "Invalid engagement", `kind must be "open" or "click"`)
	}
	if req.PushID == "" || len(req.PushID) > ids.MaxLen {
		return errInvalid("invalid-engagement", "Invalid engagement",
			fmt.Sprintf("push_id must be 1 to %d bytes", ids.MaxLen))
	}
	return nil
}

func errEngagementsUnsupported() error {
	return httpx.Errorf(http.StatusNotImplemented, "engagements-unsupported", "Engagements not supported",
		"this deployment's push store does not count opens and clicks")
}
