package reccodec

import (
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

var when = time.Date(2026, 12, 7, 2, 59, 21, 136086509, time.UTC)

func testMessages() []store.Message {
	return []store.Message{
		{},
		{Seq: 1, PushID: "06H4WW8C08NPHF0VZBEGGVVJZR", Title: "bench", Data: map[string]string{"t": "1796612361218653197"},
			SentAt: when, ExpiresAt: when.Add(72 * time.Hour)},
		{Seq: 1 << 60, PushID: "p", Title: "", Body: "ü\x00b", Data: map[string]string{"": "", "b": "2", "a": "1"},
			SentAt: time.Unix(-5, 1).UTC()},
	}
}

func testPushes() []*store.Push {
	return []*store.Push{
		{},
		{ID: "06H4WW8BP0YPCKJRDNQM9SWFF0", AppID: "06H4WW8A3CVPYG42JHG7T9ZA4C",
			Notification: store.Notification{Title: "bench", Data: map[string]string{"t": "1796612361135671584"}},
			Audience:     store.Audience{DeviceIDs: []string{"06H4WW8AA9C31EWV9HZFTNH94C"}},
			Targets:      []string{"06H4WW8AA9C31EWV9HZFTNH94C"},
			CreatedAt:    when, ExpiresAt: when.Add(time.Hour), State: store.PushPending},
		{ID: "a", AppID: "b", Notification: store.Notification{Body: "hi"},
			Audience:    store.Audience{DeviceIDs: []string{"d1", "d2", "gone"}, Aliases: []string{"alice"}},
			Targets:     []string{"d1", "d2", "d3"}, // an alias resolved, an unknown id left out
			Fingerprint: "f", State: store.PushDone, CreatedAt: when},
		{ID: "c", Audience: store.Audience{Broadcast: true}, State: store.PushPending, CreatedAt: when},
		{ID: "s", AppID: "b", Audience: store.Audience{Aliases: []string{"bob"}}, Targets: []string{"d9"},
			CreatedAt: when, SendAt: when.Add(36 * time.Hour), State: store.PushScheduled},
		{ID: "t", State: store.PushScheduled, SendAt: time.Unix(-1, 999999999).UTC()},
		{ID: "u", AppID: "b", Audience: store.Audience{Tags: []string{"sports", "lang:de"}}, CreatedAt: when,
			State: store.PushPending},
		{ID: "v", AppID: "b", Audience: store.Audience{Tags: []string{"news"}}, CreatedAt: when,
			SendAt: when.Add(time.Hour), State: store.PushScheduled, Rate: 250},
		{ID: "w", AppID: "b", Audience: store.Audience{Tags: []string{"all"}}, CreatedAt: when, Rate: 1,
			State: store.PushPending},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range testMessages() {
		b := EncodeMessage(&m)
		got, err := DecodeMessage(b)
		require.NoError(t, err)
		require.Equal(t, m, got)
		require.Equal(t, b, EncodeMessage(&got), "stable encoding")
	}
}

func TestPushRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range testPushes() {
		b := EncodePush(p)
		got, err := DecodePush(b)
		require.NoError(t, err)
		require.Equal(t, p, got)
		require.Equal(t, b, EncodePush(got), "stable encoding")
	}
	withCounts := *testPushes()[1]
	withCounts.Counts = store.Counts{Acked: 3}
	got, err := DecodePush(EncodePush(&withCounts))
	require.NoError(t, err)
	require.Zero(t, got.Counts, "counts are kept apart")
}

// Pushes encoded before SendAt existed decode as they did, and a push
// without SendAt is still encoded byte for byte as it was then.
func TestPushWithoutSendAtUnchanged(t *testing.T) {
	t.Parallel()
	before := []string{
		"0100000000000000000000000000",
		"01021a303648345757384250305950434b4a52444e514d3953574646301a303648345757384133435650594734324a48473754395a4134430562656e6368000101741331373936363132333631313335363731353834011a3036483457573841413943333145575639485a46544e4839344300019284b1b10ded87f24001b2bcb1b10ded87f240000770656e64696e67",
		"01000161016200026869000302643102643204676f6e650105616c69636503026431026432026433019284b1b10ded87f24000016604646f6e65",
		"0101016300000000000000019284b1b10ded87f24000000770656e64696e67",
	}
	for i, h := range before {
		b, err := hex.DecodeString(h)
		require.NoError(t, err)
		p := testPushes()[i]
		require.Zero(t, p.SendAt)
		got, err := DecodePush(b)
		require.NoError(t, err)
		require.Equal(t, p, got)
		require.Equal(t, b, EncodePush(p))
	}
}

// The binary records are about half their JSON, which the embedded store
// wrote before (a unicast push: 430 and 188 bytes as JSON).
func TestRecordsSmallerThanJSON(t *testing.T) {
	t.Parallel()
	p, m := testPushes()[1], testMessages()[1]
	pj, err := json.Marshal(p)
	require.NoError(t, err)
	mj, err := json.Marshal(&m)
	require.NoError(t, err)
	pb, mb := EncodePush(p), EncodeMessage(&m)
	t.Logf("push %d bytes (JSON %d), message %d bytes (JSON %d)", len(pb), len(pj), len(mb), len(mj))
	require.Less(t, 2*len(pb), len(pj))
	require.Less(t, 2*len(mb), len(mj))
	require.NotEqual(t, byte('{'), pb[0])
	require.NotEqual(t, byte('{'), mb[0])
}

func TestRecordsReject(t *testing.T) {
	t.Parallel()
	m := testMessages()[1]
	mb := EncodeMessage(&m)
	pb := EncodePush(testPushes()[2])
	sb := EncodePush(testPushes()[4])
	noTime := EncodePush(&store.Push{ID: "x"})
	noTime[1] |= pushSendAt
	noTime = append(noTime, 0) // the flag with a zero time
	for _, b := range [][]byte{nil, {0}, {2}, []byte(`{"seq":1}`), mb[:len(mb)-1], append(append([]byte{}, mb...), 0)} {
		_, err := DecodeMessage(b)
		require.ErrorIs(t, err, ErrMalformed, "%q", b)
	}
	for _, b := range [][]byte{nil, {1}, {2, 0}, {1, 4}, []byte(`{"id":"x"}`), pb[:len(pb)-1], append(append([]byte{}, pb...), 0),
		sb[:len(sb)-1], noTime, noTime[:len(noTime)-1], {1, 8}} {
		_, err := DecodePush(b)
		require.ErrorIs(t, err, ErrMalformed, "%q", b)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range testMessages() {
		f.Add(EncodeMessage(&m))
	}
	encode := func(m store.Message) []byte { return EncodeMessage(&m) }
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, b, DecodeMessage, encode) })
}

