// Package vendors turns an app's vendor credential (JSON, as uploaded
// through the admin API) into a relay.Sender, and keeps one sender per app
// and vendor, built from the sealed credential in the store and rebuilt when
// the credential changes.
//
// Credential JSON per vendor (unknown fields are refused):
//
//	apns     {"topic", "auth_key" (.p8 PEM), "key_id", "team_id"} or
//	         {"topic", "certificate" (base64 PKCS#12 or PEM), "certificate_password"}
//	fcm      {"service_account": {…service account JSON…}, "project_id" (optional)}
//	hms      {"app_id", "app_secret"}
//	webpush  {"vapid_private_key" (base64url), "subject" (mailto: or https:)}
//	xiaomi   {"app_secret", "package_name", "channel_id", "high_priority_channel_id", "notify_type"}
//	oppo     {"app_key", "master_secret", "channel_id", "high_priority_channel_id"}
//	vivo     {"app_id", "app_key", "app_secret", "notify_type", "classification"}
//	honor    {"app_id", "client_id", "client_secret", "importance"}
//	wns      {"package_sid", "client_secret"}
//
// Endpoints are not part of a credential: the operator sets them in Env
// (defaults are the vendors' public endpoints), so an app cannot point the
// relay at a host of its choosing.
//
// With Env.SharedTokens set, the access tokens of fcm, hms, honor, oppo,
// vivo and wns and the provider tokens of apns (.p8) live in that cache,
// named by sendkit.TokenKey, so that the instances of a cluster fetch each
// once; webpush and xiaomi have no token to share, nor has an APNs
// certificate.
package vendors

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/apns"
	"github.com/mopush/mopush/relay/fcm"
	"github.com/mopush/mopush/relay/hms"
	"github.com/mopush/mopush/relay/honor"
	"github.com/mopush/mopush/relay/internal/sendkit"
	"github.com/mopush/mopush/relay/oppo"
	"github.com/mopush/mopush/relay/vivo"
	"github.com/mopush/mopush/relay/webpush"
	"github.com/mopush/mopush/relay/wns"
	"github.com/mopush/mopush/relay/xiaomi"
)

// ErrUnknownVendor means the vendor name is not supported.
var ErrUnknownVendor = errors.New("vendors: unknown vendor")

// ErrInvalid means a credential does not parse or is incomplete.
var ErrInvalid = errors.New("vendors: invalid credential")

// Endpoint overrides one vendor's URLs; empty fields keep the defaults.
type Endpoint struct {
	Base  string `toml:"base"`  // API base URL (APNs host)
	Token string `toml:"token"` // OAuth token URL, where the vendor has one
}

// Env is the operator's side of sender construction.
type Env struct {
	// Endpoints by vendor name.
	Endpoints map[string]Endpoint
	// HTTP is the client for every vendor but APNs; nil: each sender's
	// default.
	HTTP *http.Client
	// APNsTLS is the TLS configuration of APNs connections; nil: the
	// system's.
	APNsTLS *tls.Config
	// AllowedHosts lets WNS channel URIs and Web Push endpoints point at
	// hosts other than the vendors' (private deployments, tests).
	AllowedHosts []string
	// SharedTokens, when set, holds the vendors' access and provider
	// tokens for the whole cluster (a *tokencache.Cache); nil: each
	// sender keeps its own.
	SharedTokens sendkit.SharedTokens
}

// Names lists the supported vendors.
func Names() []string {
	return []string{"apns", "fcm", "hms", "honor", "oppo", "vivo", "webpush", "wns", "xiaomi"}
}

// Build parses a credential and returns its sender. It makes no network
// call.
func Build(vendor string, raw []byte, env Env) (relay.Sender, error) {
	if !slices.Contains(Names(), vendor) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownVendor, vendor)
	}
	s, err := build(vendor, raw, env, env.Endpoints[vendor])
	if err != nil && !errors.Is(err, ErrInvalid) {
		err = fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, err
}

func decode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

