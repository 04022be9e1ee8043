package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stepAt returns the result of a step at rate whose pushes all took lat.
func stepAt(rate float64, lat time.Duration) *stepResult {
	r := &stepResult{rate: rate, achieved: rate, accepted: 10, received: 10}
	for range 10 {
		r.hist.Record(lat)
	}
	return r
}

// server sustains rates up to capacity; spikes lists the attempts (by
// order) whose p99 a stall pushes over 10 ms whatever the rate.
func server(capacity float64, spikes map[int]bool) (func(float64) (*stepResult, error), *[]float64) {
	var tried []float64
	return func(rate float64) (*stepResult, error) {
		tried = append(tried, rate)
		if rate > capacity || spikes[len(tried)] {
			return stepAt(rate, 20*time.Millisecond), nil
		}
		return stepAt(rate, time.Millisecond), nil
	}, &tried
}

func TestSearchRateFindsCapacity(t *testing.T) {
	step, tried := server(1000, nil)
	best, _, steps, err := searchRate(step)
	require.NoError(t, err)
	require.Equal(t, 1000.0, best.rate)
	// 100…800 hold; 1600 fails twice; 1200 twice; 1000 holds; 1100 twice.
	require.Equal(t, []float64{100, 200, 400, 800, 1600, 1600, 1200, 1200, 1000, 1100, 1100}, *tried)
	require.Equal(t, len(*tried), steps)
}

// One stalled step does not end the search; a rate that fails twice does.
func TestSearchRateTriesAFailureAgain(t *testing.T) {
	step, tried := server(1000, map[int]bool{2: true}) // the first try at 200
	best, _, _, err := searchRate(step)
	require.NoError(t, err)
	require.Equal(t, 1000.0, best.rate)
	require.Equal(t, []float64{100, 200, 200, 400}, (*tried)[:4])

	step, _ = server(1000, map[int]bool{2: true, 3: true}) // both tries at 200
	best, _, _, err = searchRate(step)
	require.NoError(t, err)
	require.Less(t, best.rate, 200.0)
}

func TestSearchRateNothingHolds(t *testing.T) {
	step, tried := server(10, nil)
	best, lowest, steps, err := searchRate(step)
	require.NoError(t, err)
	require.True(t, best == nil, "no rate held")
	require.Equal(t, 12.5, lowest.rate)
	// Every failure is tried twice; three bisections below the first rate.
	require.Equal(t, []float64{100, 100, 50, 50, 25, 25, 12.5, 12.5}, *tried)
	require.Equal(t, 8, steps)
}

func TestSearchRateStopsOnError(t *testing.T) {
	boom := errors.New("worker gone")
	_, _, _, err := searchRate(func(float64) (*stepResult, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
}

func TestSearchRateIsBounded(t *testing.T) {
	step, tried := server(1e9, nil) // everything holds
	best, _, steps, err := searchRate(step)
	require.NoError(t, err)
	require.LessOrEqual(t, steps, maxSearchSteps)
	require.Equal(t, searchMax, best.rate)
	require.Len(t, *tried, steps)
}
