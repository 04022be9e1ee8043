package sendkit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/relay"
)

const (
	// MaxBody is the most of a vendor response that a sender reads.
	MaxBody = 64 << 10
	// maxReason bounds the vendor text kept in an error.
	maxReason = 200
	// DefaultTimeout bounds one vendor call of the default client.
	DefaultTimeout = 15 * time.Second
)

// NewClient returns the default vendor client: TLS with HTTP/2 attempted,
// long-lived pooled connections and an overall timeout per request.
func NewClient() *http.Client {
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     5 * time.Minute,
	}
	return &http.Client{Transport: t, Timeout: DefaultTimeout}
}

// Remaining returns the TTL a message has left at now, rounded up to whole
// seconds, and zero for a message without expiry. A message past its expiry
// gives an error wrapping relay.ErrExpired.
func Remaining(m *relay.Message, now time.Time) (time.Duration, error) {
	d, ok := m.TTL(now)
	if !ok {
		return 0, fmt.Errorf("expired %s ago: %w", (-d).Round(time.Second), relay.ErrExpired)
	}
	if d == 0 {
		return 0, nil
	}
	return (d + time.Second - 1).Truncate(time.Second), nil
}

// Clamp limits a TTL to the vendor's range [lo, hi]; zero stays zero (no
// expiry: the vendor default).
func Clamp(d, lo, hi time.Duration) time.Duration {
	if d == 0 {
		return 0
	}
	return min(max(d, lo), hi)
}

// ReadBody reads at most MaxBody bytes of r.
func ReadBody(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, MaxBody))
}

// RetryAfter returns the wait the Retry-After header asks for, given in
// seconds or as an HTTP date; zero when absent or unparsable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// NotifyID maps a key (a collapse id) to a stable non-negative 31-bit number,
// for vendors whose notifications collapse on an integer id.
func NotifyID(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() & 0x7fffffff)
}

// Reason turns vendor text into an error reason: the device token is masked
// out, control characters are dropped, and the text is cut short.
func Reason(text, token string) string {
	if token != "" {
		text = strings.ReplaceAll(text, token, "<token>")
	}
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	text = strings.TrimSpace(text)
	if len(text) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8Start(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	return text
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// TransportError maps a failed round trip: the caller's own cancellation is
// returned as is, anything else is a *relay.RetryError with status 0.
func TransportError(ctx context.Context, vendor string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", vendor, ctxErr)
	}
	reason := "transport error"
	var nerr net.Error
	switch {
	case errors.As(err, &nerr) && nerr.Timeout():
		reason = "timeout"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		reason = "connection closed"
	}
	return &relay.RetryError{Vendor: vendor, Reason: reason}
}

// StatusError maps an HTTP status that carries no vendor code: 429 and 5xx
// are retryable (honouring Retry-After), 401 and 403 are bad credentials,
// any other status means the vendor refused the message.
func StatusError(vendor string, status int, h http.Header, now time.Time) error {
	text := http.StatusText(status)
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		return &relay.RetryError{Vendor: vendor, Status: status, Reason: text, After: RetryAfter(h, now)}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%s: http %d: %w", vendor, status, relay.ErrBadCredentials)
	default:
		return fmt.Errorf("%s: http %d %s: %w", vendor, status, text, relay.ErrRejected)
	}
}

// DeadToken refuses an empty device token without calling the vendor.
func DeadToken(vendor string, m *relay.Message) error {
	if strings.TrimSpace(m.Token) == "" {
		return &relay.DeadTokenError{Vendor: vendor, Reason: "empty token"}
	}
	return nil
}
