package fcm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// fcmErrorType is the @type of the detail that carries FCM's errorCode.
const fcmErrorType = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

// apiError is the decoded google.rpc.Status error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []struct {
		Type            string `json:"@type"`
		ErrorCode       string `json:"errorCode"`
		FieldViolations []struct {
			Field string `json:"field"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

// parseError decodes an FCM error body; a body that is not one (an HTML
// page from a proxy, say) gives a zero apiError.
func parseError(body []byte) apiError {
	var env struct {
		Error apiError `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return apiError{}
	}
	return env.Error
}

// errorCode is the FcmError errorCode, or "".
func (e apiError) errorCode() string {
	for _, d := range e.Details {
		if d.Type == fcmErrorType && d.ErrorCode != "" {
			return d.ErrorCode
		}
	}
	return ""
}

// aboutToken reports whether an INVALID_ARGUMENT blames the registration
// token rather than the message.
func (e apiError) aboutToken() bool {
	for _, d := range e.Details {
		for _, v := range d.FieldViolations {
			if v.Field == "message.token" {
				return true
			}
		}
	}
	return strings.Contains(strings.ToLower(e.Message), "registration token")
}

// classify turns an FCM error response into the relay error for it.
func classify(status int, h http.Header, body []byte, token string) error {
	e := parseError(body)
	code := e.errorCode()
	reason := code
	if reason == "" {
		reason = e.Status
	}
	if reason == "" {
		reason = http.StatusText(status)
	}
	reason = sendkit.Reason(reason, token)
	switch {
	case code == "UNREGISTERED", code == "SENDER_ID_MISMATCH":
		return &relay.DeadTokenError{Vendor: Vendor, Reason: reason}
	case status == http.StatusTooManyRequests || status >= 500 ||
		code == "QUOTA_EXCEEDED" || code == "UNAVAILABLE" || code == "INTERNAL":
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: reason, After: sendkit.RetryAfter(h, time.Now())}
	case status == http.StatusBadRequest && (code == "INVALID_ARGUMENT" || e.Status == "INVALID_ARGUMENT") && e.aboutToken():
		return &relay.DeadTokenError{Vendor: Vendor, Reason: "INVALID_ARGUMENT"}
	case status == http.StatusUnauthorized || status == http.StatusForbidden || code == "THIRD_PARTY_AUTH_ERROR":
		return fmt.Errorf("fcm: status %d %s: %w", status, reason, relay.ErrBadCredentials)
	default:
		return fmt.Errorf("fcm: status %d %s: %s: %w", status, reason, sendkit.Reason(e.Message, token), relay.ErrRejected)
	}
}
