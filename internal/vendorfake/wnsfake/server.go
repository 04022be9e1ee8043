package wnsfake

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

const (
	// Scope is the OAuth scope WNS requires.
	Scope = "notify.windows.com"
	// MaxPayload is WNS's payload limit in bytes.
	MaxPayload   = 5000
	maxTagLength = 16
	tokenExpiry  = 24 * time.Hour
	maxRequest   = 64 << 10
)

// Config is the app the fake serves.
type Config struct {
	// PackageSID is the client_id, e.g. "ms-app://S-1-15-2-...".
	PackageSID   string
	ClientSecret string // the client secret the fake accepts
}

// ChannelExpired is WNS's answer for an expired channel (410 Gone).
func ChannelExpired() vendorfake.Fault {
	return vendorfake.Fault{Status: http.StatusGone, Message: "The channel expired."}
}

// ChannelInvalid is WNS's answer for a channel it does not know (404).
func ChannelInvalid() vendorfake.Fault {
	return vendorfake.Fault{Status: http.StatusNotFound, Message: "The channel URI is not valid or is not recognized by WNS."}
}

// Throttled is WNS's answer when the service sends too fast (406).
func Throttled(retryAfter time.Duration) vendorfake.Fault {
	return vendorfake.Fault{Status: http.StatusNotAcceptable, Message: "The cloud service exceeded its throttle limit.", RetryAfter: retryAfter}
}

// Binding is a toast's visual binding.
type Binding struct {
	Template string   `xml:"template,attr"` // template, e.g. ToastGeneric
	Text     []string `xml:"text"`          // the text elements, unescaped
}

// Toast is the parsed XML of a toast notification.
type Toast struct {
	XMLName xml.Name `xml:"toast"`          // the <toast> root
	Launch  string   `xml:"launch,attr"`    // launch, unescaped
	Binding Binding  `xml:"visual>binding"` // visual/binding
}

// Message is one accepted push.
type Message struct {
	MsgID       string // the X-WNS-Msg-ID the fake answered with
	Channel     string // the channel name (the token query parameter)
	Type        string // X-WNS-Type
	ContentType string // Content-Type
	// TTL is X-WNS-TTL; -1 when absent.
	TTL      time.Duration
	Tag      string // X-WNS-Tag
	Priority string // X-WNS-Priority
	Body     []byte // the raw body
	// Toast is the parsed body of a wns/toast push.
	Toast *Toast
}

// Server is a running fake.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Message]

	cfg    Config
	srv    *httptest.Server
	tokens fakekit.Issuer
}

// New starts a fake for cfg on 127.0.0.1 with a random port.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /accesstoken.srf", s.handleToken)
	mux.HandleFunc("POST /{$}", s.handlePush)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + "/accesstoken.srf" }

// Host is the host:port of channel URIs, for the sender's allow-list.
func (s *Server) Host() string { return strings.TrimPrefix(s.srv.URL, "https://") }

// ChannelURI returns the channel URI of a device named name.
func (s *Server) ChannelURI(name string) string {
	return s.srv.URL + "/?token=" + url.QueryEscape(name)
}

// FailChannel is FailToken for a channel URI made by ChannelURI.
func (s *Server) FailChannel(channelURI string, f vendorfake.Fault) {
	if u, err := url.Parse(channelURI); err == nil {
		s.FailToken(u.Query().Get("token"), f)
	}
}

// Client returns an HTTP/2 client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// ExpireAccessTokens makes every access token issued so far invalid.
func (s *Server) ExpireAccessTokens() { s.tokens.ExpireAll() }

// AccessTokens returns how many access tokens the fake issued.
func (s *Server) AccessTokens() int { return s.tokens.Issued() }