func FuzzDecodePush(f *testing.F) {
	for _, p := range testPushes() {
		f.Add(EncodePush(p))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, b, DecodePush, EncodePush) })
}

// The encodings list the records' fields one by one, where JSON took
// every field: a field added to a record must be added to its encoding
// (with a new version, or a flag that tells it is there) too, or it would be lost on the way through the
// store. This test names the fields the encodings cover.
func TestEncodingsCoverEveryField(t *testing.T) {
	t.Parallel()
	fields := func(v any) []string {
		var out []string
		for f := range reflect.TypeOf(v).Fields() {
			out = append(out, f.Name)
		}
		return out
	}
	require.Equal(t, []string{"ID", "AppID", "Secret", "Platform", "Alias", "Tags", "Locale", "TimeZone", "Tokens", "CreatedAt", "LastSeen"},
		fields(store.Device{}), "EncodeDevice")
	require.Equal(t, []string{"Seq", "PushID", "Title", "Body", "Data", "SentAt", "ExpiresAt"},
		fields(store.Message{}), "EncodeMessage")
	require.Equal(t, []string{"ID", "AppID", "Notification", "Audience", "Targets", "CreatedAt", "ExpiresAt", "SendAt", "Rate", "Fingerprint", "State", "Counts"},
		fields(store.Push{}), "EncodePush (Counts are kept apart)")
	require.Equal(t, []string{"Title", "Body", "Data"}, fields(store.Notification{}), "EncodePush")
	require.Equal(t, []string{"DeviceIDs", "Aliases", "Broadcast", "Tags"}, fields(store.Audience{}), "EncodePush")
}
