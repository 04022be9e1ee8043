package ids

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Ids of later milliseconds sort after earlier ones; the store relies on
// it to find a new push's id free without a read.
func TestIDsSortByMillisecond(t *testing.T) {
	base := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var got []string
	for i := range 1000 {
		got = append(got, At(base.Add(time.Duration(i*7)*time.Millisecond)))
	}
	require.True(t, sort.StringsAreSorted(got))
	// A far later time too: the millisecond part has no wrap-around.
	require.Less(t, At(base), At(base.AddDate(100, 0, 0)))
}

func TestIDsOfOneMillisecondShareTheirPrefix(t *testing.T) {
	now := time.Now()
	a, b := At(now), At(now)
	require.Len(t, a, 26)
	require.NotEqual(t, a, b, "the rest is random")
	require.Equal(t, a[:9], b[:9], "the first 45 bits are the millisecond's")
	for _, c := range a + b {
		require.True(t, strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c), "%q", c)
	}
}

func TestTokenAndSecret(t *testing.T) {
	require.Len(t, Secret(32), 32)
	require.NotEqual(t, Secret(16), Secret(16))
	require.Len(t, Token(16), 26) // 128 bits in 5-bit characters
}

func TestTimeOfAnID(t *testing.T) {
	base := time.Date(2026, 12, 7, 10, 0, 0, 123_000_000, time.UTC)
	for _, at := range []time.Time{base, base.AddDate(50, 0, 0), time.UnixMilli(0)} {
		got, ok := Time(At(at))
		require.True(t, ok)
		require.True(t, got.Equal(at), "%v against %v", got, at)
	}
	for _, bad := range []string{"", "short", At(base) + "0", "ILOU" + At(base)[4:], strings.ToLower(At(base))} {
		_, ok := Time(bad)
		require.False(t, ok, "%q", bad)
	}
}

func FuzzTime(f *testing.F) {
	f.Add(New())
	f.Add("")
	f.Add("ZZZZZZZZZZZZZZZZZZZZZZZZZZ")
	f.Fuzz(func(t *testing.T, s string) {
		if tm, ok := Time(s); ok {
			require.Len(t, s, 26)
			require.Equal(t, s[:9], At(tm)[:9], "the time round-trips to the id's first 45 bits")
		}
	})
}
