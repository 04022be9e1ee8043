package apns

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// deadReasons are the APNs reasons that mean the device token is gone.
var deadReasons = map[string]bool{
	"Unregistered":           true,
	"ExpiredToken":           true,
	"BadDeviceToken":         true,
	"DeviceTokenNotForTopic": true,
}

// credentialReasons are the APNs reasons that blame the provider's
// credentials.
var credentialReasons = map[string]bool{
	"InvalidProviderToken":      true,
	"ExpiredProviderToken":      true,
	"MissingProviderToken":      true,
	"BadCertificate":            true,
	"BadCertificateEnvironment": true,
	"Forbidden":                 true,
	"UnrelatedKeyIdInToken":     true,
}

// classify turns an APNs refusal into the relay error for it; h holds the
// response headers (for Retry-After).
func classify(status int, reason string, h http.Header) error {
	reason = sendkit.Reason(reason, "")
	switch {
	case deadReasons[reason]:
		return &relay.DeadTokenError{Vendor: Vendor, Reason: reason}
	case status == http.StatusTooManyRequests || status >= 500:
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: reasonOr(reason, status),
			After: sendkit.RetryAfter(h, time.Now())}
	case reason == "ExpiredProviderToken":
		return fmt.Errorf("apns: %s: %w", reason, sendkit.ErrTokenRefused)
	case credentialReasons[reason] || status == http.StatusForbidden:
		return fmt.Errorf("apns: %s: %w", reasonOr(reason, status), relay.ErrBadCredentials)
	default:
		return fmt.Errorf("apns: status %d: %s: %w", status, reasonOr(reason, status), relay.ErrRejected)
	}
}

func reasonOr(reason string, status int) string {
	if reason != "" {
		return reason
	}
	return http.StatusText(status)
}

// transportError maps a failed push. A response APNs sent but apns2 could
// not decode (an HTML 502 from a proxy, say) is classified by its status;
// anything else is a transport failure, worth a retry unless the caller's
// context ended. No message carries the request URL, which holds the
// device token.
func transportError(ctx context.Context, x *exchange, err error) error {
	if ctx.Err() == nil && x.status != 0 && x.status != http.StatusOK {
		return classify(x.status, "", x.header)
	}
	return sendkit.TransportError(ctx, Vendor, err)
}
