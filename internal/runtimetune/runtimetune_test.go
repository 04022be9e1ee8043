package runtimetune

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnviron(t *testing.T) {
	for name, c := range map[string]struct {
		in   []string
		want []string
		ok   bool
	}{
		"no GODEBUG":       {in: []string{"A=1"}, want: []string{"A=1", "GODEBUG=" + Setting}, ok: true},
		"empty GODEBUG":    {in: []string{"GODEBUG=", "A=1"}, want: []string{"GODEBUG=" + Setting, "A=1"}, ok: true},
		"other settings":   {in: []string{"GODEBUG=gctrace=1,madvdontneed=1"}, want: []string{"GODEBUG=gctrace=1,madvdontneed=1," + Setting}, ok: true},
		"schedtrace set":   {in: []string{"GODEBUG=gctrace=1,schedtrace=0"}, want: []string{"GODEBUG=gctrace=1,schedtrace=0"}, ok: false},
		"schedtrace first": {in: []string{"GODEBUG=schedtrace=1000", "B=2"}, want: []string{"GODEBUG=schedtrace=1000", "B=2"}, ok: false},
		// The runtime reads the first GODEBUG; a later one is dropped.
		"duplicate": {in: []string{"GODEBUG=x=1", "GODEBUG=schedtrace=5"}, want: []string{"GODEBUG=x=1," + Setting}, ok: true},
		// A name that only ends in schedtrace is another setting.
		"lookalike": {in: []string{"GODEBUG=noschedtrace=1"}, want: []string{"GODEBUG=noschedtrace=1," + Setting}, ok: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := Environ(c.in)
			require.Equal(t, c.ok, ok)
			require.Equal(t, c.want, got)
		})
	}
}

// helperEnv makes the test binary, run by TestReexec, act as a command
// that calls Reexec and prints what it then runs with.
const helperEnv = "RUNTIMETUNE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if err := Reexec(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("pid=%d godebug=%s\n", os.Getpid(), os.Getenv("GODEBUG"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Reexec replaces the process with itself: the same PID, now with the
// setting in GODEBUG, which the second run finds and keeps.
func TestReexec(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(environWithoutGODEBUG(), helperEnv+"=1", "GODEBUG=gctrace=0")
	var out strings.Builder
	cmd.Stdout = &out
	require.NoError(t, cmd.Run(), out.String())
	want := fmt.Sprintf("pid=%d godebug=gctrace=0,%s\n", cmd.Process.Pid, Setting)
	require.Equal(t, want, out.String())
}

// An operator's schedtrace is kept: no exec, GODEBUG unchanged.
func TestReexecKeepsTheOperatorsSetting(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(environWithoutGODEBUG(), helperEnv+"=1", "GODEBUG=schedtrace=0")
	out, err := cmd.Output()
	require.NoError(t, err, string(out))
	require.Equal(t, "pid="+strconv.Itoa(cmd.Process.Pid)+" godebug=schedtrace=0\n", string(out))
}

// environWithoutGODEBUG is this process's environment without GODEBUG, so
// that the GODEBUG a test gives is the one the child reads.
func environWithoutGODEBUG() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			out = append(out, kv)
		}
	}
	return out
}
