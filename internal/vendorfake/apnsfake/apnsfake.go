package apnsfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// Config configures a fake. The zero value accepts any topic.
type Config struct {
	// Topics lists the bundle ids token-authenticated providers may push
	// to; empty: any topic.
	Topics []string
	// Now is the fake's clock for provider-token age; nil: time.Now.
	Now func() time.Time
}

// Notification is one notification the fake accepted.
type Notification struct {
	Token      string
	Topic      string
	PushType   string // apns-push-type; "alert" when the header was absent
	Priority   int    // apns-priority; 10 when the header was absent
	CollapseID string
	// Expiration is the apns-expiration header as Unix seconds; 0: absent.
	Expiration int64
	// ApnsID is the id the fake answered with.
	ApnsID string
	// Payload is the decoded JSON body.
	Payload map[string]any
	// Auth is "token" or "certificate".
	Auth string
	// TeamID is the provider token's issuer; empty for certificate auth.
	TeamID string
}

// Alert returns the title and body of the payload's aps.alert dictionary.
func (n Notification) Alert() (title, body string) {
	aps, _ := n.Payload["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	title, _ = alert["title"].(string)
	body, _ = alert["body"].(string)
	return title, body
}

type authKey struct {
	teamID string
	pub    *ecdsa.PublicKey
}

// Server is a running fake APNs.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Notification]

	cfg Config
	srv *httptest.Server

	mu     sync.RWMutex
	keys   map[string]authKey
	bearer map[string]bool // provider tokens that authenticated a request
	roots  *x509.CertPool
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

// New starts a fake APNs on 127.0.0.1 with a random port.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, keys: make(map[string]authKey), bearer: make(map[string]bool), roots: x509.NewCertPool()}
	if err := s.makeCA(); err != nil {
		return nil, err
	}
	s.srv = vendorfake.NewServer(http.HandlerFunc(s.serve), &tls.Config{ClientAuth: tls.RequestClientCert})
	return s, nil
}

// URL is the fake's base URL, the value for the sender's host.
func (s *Server) URL() string { return s.srv.URL }

// TLSConfig returns a client TLS configuration that trusts the fake.
func (s *Server) TLSConfig() *tls.Config { return vendorfake.TLSConfig(s.srv) }

// Client returns an HTTP/2 client that trusts the fake (token auth only:
// it carries no client certificate).
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// IssueAuthKey makes a new APNs signing key for teamID, registers it, and
// returns its 10-character key id and the .p8 (PKCS#8 PEM) file content.
func (s *Server) IssueAuthKey(teamID string) (keyID string, p8 []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	keyID = strings.ToUpper(rand.Text()[:10])
	s.RegisterAuthKey(keyID, teamID, &key.PublicKey)
	return keyID, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// RegisterAuthKey makes the fake accept provider tokens signed by pub with
// this key id and team id.
func (s *Server) RegisterAuthKey(keyID, teamID string, pub *ecdsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[keyID] = authKey{teamID: teamID, pub: pub}
}

// ProviderTokens returns how many distinct provider tokens (JWTs) have
// authenticated a request.
func (s *Server) ProviderTokens() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.bearer)
}

// RevokeAuthKey makes the fake refuse tokens signed with keyID.
func (s *Server) RevokeAuthKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, keyID)
}

// oidUID is the userId attribute (RFC 4519) that carries the bundle id in
// the subject of an APNs certificate.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

func (s *Server) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "apnsfake client CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	s.caCert, s.caKey = ca, key
	s.roots.AddCert(ca)
	return nil
}

// IssueCertificate returns a client certificate for topic, signed by the
// fake's CA, and its private key, both PEM; concatenated they are what an
// APNs .pem file holds.
func (s *Server) IssueCertificate(topic string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName: "Apple Push Services: " + topic,
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: topic}},
		},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, &key.PublicKey, s.caKey)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// TrustCertificate makes the fake accept client certificates that chain to
// cert (a certificate made elsewhere, such as a test fixture).
func (s *Server) TrustCertificate(cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots.AddCert(cert)
}

// certTopic checks a client certificate and returns the topic in its
// subject.
func (s *Server) certTopic(chain []*x509.Certificate) (string, error) {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	s.mu.RLock()
	roots := s.roots
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	s.mu.RUnlock()
	if err != nil {
		return "", err
	}
	for _, n := range chain[0].Subject.Names {
		if n.Type.Equal(oidUID) {
			if v, ok := n.Value.(string); ok {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("apnsfake: certificate has no topic")
}

func (s *Server) topicAllowed(topic string) bool {
	return len(s.cfg.Topics) == 0 || slices.Contains(s.cfg.Topics, topic)
}
