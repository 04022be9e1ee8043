package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto/client"
)

// A device that changes its alias with the SDK's Update gets the pushes
// sent to the new alias, and no longer those sent to the old one, without
// reconnecting; on the embedded store and on the clustered one, whose
// device layer caches records in memory and in Redis.
func TestDeviceChangesItsAlias(t *testing.T) {
	onBothStores(t, changeAlias)
}

func changeAlias(t *testing.T, cluster func(*config.Config)) {
	n, _ := startNodeWith(t, Options{}, cluster)
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "update")
	d := newDevice(t, n.URL(), app.key, client0())
	d.register("alice")
	d.start()
	d.waitReady()
	toAlias := func(alias string) map[string]any {
		return map[string]any{"audience": map[string]any{"aliases": []string{alias}}, "notification": notification("to", alias)}
	}
	first := a.push(app, toAlias("alice"))
	waitEachGot(t, []*device{d}, first)

	bob := "bob"
	reg, err := d.c.Update(t.Context(), client.Update{Alias: &bob, Tags: &[]string{"beta"}})
	require.NoError(t, err)
	require.Equal(t, "bob", reg.Alias)
	require.Equal(t, []string{"beta"}, reg.Tags)
	require.Equal(t, "test", reg.Platform)

	second := a.push(app, toAlias("bob"))
	waitEachGot(t, []*device{d}, second)
	third := a.push(app, toAlias("alice"))
	waitFor(t, 20*time.Second, "the push to the old alias done", func() bool { return a.state(app, third) == "done" })
	require.Zero(t, a.counts(app, third)["targeted"], "the old alias names no device")
	require.Zero(t, d.gotCount(third))
	requireEachOnce(t, []*device{d}, second)
}
