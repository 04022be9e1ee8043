package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLongRunning(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{nil, true}, // mopush: all
		{[]string{"--listen", "127.0.0.1:9"}, true},
		{[]string{"all"}, true},
		{[]string{"connector", "--config", "c.toml"}, true},
		{[]string{"bench", "worker"}, true},
		{[]string{"device", "run"}, true},
		{[]string{"app", "create"}, false},
		{[]string{"help"}, false},
		{[]string{"nope"}, false},
	} {
		require.Equal(t, c.want, LongRunning(c.args), "%q", c.args)
	}
}

func TestMainCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, Main(context.Background(), []string{"help"}, &out, &errOut, func() {}))
	require.Contains(t, out.String(), "usage: mopush")
	out.Reset()
	require.Equal(t, 2, Main(context.Background(), []string{"nope"}, &out, &errOut, func() {}))
	require.Contains(t, errOut.String(), `unknown command "nope"`)
}
