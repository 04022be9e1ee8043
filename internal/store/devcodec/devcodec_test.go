package devcodec

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	for _, d := range []*store.Device{
		{},
		{ID: "d", AppID: "a"},
		{
			ID: "01J", AppID: "app", Secret: []byte{0, 1, 2, 255}, Platform: "ios", Alias: "alice",
			Tags: []string{"vip", "", "news"}, Locale: "de-CH", TimeZone: "Europe/Zurich",
			Tokens:    map[string]string{"apns": "tok", "fcm": "", "hms": "h"},
			CreatedAt: now, LastSeen: time.Unix(-5, 1).UTC(),
		},
	} {
		b := Encode(d)
		got, err := Decode(b)
		require.NoError(t, err)
		require.Equal(t, d, got)
		require.Equal(t, b, Encode(got), "stable encoding")
	}
	local := &store.Device{ID: "x", CreatedAt: now.In(time.FixedZone("x", 3600))}
	got, err := Decode(Encode(local))
	require.NoError(t, err)
	require.True(t, local.CreatedAt.Equal(got.CreatedAt))
}

func TestRejects(t *testing.T) {
	t.Parallel()
	good := Encode(&store.Device{ID: "d", Tags: []string{"t"}, CreatedAt: time.Unix(1, 0)})
	for _, b := range [][]byte{
		nil, {0}, {2}, good[:len(good)-1], append(append([]byte{}, good...), 0),
		{1, 200}, // a length past the end
	} {
		_, err := Decode(b)
		require.ErrorIs(t, err, ErrMalformed, "%v", b)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(&store.Device{}))
	f.Add(Encode(&store.Device{ID: "d", AppID: "a", Secret: []byte{1}, Tags: []string{"t"},
		Tokens: map[string]string{"a": "b"}, CreatedAt: time.Unix(1e9, 5)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Feed the input in two halves too, as the decoder may see a value
		// cut short.
		for _, in := range [][]byte{b, b[:len(b)/2]} {
			d, err := Decode(in)
			if err != nil {
				continue
			}
			again, err := Decode(Encode(d))
			require.NoError(t, err)
			require.Equal(t, d, again)
		}
	})
}
