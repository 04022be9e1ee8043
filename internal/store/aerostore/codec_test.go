package aerostore

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

var testTime = time.UnixMilli(1_700_000_000_123).UTC()

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		m    store.Message
	}{
		{"zero", store.Message{}},
		{"full", store.Message{
			PushID: "01HZX", Title: "hello", Body: "wörld ✓", Data: map[string]string{"b": "2", "a": "1", "": "empty key"},
			SentAt: testTime, ExpiresAt: testTime.Add(time.Hour),
		}},
		{"sent_only", store.Message{PushID: "p", SentAt: testTime}},
		{"expires_only", store.Message{PushID: "p", ExpiresAt: testTime}},
		{"before_1970", store.Message{PushID: "p", SentAt: time.UnixMilli(-86_400_123).UTC()}},
		{"binary_strings", store.Message{PushID: "\x00\xff", Title: string([]byte{0, 1, 2}), Data: map[string]string{"\x00": "\xff"}}},
		{"big", store.Message{Body: string(bytes.Repeat([]byte("x"), 100_000))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.m.Seq = 42 // not stored
			got, err := decodeMessage(encodeMessage(&c.m))
			require.NoError(t, err)
			want := c.m
			want.Seq = 0
			require.Equal(t, want, got)
		})
	}
}

func TestMessageTimesAreMilliseconds(t *testing.T) {
	t.Parallel()
	local := time.Date(2025, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("X", 3600))
	got, err := decodeMessage(encodeMessage(&store.Message{SentAt: local}))
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(local.UnixMilli()).UTC(), got.SentAt)
	require.Equal(t, time.UTC, got.SentAt.Location())
}

func TestMessageEncodingIsDeterministic(t *testing.T) {
	t.Parallel()
	m := store.Message{Data: map[string]string{"z": "1", "a": "2", "m": "3", "b": "4"}}
	first := encodeMessage(&m)
	for range 20 {
		require.Equal(t, first, encodeMessage(&m), "map order must not matter")
	}
}

func TestDeviceRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		d    store.Device
	}{
		{"zero", store.Device{}},
		{"full", store.Device{
			ID: "01HZXDEV", AppID: "app1", Secret: []byte{0, 1, 2, 255}, Platform: "ios", Alias: "alice",
			Tags: []string{"vip", "", "news"}, Locale: "de-CH", TimeZone: "Europe/Zurich",
			Tokens:    map[string]string{"apns": "tok", "fcm": "tok2"},
			CreatedAt: testTime, LastSeen: testTime.Add(time.Minute),
		}},
		{"last_seen_only", store.Device{ID: "d", LastSeen: testTime}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeDevice(encodeDevice(&c.d))
			require.NoError(t, err)
			require.Equal(t, &c.d, got)
		})
	}
}

func TestDeviceEmptyCollectionsDecodeNil(t *testing.T) {
	t.Parallel()
	d := store.Device{ID: "d", Secret: []byte{}, Tags: []string{}, Tokens: map[string]string{}}
	got, err := decodeDevice(encodeDevice(&d))
	require.NoError(t, err)
	require.Nil(t, got.Secret)
	require.Nil(t, got.Tags)
	require.Nil(t, got.Tokens)
}

func TestDecodeRejectsMalformed(t *testing.T) {
	t.Parallel()
	valid := encodeMessage(&store.Message{PushID: "p", Title: "t", Data: map[string]string{"a": "1", "b": "2"}, SentAt: testTime})
	unsorted := []byte{codecVersion, 0, 0, 0, 0, 2, 1, 'b', 0, 1, 'a', 0}
	duplicate := []byte{codecVersion, 0, 0, 0, 0, 2, 1, 'a', 0, 1, 'a', 0}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"one_byte", []byte{codecVersion}},
		{"version", append([]byte{2}, valid[1:]...)},
		{"unknown_flag", append([]byte{codecVersion, 0x80}, valid[2:]...)},
		{"truncated", valid[:len(valid)-1]},
		{"trailing", append(bytes.Clone(valid), 0)},
		{"length_past_end", []byte{codecVersion, 0, 200}},
		{"huge_count", []byte{codecVersion, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad_uvarint", []byte{codecVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"missing_time", []byte{codecVersion, flagFirstTime, 0, 0, 0, 0}},
		{"unsorted_keys", unsorted},
		{"duplicate_keys", duplicate},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeMessage(c.b)
			require.Error(t, err)
			require.True(t, errors.Is(err, errMalformed), "%v", err)
		})
	}
	_, err := decodeDevice(valid)
	require.ErrorIs(t, err, errMalformed, "a message is not a device")
}

func TestValueHelpers(t *testing.T) {
	t.Parallel()
	n, err := toUint(nil)
	require.NoError(t, err)
	require.Zero(t, n)
	for _, v := range []any{int(7), int64(7), int32(7), uint64(7)} {
		n, err := toUint(v)
		require.NoError(t, err)
		require.EqualValues(t, 7, n)
	}
	for _, v := range []any{-1, "7", 7.0, uint64(math.MaxUint64), []byte{7}} {
		_, err := toUint(v)
		require.ErrorIs(t, err, errMalformed, "%T %v", v, v)
	}

	blobs, err := toBlobs([]any{[]byte("a"), []byte{}})
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("a"), {}}, blobs)
	blobs, err = toBlobs(nil)
	require.NoError(t, err)
	require.Empty(t, blobs)
	_, err = toBlobs([]any{"a"})
	require.ErrorIs(t, err, errMalformed)
	_, err = toBlobs(map[any]any{})
	require.ErrorIs(t, err, errMalformed)
}

// FuzzDecodeMessage feeds the message decoder arbitrary bytes, as a
// corrupted or foreign record would: it must never panic, and what it
// accepts must survive another round trip unchanged.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(&store.Message{}))
	f.Add(encodeMessage(&store.Message{PushID: "p", Title: "t", Body: "b", Data: map[string]string{"k": "v", "a": ""},
		SentAt: testTime, ExpiresAt: testTime.Add(time.Second)}))
	f.Add([]byte{codecVersion, flagsKnown, 0, 0, 0, 0, 0x80, 0x80, 0x01, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		again, err := decodeMessage(encodeMessage(&m))
		require.NoError(t, err)
		require.Equal(t, m, again)
	})
}

// FuzzDecodeDevice is FuzzDecodeMessage for devices.
func FuzzDecodeDevice(f *testing.F) {
	f.Add(encodeDevice(&store.Device{}))
	f.Add(encodeDevice(&store.Device{ID: "d", AppID: "a", Secret: []byte{1, 2}, Platform: "android", Alias: "al",
		Tags: []string{"x", "y"}, Locale: "en", TimeZone: "UTC", Tokens: map[string]string{"fcm": "t"},
		CreatedAt: testTime, LastSeen: testTime}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDevice(b)
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		again, err := decodeDevice(encodeDevice(d))
		require.NoError(t, err)
		require.Equal(t, d, again)
	})
}
