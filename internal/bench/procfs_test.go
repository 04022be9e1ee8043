package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{name: "plain", want: 3*time.Second + 450*time.Millisecond,
			stat: "4242 (mopush) S 1 4242 4242 0 -1 4194560 2893 0 0 0 245 100 0 0 20 0 12 0 215449 1922973696 8001 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"},
		{name: "name with spaces and parens", want: 20 * time.Millisecond,
			stat: "77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1"},
		{name: "no name", stat: "77 a R 1", wantErr: true},
		{name: "short", stat: "77 (x) R 1 2 3", wantErr: true},
		{name: "bad number", stat: "77 (x) R 1 77 77 0 -1 0 0 0 0 0 x 1 0 0", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseStatCPU(tc.stat)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	t.Parallel()
	status := "Name:\tmopush\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1922976 kB\nVmRSS:\t   32004 kB\nRssAnon:\t   12000 kB\nThreads:\t12\n"
	got, err := ParseStatusRSS(status)
	require.NoError(t, err)
	require.Equal(t, int64(32004*1024), got)

	_, err = ParseStatusRSS("Name:\tkthreadd\nState:\tS (sleeping)\n")
	require.Error(t, err, "kernel threads have no VmRSS")
	_, err = ParseStatusRSS("VmRSS:\t12 MB\n")
	require.Error(t, err)
}

func TestParseIO(t *testing.T) {
	t.Parallel()
	r, w, err := ParseIO("rchar: 6976\nwchar: 10\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 81920\ncancelled_write_bytes: 0\n")
	require.NoError(t, err)
	require.Equal(t, int64(4096), r)
	require.Equal(t, int64(81920), w)
	_, _, err = ParseIO("rchar: 1\n")
	require.Error(t, err)
}

func TestParseLimitsNoFile(t *testing.T) {
	t.Parallel()
	limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max cpu time              unlimited            unlimited            seconds   \n" +
		"Max open files            20000                20000                files     \n" +
		"Max locked memory         8388608              8388608              bytes     \n"
	got, err := ParseLimitsNoFile(limits)
	require.NoError(t, err)
	require.Equal(t, uint64(20000), got)

	got, err = ParseLimitsNoFile("Max open files            unlimited            unlimited            files\n")
	require.NoError(t, err)
	require.Equal(t, ^uint64(0), got)

	_, err = ParseLimitsNoFile("Max cpu time unlimited unlimited seconds\n")
	require.Error(t, err)
}

func TestReadProcSelf(t *testing.T) {
	t.Parallel()
	s, err := ReadProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, s.RSS)
	require.GreaterOrEqual(t, s.CPU, time.Duration(0))
	lim, err := ReadFileLimit(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, lim)
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add("1 (x) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1")
	f.Add("1 ()) R")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseStatCPU(s); err == nil {
			require.GreaterOrEqual(t, d, time.Duration(0))
		}
	})
}
