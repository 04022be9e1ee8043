package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/httpx"
)

// appHeader names the app a gateway request acts for; the gateway's
// gateway.AppHeader (the portal does not import the gateway).
const appHeader = "Mopush-App"

// gatewayTimeout bounds one call to the gateway.
const gatewayTimeout = 30 * time.Second

// gatewayClient calls the gateway's REST API with the admin token.
type gatewayClient struct {
	base  *url.URL
	token string
	http  *http.Client
	proxy *httputil.ReverseProxy
}

func newGatewayClient(base *url.URL, token string, log *slog.Logger) *gatewayClient {
	c := &gatewayClient{base: base, token: token, http: &http.Client{Timeout: gatewayTimeout}}
	c.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = base.Scheme, base.Host
			pr.Out.URL.Path = base.Path + pr.In.Context().Value(upstreamPath{}).(string)
			pr.Out.URL.RawPath = ""
			pr.Out.Host = base.Host
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del(csrfHeader)
			pr.Out.Header.Set("Authorization", "Bearer "+token)
			pr.Out.Header.Set(appHeader, pr.In.PathValue("app"))
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
		u, err := p.signedIn(r)
		if err != nil {
			return err
		}
		app := r.PathValue("app")
		if !may(u, app, a) {
			if may(u, app, roleRead) {
				return errForbidden("your role may not send or cancel pushes")
			}
			return errNotFound("app")
		}
		up := strings.Replace(path, "{id}", url.PathEscape(r.PathValue("id")), 1)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p.gw.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), upstreamPath{}, up)))
		return nil
	}
}

// call sends a request to the gateway and decodes a 2xx JSON answer into
// out. A problem answer comes back as an *httpx.Error with the gateway's
// status and type, so the portal can pass it on.
func (c *gatewayClient) call(ctx context.Context, method, path, app string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return fmt.Errorf("gateway request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if app != "" {
		req.Header.Set(appHeader, app)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return errors.Join(errGatewayDown(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return errors.Join(errGatewayDown(), err)
	}
	if resp.StatusCode/100 != 2 {
		return upstreamProblem(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode gateway answer to %s %s: %w", method, path, err)
	}
	return nil
}

// upstreamProblem turns the gateway's problem document into a typed error.
func upstreamProblem(status int, body []byte) *httpx.Error {
	var pr httpx.Problem
	if json.Unmarshal(body, &pr) != nil || !strings.HasPrefix(pr.Type, httpx.ProblemBase) {
		return httpx.Errorf(http.StatusBadGateway, "gateway-unavailable", "Gateway unavailable",
			fmt.Sprintf("the push API answered %d", status))
	}
	return httpx.Errorf(status, strings.TrimPrefix(pr.Type, httpx.ProblemBase), pr.Title, pr.Detail)
}
