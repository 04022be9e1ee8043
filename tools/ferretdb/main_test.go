package main

import (
	"log/slog"
	"testing"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-listen", "127.0.0.1:1234", "-dir", "state", "-log-level", "warn"})
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:1234" || o.dir != "state" || o.logLevel != slog.LevelWarn {
		t.Fatalf("got %+v", o)
	}
	for _, args := range [][]string{
		{},                                  // no -dir
		{"-dir", "d", "extra"},              // stray argument
		{"-dir", "d", "-log-level", "loud"}, // bad level
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
