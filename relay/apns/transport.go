package apns

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"
)

// respMeta carries what apns2's Response leaves out: the HTTP status seen
// on the wire and the response headers.
type respMeta struct {
	status int
	header http.Header
}

type metaKey struct{}

func withMeta(ctx context.Context, m *respMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// metaTransport records the response metadata into the request's respMeta.
type metaTransport struct{ base http.RoundTripper }

// RoundTrip sends r and copies the response status and headers into the
// request's respMeta, if it has one.
func (t metaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if m, ok := r.Context().Value(metaKey{}).(*respMeta); ok && resp != nil {
		m.status = resp.StatusCode
		m.header = resp.Header
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
