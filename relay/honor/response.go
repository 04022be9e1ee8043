package honor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

type answer struct {
	Code    sendkit.Code `json:"code"`
	Message string       `json:"message"`
	Data    struct {
		SendResult   bool     `json:"sendResult"`
		RequestID    string   `json:"requestId"`
		FailTokens   []string `json:"failTokens"`
		ExpireTokens []string `json:"expireTokens"`
	} `json:"data"`
}

type outcome int

const (
	rejected outcome = iota
	success
	dead
	tokenRefused
	badCredentials
	retry
	retryTomorrow
)

// classify maps an Honor code; see the package documentation.
func classify(code int64) outcome {
	switch code {
	case 200:
		return success
	case 80300007:
		return dead
	case 401, 403, 80200001, 80200003:
		return tokenRefused
	case 10205, 80300002:
		return badCredentials
	case 500, 502, 503, 81000001:
		return retry
	case 80200047, 80300029:
		return retryTomorrow
	default:
		return rejected
	}
}

// parseSend turns the sendMessage answer into a result or a contract error.
func parseSend(status int, h http.Header, body []byte, token string, now time.Time) (relay.Result, error) {
	var a answer
	jsonErr := json.Unmarshal(body, &a)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return relay.Result{}, fmt.Errorf("honor: http %d: %w", status, sendkit.ErrTokenRefused)
	}
	if status == http.StatusTooManyRequests || status >= 500 || (status/100 != 2 && (jsonErr != nil || a.Code.Value == 0)) {
		return relay.Result{}, sendkit.StatusError(Vendor, status, h, now)
	}
	if jsonErr != nil || !a.Code.Set {
		return relay.Result{}, fmt.Errorf("honor: unreadable answer: %w", relay.ErrRejected)
	}
	reason := sendkit.Reason(fmt.Sprintf("%d %s", a.Code.Value, a.Message), token)
	if token != "" && slices.Contains(a.Data.ExpireTokens, token) {
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: "token expired: " + reason}
	}
	if token != "" && slices.Contains(a.Data.FailTokens, token) {
		return relay.Result{}, fmt.Errorf("honor: token failed: %s: %w", reason, relay.ErrRejected)
	}
	switch classify(a.Code.Value) {
	case success:
		if status/100 != 2 {
			return relay.Result{}, sendkit.StatusError(Vendor, status, h, now)
		}
		return relay.Result{VendorID: a.Data.RequestID}, nil
	case dead:
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: reason}
	case tokenRefused:
		return relay.Result{}, fmt.Errorf("honor: %s: %w", reason, sendkit.ErrTokenRefused)
	case badCredentials:
		return relay.Result{}, fmt.Errorf("honor: %s: %w", reason, relay.ErrBadCredentials)
	case retry:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.RetryAfter(h, now)}
	case retryTomorrow:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.UntilQuotaReset(now)}
	default:
		return relay.Result{}, fmt.Errorf("honor: %s: %w", reason, relay.ErrRejected)
	}
}
