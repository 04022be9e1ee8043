package reccodec

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestDeviceRoundTrip(t *testing.T) {
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
		b := EncodeDevice(d)
		got, err := DecodeDevice(b)
		require.NoError(t, err)
		require.Equal(t, d, got)
		require.Equal(t, b, EncodeDevice(got), "stable encoding")
	}
	local := &store.Device{ID: "x", CreatedAt: now.In(time.FixedZone("x", 3600))}
	got, err := DecodeDevice(EncodeDevice(local))
	require.NoError(t, err)
	require.True(t, local.CreatedAt.Equal(got.CreatedAt))
}

// The device encoding is stored (Redis, the embedded store): it must not
// change. This is the encoding of the version that introduced it.
func TestDeviceGolden(t *testing.T) {
	t.Parallel()
	d := &store.Device{ID: "01J", AppID: "app", Secret: []byte{0, 1}, Platform: "ios", Alias: "al",
		Tags: []string{"vip", "news"}, Locale: "de", TimeZone: "Europe/Zurich",
		Tokens: map[string]string{"fcm": "f", "apns": "a"}, CreatedAt: time.Unix(1700000000, 5).UTC()}
	const golden = "010330314a0361707002000103696f7302616c0264650d4575726f70652f5a75726963680203766970046e657773020461706e7301610366636d01660180c49fd50c0500"
	require.Equal(t, golden, hex.EncodeToString(EncodeDevice(d)))
	got, err := DecodeDevice(must(hex.DecodeString(golden)))
	require.NoError(t, err)
	require.Equal(t, d, got)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDeviceRejects(t *testing.T) {
	t.Parallel()
	good := EncodeDevice(&store.Device{ID: "d", Tags: []string{"t"}, CreatedAt: time.Unix(1, 0)})
	for _, b := range [][]byte{
		nil, {0}, {2}, good[:len(good)-1], append(append([]byte{}, good...), 0),
		{1, 200}, // a length past the end
	} {
		_, err := DecodeDevice(b)
		require.ErrorIs(t, err, ErrMalformed, "%v", b)
	}
}

func FuzzDecodeDevice(f *testing.F) {
	f.Add(EncodeDevice(&store.Device{}))
	f.Add(EncodeDevice(&store.Device{ID: "d", AppID: "a", Secret: []byte{1}, Tags: []string{"t"},
		Tokens: map[string]string{"a": "b"}, CreatedAt: time.Unix(1e9, 5)}))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, b, DecodeDevice, EncodeDevice) })
}

// fuzzRoundTrip decodes b, and its first half too, as a decoder may see a
// value cut short; what decodes must encode to what decodes the same.
func fuzzRoundTrip[T any](t *testing.T, b []byte, decode func([]byte) (T, error), encode func(T) []byte) {
	for _, in := range [][]byte{b, b[:len(b)/2]} {
		v, err := decode(in)
		if err != nil {
			continue
		}
		again, err := decode(encode(v))
		require.NoError(t, err)
		require.Equal(t, v, again)
	}
}
