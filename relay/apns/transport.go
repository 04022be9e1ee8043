package apns

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"
)

// exchange carries what one push needs and apns2 does not handle: the
// provider token to send, and what apns2's Response leaves out, the HTTP
// status seen on the wire and the response headers.
type exchange struct {
	bearer string // provider token; "" in certificate auth
	status int
	header http.Header
}

type exchangeKey struct{}

func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

// metaTransport adds the request's provider token and records the
// response metadata into the request's exchange.
type metaTransport struct{ base http.RoundTripper }

// RoundTrip sends r, with the exchange's provider token as its
// authorization, and copies the response status and headers into the
// exchange, if r has one.
func (t metaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if x != nil && x.bearer != "" {
		r = r.Clone(r.Context())
		r.Header.Set("authorization", "bearer "+x.bearer)
	}
	resp, err := t.base.RoundTrip(r)
	if x != nil && resp != nil {
		x.status = resp.StatusCode
		x.header = resp.Header
	}
	return resp, err
}

// CloseIdleConnections lets apns2's Client.CloseIdleConnections reach the
// HTTP/2 transport.
func (t metaTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// newTransport is an HTTP/2-only transport, as APNs requires, that pings
// idle connections so a dead one is noticed before a push is lost on it.
func newTransport(tlsConf *tls.Config, ping time.Duration) *http.Transport {
	var protos http.Protocols
	protos.SetHTTP2(true)
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsConf,
		Protocols:           &protos,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     10 * time.Minute,
		MaxIdleConnsPerHost: 4,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: ping,
			PingTimeout:     ping,
		},
	}
}

// Close releases the sender's idle connections.
func (s *Sender) Close() {
	s.client.CloseIdleConnections()
}
