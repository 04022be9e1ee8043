package portal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/httpx"
)

// gatewayTimeout bounds one call to the gateway.
const gatewayTimeout = 30 * time.Second

// gatewayClient calls the gateway's REST API with the admin token.
type gatewayClient struct {
	api   *httpx.AdminClient
	proxy *httputil.ReverseProxy
}

func newGatewayClient(base *url.URL, token string, log *slog.Logger) *gatewayClient {
	c := &gatewayClient{api: &httpx.AdminClient{Base: base.String(), Token: token, HTTP: &http.Client{Timeout: gatewayTimeout}}}
	c.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = base.Scheme, base.Host
			pr.Out.URL.Path = base.Path + pr.In.Context().Value(upstreamPath{}).(string)
			pr.Out.URL.RawPath = ""
			pr.Out.Host = base.Host
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del(csrfHeader)
			pr.Out.Header.Set("Authorization", "Bearer "+token)
			pr.Out.Header.Set(httpx.AppHeader, pr.In.PathValue("app"))
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("gateway call failed", "path", r.URL.Path, "err", err)
			httpx.WriteProblem(w, errGatewayDown())
		},
	}
	return c
}

// upstreamPath carries the gateway path of a proxied request.
type upstreamPath struct{}

// forApp returns a handler that checks the signed-in user's access to the
// app of the path, then passes the request on to the gateway path (in
// which {id} is replaced by the request's id), acting for that app. The
// gateway's answer, problems included, goes back unchanged.
func (p *Portal) forApp(a access, path string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := p.userFor(r, a); err != nil {
			return err
		}
		up := strings.Replace(path, "{id}", url.PathEscape(r.PathValue("id")), 1)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p.gw.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), upstreamPath{}, up)))
		return nil
	}
}

// call sends a request to the gateway (acting for app when not empty) and
// decodes a 2xx JSON answer into out. A problem answer comes back as the
// gateway's *httpx.Error, so the portal can pass it on; a gateway that
// cannot be reached, or answers anything else, is errGatewayDown.
func (c *gatewayClient) call(ctx context.Context, method, path, app string, body []byte, out any) error {
	err := c.api.Call(ctx, method, path, app, "", body, out)
	var he *httpx.Error
	if err != nil && !errors.As(err, &he) {
		return errors.Join(errGatewayDown(), err)
	}
	return err
}
