package vendorfake

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"
)

// NewServer starts h as an HTTP/2 TLS server on 127.0.0.1 with a random port.
// conf, if not nil, is the server's TLS configuration (for example to ask for
// client certificates); the test certificate and the "h2" protocol are added
// to it. Close the server when done.
func NewServer(h http.Handler, conf *tls.Config) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.TLS = conf
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.IdleTimeout = time.Minute
	// Handshakes cut short by tests that close servers or present foreign
	// certificates are expected; keep them out of test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

// TLSConfig returns a client TLS configuration that trusts srv's certificate
// and offers HTTP/2.
func TLSConfig(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{
		RootCAs:    pool,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2"},
	}
}

// Transport returns an HTTP/2-only transport that trusts srv's certificate.
func Transport(srv *httptest.Server) *http.Transport {
	var protos http.Protocols
	protos.SetHTTP2(true)
	return &http.Transport{
		TLSClientConfig:     TLSConfig(srv),
		Protocols:           &protos,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Minute,
	}
}

// Client returns an HTTP client that speaks HTTP/2 to srv and trusts its
// certificate.
func Client(srv *httptest.Server) *http.Client {
	return &http.Client{Transport: Transport(srv), Timeout: 30 * time.Second}
}
