package apns

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/certificate"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name this sender reports.
const Vendor = "apns"

// Config is one app's APNs credentials and endpoint. Set AuthKey, KeyID and
// TeamID for token auth, or Certificate for certificate auth.
type Config struct {
	// Topic is the app's bundle id, sent as apns-topic. Required.
	Topic string
	// Host is the APNs base URL. Default: apns2.HostProduction
	// ("https://api.push.apple.com"); apns2.HostDevelopment is the sandbox.
	Host string

	// AuthKey is the .p8 signing key (PKCS#8 PEM) for token auth.
	AuthKey []byte
	// KeyID is the 10-character id of AuthKey.
	KeyID string
	// TeamID is the Apple developer team id that issues the tokens.
	TeamID string

	// Certificate is the client certificate and key for certificate auth,
	// as PKCS#12 or PEM (certificate and key blocks in one file). Used only
	// when AuthKey is empty.
	Certificate []byte
	// CertificatePassword decrypts Certificate; empty: not encrypted.
	CertificatePassword string

	// Timeout bounds one request, including the connection. Default 30s.
	Timeout time.Duration
	// PingInterval is how long an idle connection waits before an HTTP/2
	// ping checks it. Default 15s.
	PingInterval time.Duration
}

// Option changes how New builds a Sender.
type Option func(*options)

type options struct {
	tls    *tls.Config
	shared sendkit.SharedTokens
}

// WithTLSConfig sets the base TLS client configuration (for example root
// CAs that trust a local fake). The sender clones it and adds the client
// certificate in certificate auth.
func WithTLSConfig(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// WithSharedTokens keeps the provider token of token auth in shared, so
// that the instances of a cluster signing with one key use one token
// (default: each sender signs its own). Certificate auth has no token.
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(o *options) { o.shared = shared }
}

// Sender pushes through APNs for one app. It is safe for concurrent use.
type Sender struct {
	client *apns2.Client
	topic  string
	tokens *sendkit.TokenCache // provider tokens; nil in certificate auth
}

var _ relay.Sender = (*Sender)(nil)

// New checks cfg, loads the credentials and builds a Sender. It does not
// connect: the first Send does.
func New(cfg Config, opts ...Option) (*Sender, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Topic == "" {
		return nil, errors.New("apns: config: topic is required")
	}
	cfg = withDefaults(cfg)
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.tls != nil {
		tlsConf = o.tls.Clone()
	}
	s := &Sender{client: &apns2.Client{Host: cfg.Host}, topic: cfg.Topic}
	if err := s.setCredentials(tlsConf, cfg, o.shared); err != nil {
		return nil, err
	}
	s.client.HTTPClient = &http.Client{
		Transport: metaTransport{base: newTransport(tlsConf, cfg.PingInterval)},
		Timeout:   cfg.Timeout,
	}
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Host == "" {
		cfg.Host = apns2.HostProduction
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	return cfg
}

// setCredentials sets up token auth, whose provider tokens the sender
// adds to each request itself, or certificate auth.
func (s *Sender) setCredentials(tlsConf *tls.Config, cfg Config, shared sendkit.SharedTokens) error {
	switch {
	case len(cfg.AuthKey) > 0:
		tokens, err := providerTokens(cfg, shared)
		s.tokens = tokens
		return err
	case len(cfg.Certificate) > 0:
		cert, err := loadCertificate(cfg.Certificate, cfg.CertificatePassword)
		if err != nil {
			return fmt.Errorf("apns: config: certificate: %w", err)
		}
		s.client.Certificate = cert
		tlsConf.Certificates = []tls.Certificate{cert}
		return nil
	default:
		return errors.New("apns: config: auth key or certificate is required")
	}
}

// loadCertificate reads PEM when the data looks like PEM, else PKCS#12.
func loadCertificate(data []byte, password string) (tls.Certificate, error) {
	if isPEM(data) {
		return certificate.FromPemBytes(data, password)
	}
	return certificate.FromP12Bytes(data, password)
}

// Vendor returns "apns".
func (s *Sender) Vendor() string { return Vendor }

// Send pushes m to the device token m.Token.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	if _, err := sendkit.Remaining(m, time.Now()); err != nil {
		return relay.Result{}, fmt.Errorf("apns: %w", err)
	}
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	n, err := s.notification(m)
	if err != nil {
		return relay.Result{}, err
	}
	if s.tokens == nil {
		return s.push(ctx, n, "")
	}
	return sendkit.SendWithToken(ctx, s.tokens, func(ctx context.Context, bearer string) (relay.Result, error) {
		return s.push(ctx, n, bearer)
	})
}

// push sends n once, with bearer as the provider token unless it is empty.
func (s *Sender) push(ctx context.Context, n *apns2.Notification, bearer string) (relay.Result, error) {
	x := &exchange{bearer: bearer}
	res, err := s.client.PushWithContext(withExchange(ctx, x), n)
	if err != nil {
		return relay.Result{}, transportError(ctx, x, err)
	}
	if res.Sent() {
		return relay.Result{VendorID: res.ApnsID}, nil
	}
	return relay.Result{}, classify(res.StatusCode, res.Reason, x.header)
}
