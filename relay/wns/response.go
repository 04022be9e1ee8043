package wns

import (
	"fmt"
	"net/http"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// parseSend maps a WNS answer, which lives in the status and X-WNS-*
// headers, onto a result or a contract error.
func parseSend(status int, h http.Header, now time.Time) (relay.Result, error) {
	reason := http.StatusText(status)
	if d := h.Get("X-WNS-Error-Description"); d != "" {
		reason = sendkit.Reason(d, "")
	}
	if s := h.Get("X-WNS-Status"); s != "" && status != http.StatusOK {
		reason += " (" + sendkit.Reason(s, "") + ")"
	}
	switch {
	case status == http.StatusOK:
		return relay.Result{VendorID: sendkit.Reason(h.Get("X-WNS-Msg-ID"), "")}, nil
	case status == http.StatusNotFound || status == http.StatusGone:
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: fmt.Sprintf("%d %s", status, reason)}
	case status == http.StatusUnauthorized:
		return relay.Result{}, fmt.Errorf("wns: 401 %s: %w", reason, sendkit.ErrTokenRefused)
	case status == http.StatusForbidden:
		return relay.Result{}, fmt.Errorf("wns: 403 %s: %w", reason, relay.ErrBadCredentials)
	case status == http.StatusNotAcceptable || status == http.StatusTooManyRequests || status >= 500:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.RetryAfter(h, now)}
	default:
		return relay.Result{}, fmt.Errorf("wns: %d %s: %w", status, reason, relay.ErrRejected)
	}
}
