package xiaomi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

type sendResponse struct {
	Result      string       `json:"result"`
	Code        sendkit.Code `json:"code"`
	Description string       `json:"description"`
	Reason      string       `json:"reason"`
	Data        struct {
		ID string `json:"id"`
	} `json:"data"`
}

type outcome int

const (
	rejected outcome = iota
	dead
	badCredentials
	retry
	retryTomorrow
)

// classify maps a MiPush error code; see the package documentation for
// where each code comes from.
func classify(code int64) outcome {
	switch code {
	case 20301, 66007:
		return dead
	case 21301, 21302, 22000, 22006, 22007, 22022, 10031, 10036:
		return badCredentials
	case 10001, 10002, 10003, 10027, 200002:
		return retry
	case 10034, 200001:
		return retryTomorrow
	default:
		return rejected
	}
}

// parseSend turns MiPush's answer into a result or an error of the relay
// contract.
func parseSend(status int, h http.Header, body []byte, token string, now time.Time) (relay.Result, error) {
	var r sendResponse
	jsonErr := json.Unmarshal(body, &r)
	if status == http.StatusTooManyRequests || status >= 500 ||
		(status/100 != 2 && (jsonErr != nil || r.Code.Value == 0)) {
		return relay.Result{}, sendkit.StatusError(Vendor, status, h, now)
	}
	if jsonErr != nil {
		return relay.Result{}, fmt.Errorf("xiaomi: unreadable answer: %w", relay.ErrRejected)
	}
	if r.Result == "ok" && r.Code.Value == 0 {
		return relay.Result{VendorID: r.Data.ID}, nil
	}
	reason := sendkit.Reason(fmt.Sprintf("%d %s %s", r.Code.Value, r.Reason, r.Description), token)
	switch classify(r.Code.Value) {
	case dead:
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: reason}
	case badCredentials:
		return relay.Result{}, fmt.Errorf("xiaomi: %s: %w", reason, relay.ErrBadCredentials)
	case retry:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.RetryAfter(h, now)}
	case retryTomorrow:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.UntilQuotaReset(now)}
	default:
		return relay.Result{}, fmt.Errorf("xiaomi: %s: %w", reason, relay.ErrRejected)
	}
}
