package node

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/connector"
	"github.com/mopush/mopush/sdkproto/client"
)

// TestDeviceReport: a device_info report updates the device's locale,
// time zone and vendor token.
func TestDeviceReport(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "reports")
	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")
	d.start()
	d.waitReady()
	require.NoError(t, d.c.Report(connector.ReportDeviceInfo, "", map[string]string{
		"locale": "fr-FR", "time_zone": "Europe/Paris", "token.fcm": "fcm-token-1"}))
	waitFor(t, 10*time.Second, "report applied", func() bool {
		devs, err := n.store.Devices(context.Background(), []string{d.id()})
		return err == nil && devs[0] != nil && devs[0].Tokens["fcm"] == "fcm-token-1"
	})
	devs, err := n.store.Devices(context.Background(), []string{d.id()})
	require.NoError(t, err)
	require.Equal(t, "fr-FR", devs[0].Locale)
	require.Equal(t, "Europe/Paris", devs[0].TimeZone)
	d.stop()
	require.ErrorIs(t, d.c.Report(connector.ReportDeviceInfo, "", nil), client.ErrNotConnected)
}
