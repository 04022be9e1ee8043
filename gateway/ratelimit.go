package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// pushLimits holds, per app, a token bucket of the push requests this
// gateway takes: the app's push_rate_per_second a second, with a burst of
// one second's worth. A new rate starts with a full bucket.
type pushLimits struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter // by app id
}

func newPushLimits() *pushLimits { return &pushLimits{m: map[string]*rate.Limiter{}} }

// take takes one request of app from its bucket at now. It returns 0 when
// the request may go, else how long until it could.
func (l *pushLimits) take(app *store.App, now time.Time) time.Duration {
	perSecond := app.Settings.PushRate
	l.mu.Lock()
	lim := l.m[app.ID]
	switch {
	case perSecond <= 0:
		delete(l.m, app.ID)
		l.mu.Unlock()
		return 0
	case lim == nil || lim.Burst() != perSecond: // new, or the settings changed
		lim = rate.NewLimiter(rate.Limit(perSecond), perSecond)
		l.m[app.ID] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// limitPushes refuses a push request over the app's rate with 429
// rate-limited and a Retry-After in whole seconds.
func (g *Gateway) limitPushes(app *store.App) error {
	wait := g.limits.take(app, g.now())
	if wait <= 0 {
		return nil
	}
	secs := int((wait + time.Second - 1) / time.Second)
	e := httpx.Errorf(http.StatusTooManyRequests, "rate-limited", "Too many push requests",
		fmt.Sprintf("this app may make %d push requests a second to each gateway", app.Settings.PushRate))
	e.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	return e
}
