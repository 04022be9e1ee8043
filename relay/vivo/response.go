package vivo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

type answer struct {
	Result    sendkit.Code `json:"result"`
	Desc      string       `json:"desc"`
	TaskID    string       `json:"taskId"`
	AuthToken string       `json:"authToken"`
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

// classify maps a vivo result code; see the package documentation.
func classify(code int64) outcome {
	switch {
	case code == 10302:
		return dead
	case code == 10000:
		return tokenRefused
	case code >= 10200 && code <= 10207, code == 10094, code == 10043, code == 10045:
		return badCredentials
	case code == 10072:
		return retry
	case code == 10070, code == 10071, code == 10073:
		return retryTomorrow
	default:
		return rejected
	}
}

func decode(status int, h http.Header, body []byte, now time.Time) (answer, error) {
	var a answer
	jsonErr := json.Unmarshal(body, &a)
	if status == http.StatusTooManyRequests || status >= 500 || (status/100 != 2 && (jsonErr != nil || a.Result.Value == 0)) {
		return a, sendkit.StatusError(Vendor, status, h, now)
	}
	if jsonErr != nil || !a.Result.Set {
		return a, fmt.Errorf("vivo: unreadable answer: %w", relay.ErrRejected)
	}
	return a, nil
}

func codeError(a answer, status int, h http.Header, token string, now time.Time) error {
	reason := sendkit.Reason(fmt.Sprintf("%d %s", a.Result.Value, a.Desc), token)
	switch classify(a.Result.Value) {
	case dead:
		return &relay.DeadTokenError{Vendor: Vendor, Reason: reason}
	case tokenRefused:
		return fmt.Errorf("vivo: %s: %w", reason, sendkit.ErrTokenRefused)
	case badCredentials:
		return fmt.Errorf("vivo: %s: %w", reason, relay.ErrBadCredentials)
	case retry:
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.RetryAfter(h, now)}
	case retryTomorrow:
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.UntilQuotaReset(now)}
	default:
		return fmt.Errorf("vivo: %s: %w", reason, relay.ErrRejected)
	}
}

// parseSend turns the /message/send answer into a result or a contract
// error.
func parseSend(status int, h http.Header, body []byte, token string, now time.Time) (relay.Result, error) {
	a, err := decode(status, h, body, now)
	if err != nil {
		return relay.Result{}, err
	}
	if a.Result.Value != 0 {
		return relay.Result{}, codeError(a, status, h, token, now)
	}
	return relay.Result{VendorID: a.TaskID}, nil
}

// parseAuth returns the authToken of an auth answer. Refusals are
// relay.ErrBadCredentials except throttling, which is retryable.
func parseAuth(status int, h http.Header, body []byte, now time.Time) (string, error) {
	a, err := decode(status, h, body, now)
	if err != nil {
		return "", err
	}
	if a.Result.Value != 0 {
		err := codeError(a, status, h, "", now)
		if _, retry := relay.IsRetryable(err); retry {
			return "", err
		}
		return "", fmt.Errorf("vivo: auth refused (%d): %w", a.Result.Value, relay.ErrBadCredentials)
	}
	if a.AuthToken == "" {
		return "", fmt.Errorf("vivo: auth answer without authToken: %w", relay.ErrBadCredentials)
	}
	return a.AuthToken, nil
}