func build(vendor string, raw []byte, env Env, ep Endpoint) (relay.Sender, error) {
	switch vendor {
	case "apns":
		return buildAPNs(raw, env, ep)
	case "fcm":
		return buildFCM(raw, env, ep)
	case "hms":
		var c struct {
			AppID     string `json:"app_id"`
			AppSecret string `json:"app_secret"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		return hms.New(hms.Config{AppID: c.AppID, AppSecret: c.AppSecret, Endpoint: ep.Base, OAuthURL: ep.Token}, hmsOpts(env)...)
	case "webpush":
		var c struct {
			Key     string `json:"vapid_private_key"`
			Subject string `json:"subject"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		cfg := webpush.Config{VAPIDPrivateKey: c.Key, Subject: c.Subject, AllowedHosts: env.AllowedHosts}
		if env.HTTP != nil {
			return webpush.New(cfg, webpush.WithHTTPClient(env.HTTP))
		}
		return webpush.New(cfg)
	default:
		return buildChina(vendor, raw, env, ep)
	}
}

func hmsOpts(env Env) []hms.Option {
	var opts []hms.Option
	if env.HTTP != nil {
		opts = append(opts, hms.WithHTTPClient(env.HTTP))
	}
	if env.SharedTokens != nil {
		opts = append(opts, hms.WithSharedTokens(env.SharedTokens))
	}
	return opts
}

func buildAPNs(raw []byte, env Env, ep Endpoint) (relay.Sender, error) {
	var c struct {
		Topic    string `json:"topic"`
		AuthKey  string `json:"auth_key"`
		KeyID    string `json:"key_id"`
		TeamID   string `json:"team_id"`
		Cert     []byte `json:"certificate"`
		CertPass string `json:"certificate_password"`
	}
	if err := decode(raw, &c); err != nil {
		return nil, err
	}
	cfg := apns.Config{Topic: c.Topic, Host: ep.Base, KeyID: c.KeyID, TeamID: c.TeamID,
		Certificate: c.Cert, CertificatePassword: c.CertPass}
	if c.AuthKey != "" {
		cfg.AuthKey = []byte(c.AuthKey)
	}
	var opts []apns.Option
	if env.APNsTLS != nil {
		opts = append(opts, apns.WithTLSConfig(env.APNsTLS))
	}
	if env.SharedTokens != nil {
		opts = append(opts, apns.WithSharedTokens(env.SharedTokens))
	}
	return apns.New(cfg, opts...)
}

func buildFCM(raw []byte, env Env, ep Endpoint) (relay.Sender, error) {
	var c struct {
		ServiceAccount json.RawMessage `json:"service_account"`
		ProjectID      string          `json:"project_id"`
	}
	if err := decode(raw, &c); err != nil {
		return nil, err
	}
	sa := []byte(c.ServiceAccount)
	var s string
	if json.Unmarshal(sa, &s) == nil { // given as a JSON string
		sa = []byte(s)
	}
	cfg := fcm.Config{ServiceAccountJSON: sa, ProjectID: c.ProjectID, Endpoint: ep.Base, TokenURL: ep.Token}
	var opts []fcm.Option
	if env.HTTP != nil {
		opts = append(opts, fcm.WithHTTPClient(env.HTTP))
	}
	if env.SharedTokens != nil {
		opts = append(opts, fcm.WithSharedTokens(env.SharedTokens))
	}
	return fcm.New(cfg, opts...)
}

func buildChina(vendor string, raw []byte, env Env, ep Endpoint) (relay.Sender, error) {
	switch vendor {
	case "xiaomi":
		var c struct {
			AppSecret   string `json:"app_secret"`
			PackageName string `json:"package_name"`
			Channel     string `json:"channel_id"`
			HighChannel string `json:"high_priority_channel_id"`
			NotifyType  int    `json:"notify_type"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		return xiaomi.New(xiaomi.Config{AppSecret: c.AppSecret, PackageName: c.PackageName, BaseURL: ep.Base,
			ChannelID: c.Channel, HighPriorityChannelID: c.HighChannel, NotifyType: c.NotifyType}, env.HTTP)
	case "oppo":
		var c struct {
			AppKey       string `json:"app_key"`
			MasterSecret string `json:"master_secret"`
			Channel      string `json:"channel_id"`
			HighChannel  string `json:"high_priority_channel_id"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		return oppo.New(oppo.Config{AppKey: c.AppKey, MasterSecret: c.MasterSecret, BaseURL: ep.Base,
			ChannelID: c.Channel, HighPriorityChannelID: c.HighChannel}, env.HTTP, oppo.WithSharedTokens(env.SharedTokens))
	case "vivo":
		var c struct {
			AppID          string `json:"app_id"`
			AppKey         string `json:"app_key"`
			AppSecret      string `json:"app_secret"`
			NotifyType     int    `json:"notify_type"`
			Classification int    `json:"classification"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		return vivo.New(vivo.Config{AppID: c.AppID, AppKey: c.AppKey, AppSecret: c.AppSecret, BaseURL: ep.Base,
			NotifyType: c.NotifyType, Classification: c.Classification}, env.HTTP, vivo.WithSharedTokens(env.SharedTokens))
	case "honor":
		var c struct {
			AppID        string `json:"app_id"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Importance   string `json:"importance"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		return honor.New(honor.Config{AppID: c.AppID, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			TokenURL: ep.Token, BaseURL: ep.Base, Importance: c.Importance}, env.HTTP, honor.WithSharedTokens(env.SharedTokens))
	default: // wns
		var c struct {
			PackageSID   string `json:"package_sid"`
			ClientSecret string `json:"client_secret"`
		}
		if err := decode(raw, &c); err != nil {
			return nil, err
		}
		return wns.New(wns.Config{PackageSID: c.PackageSID, ClientSecret: c.ClientSecret, TokenURL: ep.Token,
			AllowedHosts: env.AllowedHosts}, env.HTTP, wns.WithSharedTokens(env.SharedTokens))
	}
}
