package hms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Push Kit result codes the sender acts on.
const (
	codeSuccess          = 80000000
	codePartialSuccess   = 80100000
	codeTTLPassed        = 80100004
	codeAuthError        = 80200001
	codeTokenExpired     = 80200003
	codeJWTExpired       = 80200005
	codeNoPermission     = 80300002
	codeAllTokensInvalid = 80300007
	codeOAuthFailed      = 80600003
	codeInternal         = 81000001
)

// tokenRefusedError means Push Kit refused the access token. It wraps
// relay.ErrBadCredentials; Send refreshes the token once before returning
// it.
type tokenRefusedError struct{ reason string }

// Error describes the refusal.
func (e *tokenRefusedError) Error() string {
	return fmt.Sprintf("hms: access token refused: %s: %v", e.reason, relay.ErrBadCredentials)
}

// Unwrap returns relay.ErrBadCredentials.
func (e *tokenRefusedError) Unwrap() error { return relay.ErrBadCredentials }

// response is a Push Kit answer.
type response struct {
	Code      sendkit.Code `json:"code"`
	Msg       string       `json:"msg"`
	RequestID string       `json:"requestId"`
}

// parseResponse decodes a Push Kit answer; a body that is not one (an HTML
// page from a proxy, say) gives a zero response.
func parseResponse(body []byte) response {
	var r response
	if json.Unmarshal(body, &r) != nil {
		return response{}
	}
	return r
}

// outcome turns a Push Kit answer for a send to device into the result or
// the relay error for it: the result code decides, the HTTP status only
// when there is no code.
func outcome(status int, h http.Header, body []byte, device string) (relay.Result, error) {
	r := parseResponse(body)
	reason := fmt.Sprintf("%d %s", r.Code.Value, sendkit.Reason(r.Msg, device))
	switch c := r.Code.Value; {
	case c == codeSuccess && status/100 == 2:
		return relay.Result{VendorID: r.RequestID}, nil
	case c == codePartialSuccess:
		return partial(r, device)
	case c == codeAllTokensInvalid:
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: "80300007"}
	case c == codeAuthError || c == codeTokenExpired || (!r.Code.Set && status == http.StatusUnauthorized):
		return relay.Result{}, &tokenRefusedError{reason: reason}
	case c == codeJWTExpired || c == codeNoPermission || c == codeOAuthFailed ||
		(!r.Code.Set && status == http.StatusForbidden):
		return relay.Result{}, fmt.Errorf("hms: %s: %w", reason, relay.ErrBadCredentials)
	case c == codeTTLPassed:
		return relay.Result{}, fmt.Errorf("hms: %s: %w", reason, relay.ErrExpired)
	case c == codeInternal || status == http.StatusTooManyRequests || status >= 500:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason,
			After: sendkit.RetryAfter(h, time.Now())}
	case r.Code.Set:
		return relay.Result{}, fmt.Errorf("hms: status %d: %s: %w", status, reason, relay.ErrRejected)
	case status/100 == 2:
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: status, Reason: "undecodable response"}
	default:
		return relay.Result{}, sendkit.StatusError(Vendor, status, h, time.Now())
	}
}

// partial reads an 80100000 answer, whose msg is a JSON object listing the
// illegal tokens: the send failed if device is among them (or if nothing
// succeeded).
func partial(r response, device string) (relay.Result, error) {
	var detail struct {
		Success       int      `json:"success"`
		Failure       int      `json:"failure"`
		IllegalTokens []string `json:"illegal_tokens"`
	}
	err := json.Unmarshal([]byte(r.Msg), &detail)
	if err == nil && !slices.Contains(detail.IllegalTokens, device) && detail.Success > 0 {
		return relay.Result{VendorID: r.RequestID}, nil
	}
	return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: "80100000 illegal token"}
}
