package oppo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

type answer struct {
	Code    sendkit.Code    `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

type outcome int

const (
	rejected outcome = iota
	dead
	tokenRefused
	badCredentials
	retry
	retryTomorrow
)

// classify maps an OPPO return code; see the package documentation.
func classify(code int64) outcome {
	switch code {
	case 10000:
		return dead
	case 11, 29:
		return tokenRefused
	case 14, 15, 16, 17, 26, 27, 28, 30:
		return badCredentials
	case -2, -1, 13, 55:
		return retry
	case 33:
		return retryTomorrow
	default:
		return rejected
	}
}

// decode reads OPPO's JSON envelope, or maps a bare HTTP failure.
func decode(status int, h http.Header, body []byte, now time.Time) (answer, error) {
	var a answer
	jsonErr := json.Unmarshal(body, &a)
	if status == http.StatusTooManyRequests || status >= 500 || (status/100 != 2 && (jsonErr != nil || a.Code.Value == 0)) {
		return a, sendkit.StatusError(Vendor, status, h, now)
	}
	if jsonErr != nil || !a.Code.Set {
		return a, fmt.Errorf("oppo: unreadable answer: %w", relay.ErrRejected)
	}
	return a, nil
}

func codeError(a answer, status int, h http.Header, token string, now time.Time) error {
	reason := sendkit.Reason(fmt.Sprintf("%d %s", a.Code.Value, a.Message), token)
	switch classify(a.Code.Value) {
	case dead:
		return &relay.DeadTokenError{Vendor: Vendor, Reason: reason}
	case tokenRefused:
		return fmt.Errorf("oppo: %s: %w", reason, sendkit.ErrTokenRefused)
	case badCredentials:
		return fmt.Errorf("oppo: %s: %w", reason, relay.ErrBadCredentials)
	case retry:
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.RetryAfter(h, now)}
	case retryTomorrow:
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.UntilQuotaReset(now)}
	default:
		return fmt.Errorf("oppo: %s: %w", reason, relay.ErrRejected)
	}
}

// parseSend turns the unicast answer into a result or a contract error.
func parseSend(status int, h http.Header, body []byte, token string, now time.Time) (relay.Result, error) {
	a, err := decode(status, h, body, now)
	if err != nil {
		return relay.Result{}, err
	}
	if a.Code.Value != 0 {
		return relay.Result{}, codeError(a, status, h, token, now)
	}
	var data struct {
		MessageID string `json:"messageId"`
	}
	_ = json.Unmarshal(a.Data, &data)
	return relay.Result{VendorID: data.MessageID}, nil
}

// parseAuth returns the auth_token of an auth answer. Refusals are
// relay.ErrBadCredentials except throttling, which is retryable.
func parseAuth(status int, h http.Header, body []byte, now time.Time) (string, error) {
	a, err := decode(status, h, body, now)
	if err != nil {
		return "", err
	}
	if a.Code.Value != 0 {
		err := codeError(a, status, h, "", now)
		if _, retry := relay.IsRetryable(err); retry {
			return "", err
		}
		return "", fmt.Errorf("oppo: auth refused (%d): %w", a.Code.Value, relay.ErrBadCredentials)
	}
	var data struct {
		AuthToken string `json:"auth_token"`
	}
	if json.Unmarshal(a.Data, &data) != nil || data.AuthToken == "" {
		return "", fmt.Errorf("oppo: auth answer without auth_token: %w", relay.ErrBadCredentials)
	}
	return data.AuthToken, nil
}
