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
	"github.com/sideshow/apns2/token"

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

type options struct{ tls *tls.Config }

// WithTLSConfig sets the base TLS client configuration (for example root
// CAs that trust a local fake). The sender clones it and adds the client
// certificate in certificate auth.
func WithTLSConfig(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// Sender pushes through APNs for one app. It is safe for concurrent use.
type Sender struct {
	client *apns2.Client
	topic  string
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
	client := &apns2.Client{Host: cfg.Host}
	if err := setCredentials(client, tlsConf, cfg); err != nil {
		return nil, err
	}
	client.HTTPClient = &http.Client{
		Transport: metaTransport{base: newTransport(tlsConf, cfg.PingInterval)},
		Timeout:   cfg.Timeout,
	}
	return &Sender{client: client, topic: cfg.Topic}, nil
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

func setCredentials(c *apns2.Client, tlsConf *tls.Config, cfg Config) error {
	switch {
	case len(cfg.AuthKey) > 0:
		if cfg.KeyID == "" || cfg.TeamID == "" {
			return errors.New("apns: config: token auth needs key id and team id")
		}
		key, err := token.AuthKeyFromBytes(cfg.AuthKey)
		if err != nil {
			return fmt.Errorf("apns: config: auth key: %w", err)
		}
		c.Token = &token.Token{AuthKey: key, KeyID: cfg.KeyID, TeamID: cfg.TeamID}
		return nil
	case len(cfg.Certificate) > 0:
		cert, err := loadCertificate(cfg.Certificate, cfg.CertificatePassword)
		if err != nil {
			return fmt.Errorf("apns: config: certificate: %w", err)
		}
		c.Certificate = cert
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
	meta := &respMeta{}
	res, err := s.client.PushWithContext(withMeta(ctx, meta), n)
	if err != nil {
		return relay.Result{}, transportError(ctx, meta, err)
	}
	if res.Sent() {
		return relay.Result{VendorID: res.ApnsID}, nil
	}
	return relay.Result{}, classify(res.StatusCode, res.Reason, meta.header)
}
