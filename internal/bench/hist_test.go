package bench

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHistogramEmpty(t *testing.T) {
	t.Parallel()
	var h Histogram
	require.Zero(t, h.Count())
	require.Zero(t, h.Quantile(0.99))
	require.Zero(t, h.Mean())
}

func TestHistogramExactSmallValues(t *testing.T) {
	t.Parallel()
	var h Histogram
	for v := range 10 {
		h.Record(time.Duration(v + 1)) // 1..10 ns: one bucket each
	}
	require.Equal(t, time.Duration(5), h.Quantile(0.50))
	require.Equal(t, time.Duration(10), h.Quantile(0.99))
	require.Equal(t, time.Duration(1), h.Quantile(0.01))
	require.Equal(t, time.Duration(10), h.Max())
}

func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	// 1 ms … 100 ms in steps of 10 µs: quantile q is about q·100 ms.
	var h Histogram
	var all []time.Duration
	for v := time.Millisecond; v <= 100*time.Millisecond; v += 10 * time.Microsecond {
		h.Record(v)
		all = append(all, v)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		got := h.Quantile(q)
		require.InEpsilon(t, float64(exact), float64(got), 0.035, "q=%v exact=%v got=%v", q, exact, got)
	}
	require.Equal(t, 100*time.Millisecond, h.Quantile(1))
}

func TestHistogramRelativeError(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		v := time.Duration(r.Int64N(int64(time.Hour)))
		var h Histogram
		h.Record(v)
		require.InEpsilon(t, float64(max(v, 1)), float64(max(h.Quantile(0.5), 1)), 0.035, "v=%d", v)
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1 << 40, math.MaxInt64, math.MaxUint64} {
		i := bucketOf(v)
		require.Less(t, i, numBuckets)
		lo, hi := bucketRange(i)
		require.LessOrEqual(t, lo, v, "v=%d", v)
		require.GreaterOrEqual(t, hi, v, "v=%d", v)
	}
}

func TestHistogramMergeAndJSON(t *testing.T) {
	t.Parallel()
	var a, b, both Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		both.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	raw, err := json.Marshal(&b)
	require.NoError(t, err)
	var decoded Histogram
	require.NoError(t, json.Unmarshal(raw, &decoded))
	a.Merge(&decoded)
	require.Equal(t, both, a)
	require.Equal(t, both.Quantile(0.99), a.Quantile(0.99))
	require.Equal(t, 999*time.Microsecond, a.Max())

	require.Error(t, json.Unmarshal([]byte(`{"buckets":[[99999,1]]}`), &decoded))
}

func TestHistogramNegative(t *testing.T) {
	t.Parallel()
	var h Histogram
	h.Record(-time.Second)
	require.Equal(t, uint64(1), h.Count())
	require.Zero(t, h.Quantile(1))
}
