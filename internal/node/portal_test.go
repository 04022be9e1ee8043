package node

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/sdkproto/client"
)

// chromium finds the browser of the portal tests: $MOPUSH_CHROMIUM, else
// chromium on the PATH. scripts/test.sh installs it and sets
// MOPUSH_REQUIRE_BROWSER, under which a missing browser fails the test
// instead of skipping it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MOPUSH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MOPUSH_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium on the PATH (scripts/test.sh installs it)")
	}
	t.Skip("no chromium on the PATH; scripts/test.sh installs it")
	return ""
}

// browser is one headless Chromium tab of a test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser, which lives as long as the
	// context of that action: ctx, not one of run's bounded ones.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	return &browser{t: t, ctx: ctx}
}

// run runs steps, bounded in time.
func (b *browser) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

// eval returns the value of a JavaScript expression in the page; a promise
// is awaited.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, js)
	return v
}

// text returns the text of the first element sel matches, "" if none.
func (b *browser) text(sel string) string {
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// css selects the first element a CSS selector matches.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// waitText waits until the element sel matches has text containing want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	waitFor(b.t, 20*time.Second, fmt.Sprintf("%q in %s (it shows %q)", want, sel, b.text(sel)), func() bool {
		return strings.Contains(b.text(sel), want)
	})
}

func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.run(
		chromedp.WaitVisible(css("#sign-in-form")),
		chromedp.SetValue(css("#email"), email),
		chromedp.SetValue(css("#password"), password),
		chromedp.Click(css("#sign-in-button")),
	)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.run(chromedp.Click(css("#sign-out")), chromedp.WaitVisible(css("#sign-in-form")))
}

