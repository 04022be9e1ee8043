package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits buckets, so a bucket is at most 1/32 (about 3%) wide relative
// to its values.
const subBits = 5

const (
	subCount   = 1 << subBits
	numBuckets = (64 - subBits + 1) * subCount
)

// Histogram counts durations in log-linear buckets, as HDR histograms do:
// bounded memory (2,048 counters) whatever the number of samples, and a
// relative error under 3% in every percentile. The zero value is empty and
// ready. A Histogram is not safe for concurrent use.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max time.Duration
	sum      time.Duration
}

// bucketOf returns the bucket of a non-negative value.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - subBits
	return shift*subCount + int(v>>uint(shift))
}

// bucketRange returns the smallest and largest value of a bucket.
func bucketRange(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	shift := i/subCount - 1
	m := uint64(i - shift*subCount)
	return m << uint(shift), (m+1)<<uint(shift) - 1
}

// Record adds one duration; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.n++
	h.sum += d
}

// Merge adds every sample of o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean is the average sample, exactly.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the q-quantile (0 < q ≤ 1): the sample of rank
// ceil(q·n), given as the middle of its bucket (kept within the exact
// minimum and maximum), or exactly for the first and the last rank; 0 when
// empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	switch rank {
	case h.n:
		return h.max
	case 1:
		return h.min
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := time.Duration(lo + (hi-lo)/2)
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max
}

// histJSON is the wire form: non-empty buckets as [index, count] pairs.
type histJSON struct {
	Buckets [][2]uint64 `json:"buckets,omitempty"`
	Min     int64       `json:"min_ns"`
	Max     int64       `json:"max_ns"`
	Sum     int64       `json:"sum_ns"`
}

// MarshalJSON encodes the non-empty buckets and the exact extremes.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	out := histJSON{Min: int64(h.min), Max: int64(h.max), Sum: int64(h.sum)}
	for i, c := range h.counts {
		if c > 0 {
			out.Buckets = append(out.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var in histJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	h.Reset()
	for _, bc := range in.Buckets {
		if bc[0] >= numBuckets {
			return fmt.Errorf("histogram: bucket %d out of range", bc[0])
		}
		h.counts[bc[0]] += bc[1]
		h.n += bc[1]
	}
	h.min, h.max, h.sum = time.Duration(in.Min), time.Duration(in.Max), time.Duration(in.Sum)
	return nil
}