// TestPortalInABrowser drives the portal in headless Chromium against one
// node: a marketer signs in, sends a push to a tag and watches its numbers
// come in live as the device acknowledges and opens it, schedules a push
// and cancels it; a viewer sees but cannot send; an admin creates an app
// and a user.
func TestPortalInABrowser(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	admin := http.Header{"Authorization": {"Bearer " + n.AdminToken()}}
	shop := a.createApp(n.AdminToken(), "shop")
	a.createApp(n.AdminToken(), "hidden")
	addUser := func(email, role string, apps ...string) {
		code, out, _ := a.do(http.MethodPost, "/portal/api/users", "", "",
			map[string]any{"email": email, "password": "password-" + role, "role": role, "apps": apps}, admin)
		require.Equal(t, http.StatusCreated, code, "%v", out)
	}
	addUser("mia@example.com", "marketer", shop.id)
	addUser("vic@example.com", "viewer", shop.id)
	addUser("root@example.com", "admin")

	fan := newDevice(t, n.URL(), shop.key, client0())
	fan.registerWith(client.Registration{Platform: "test", Tags: []string{"sports"}})
	fan.start()
	fan.waitReady()

	b := newBrowser(t)
	b.run(chromedp.Navigate(n.URL() + "/portal/"))
	b.signIn("mia@example.com", "not-her-password")
	b.waitText("#sign-in-error", "wrong password")
	b.signIn("MIA@example.com", "password-marketer")
	b.waitText("#who", "mia@example.com (marketer)")
	b.waitText("#app", "shop")
	apps := eval[[]string](b, `[...document.querySelectorAll("#app option")].map(o => o.value)`)
	require.Equal(t, []string{shop.id}, apps, "a marketer sees her own apps only")

	// A push to a tag, now.
	b.run(
		chromedp.Click(css(`nav button[data-tab=compose]`)),
		chromedp.SetValue(css("#title"), "Goal!"),
		chromedp.SetValue(css("#body"), "2:1 in the 90th"),
		chromedp.Click(css(`input[name=audience][value=tags]`)),
		chromedp.SetValue(css("#audience-values"), "sports"),
		chromedp.Click(css("#send")),
	)
	b.waitText("#compose-result", "Accepted: ")
	resultPush := `document.querySelector("#compose-result").dataset.push || ""`
	id := eval[string](b, resultPush)
	waitFor(t, 20*time.Second, "the device got the push", func() bool { return fan.gotCount(id) == 1 })
	require.Equal(t, "Goal!", fan.got()[0].Title)

	// Its numbers, live: the page refreshes them without a reload.
	row := fmt.Sprintf(`tr[data-push=%q]`, id)
	b.run(chromedp.Click(css(`nav button[data-tab=pushes]`)))
	b.waitText(row+" td.state", "done")
	b.waitText(row+" td.acked", "1")
	require.Equal(t, "1", b.text(row+" td.targeted"))
	require.Contains(t, []string{"0", "1"}, b.text(row+" td.acked_within_1s"), "how soon depends on the machine")
	require.Equal(t, "0", b.text(row+" td.opened"))
	counted, err := fan.c.ReportHTTP(t.Context(), "open", id)
	require.NoError(t, err)
	require.True(t, counted)
	b.waitText(row+" td.opened", "1")

	// A push for an hour from now, in the browser's own time, then cancelled.
	b.run(
		chromedp.Click(css(`nav button[data-tab=compose]`)),
		chromedp.SetValue(css("#title"), "Tomorrow's match"),
		chromedp.Click(css(`input[name=when][value=at]`)),
	)
	local := eval[string](b, `(() => { const d = new Date(Date.now() + 3600e3); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
		return d.toISOString().slice(0, 16); })()`)
	b.run(chromedp.SetValue(css("#send-at"), local), chromedp.Click(css("#send")))
	waitFor(t, 20*time.Second, "the second push accepted", func() bool {
		return eval[string](b, resultPush) != id
	})
	later := eval[string](b, resultPush)
	code, out, _ := a.do(http.MethodGet, "/v1/pushes/"+later, shop.key, shop.secret, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "scheduled", out["state"])
	sendAt, err := time.Parse(time.RFC3339Nano, out["send_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), sendAt, 2*time.Minute, "the local time became the right instant")
	laterRow := fmt.Sprintf(`tr[data-push=%q]`, later)
	b.run(chromedp.Click(css(`nav button[data-tab=pushes]`)))
	b.waitText(laterRow+" td.state", "scheduled")
	b.run(chromedp.Click(css(laterRow + " button.cancel")))
	b.waitText(laterRow+" td.state", "cancelled")
	require.Equal(t, "cancelled", a.state(shop, later))

	// A campaign to the tag, now, at most 100 a second: its numbers come in.
	b.run(
		chromedp.Click(css(`nav button[data-tab=campaigns]`)),
		chromedp.SetValue(css("#c-name"), "Derby"),
		chromedp.SetValue(css("#c-title"), "Derby day"),
		chromedp.SetValue(css("#c-tags"), "sports"),
		chromedp.SetValue(css("#c-rate"), "100"),
		chromedp.Click(css("#c-create")),
	)
	b.waitText("#campaigns tbody", "Derby")
	derby := eval[string](b, `[...document.querySelectorAll("#campaigns tbody tr")].find(r => r.textContent.includes("Derby")).dataset.campaign`)
	derbyRow := fmt.Sprintf(`tr[data-campaign=%q]`, derby)
	b.waitText(derbyRow+" td.state", "done")
	b.waitText(derbyRow+" td.acked", "1")
	require.Equal(t, "1", b.text(derbyRow+" td.sent"))
	waitFor(t, 20*time.Second, "the campaign's push", func() bool { return len(fan.got()) == 2 })
	require.Equal(t, "Derby day", fan.got()[1].Title)

	// One to every device of the app at two hours from now, as the clock
	// reads in UTC, in each device's zone (the fan has none: UTC): it has started, as that time
	// came in UTC+14 long ago, but the fan's push is scheduled. Cancelled
	// before its time, it never arrives.
	b.run(
		chromedp.SetValue(css("#c-name"), "Breakfast"),
		chromedp.SetValue(css("#c-title"), "Good morning"),
		chromedp.Click(css(`input[name=c-audience][value=all]`)),
		chromedp.Click(css(`input[name=c-when][value=at]`)),
		chromedp.SetValue(css("#c-send-at"), time.Now().UTC().Add(2*time.Hour).Format("2006-01-02T15:04")),
		chromedp.Click(css("#c-local")),
		chromedp.Click(css("#c-create")),
	)
	b.waitText("#campaigns tbody", "Breakfast")
	breakfast := eval[string](b, `[...document.querySelectorAll("#campaigns tbody tr")].find(r => r.textContent.includes("Breakfast")).dataset.campaign`)
	breakfastRow := fmt.Sprintf(`tr[data-campaign=%q]`, breakfast)
	b.waitText(breakfastRow, "(local)")
	b.waitText(breakfastRow, "every device")
	b.waitText(breakfastRow+" td.sent", "1")
	b.waitText(breakfastRow+" td.state", "done")
	b.run(chromedp.Click(css(breakfastRow + " button.cancel")))
	b.waitText(breakfastRow+" td.state", "cancelled")
	code, list, _ := a.do(http.MethodGet, "/v1/pushes?state=cancelled", shop.key, shop.secret, nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, list["pushes"], 2, "the scheduled push and the campaign's, both cancelled")
	b.signOut()

	// A viewer sees the numbers but cannot send, in the page or around it.
	b.signIn("vic@example.com", "password-viewer")
	b.waitText("#who", "(viewer)")
	b.waitText(row+" td.opened", "1")
	require.True(t, eval[bool](b, `document.querySelector("nav button[data-tab=compose]").hidden`))
	status := eval[int](b, fmt.Sprintf(`fetch("/portal/api/apps/%s/pushes", {method: "POST",
		headers: {"Mopush-Portal": "1", "Content-Type": "application/json"},
		body: JSON.stringify({audience: {broadcast: true}, notification: {title: "x"}})}).then(r => r.status)`, shop.id))
	require.Equal(t, http.StatusForbidden, status)
	b.signOut()

	// An admin creates an app and a user.
	b.signIn("root@example.com", "password-admin")
	b.waitText("#who", "(admin)")
	b.run(
		chromedp.Click(css(`nav button[data-tab=apps]`)),
		chromedp.SetValue(css("#app-name"), "kiosk"),
		chromedp.Click(css("#app-create")),
	)
	b.waitText("#app-created", "master secret")
	b.waitText("#apps tbody", "kiosk")
	b.run(
		chromedp.Click(css(`nav button[data-tab=users]`)),
		chromedp.SetValue(css("#u-email"), "new@example.com"),
		chromedp.SetValue(css("#u-password"), "a-long-password"),
		chromedp.SetValue(css("#u-apps"), shop.id),
		chromedp.Click(css("#user-add")),
	)
	b.waitText("#users tbody", "new@example.com")
	b.signOut()
	b.signIn("new@example.com", "a-long-password")
	b.waitText("#who", "new@example.com (marketer)")

	// The new user changes her password, which the next sign-in needs.
	b.run(
		chromedp.Click(css(`nav button[data-tab=account]`)),
		chromedp.SetValue(css("#pw-current"), "a-long-password"),
		chromedp.SetValue(css("#pw-new"), "her-own-password"),
		chromedp.Click(css("#pw-change")),
	)
	b.waitText("#pw-result", "Password changed")
	b.signOut()
	b.signIn("new@example.com", "a-long-password")
	b.waitText("#sign-in-error", "wrong password")
	b.signIn("new@example.com", "her-own-password")
	b.waitText("#who", "new@example.com (marketer)")
	require.Equal(t, 1, fan.gotCount(id))
	require.Zero(t, fan.gotCount(later), "the cancelled push never arrived")
	require.Len(t, fan.got(), 2, "the push and the first campaign's; nothing cancelled")
}
