// Package runtimetune starts the long-running mopush commands with the Go
// runtime's monitor thread (sysmon) kept out of its deep sleep.
//
// When every P of a Go process is idle, sysmon sleeps until a timer is due
// or until a goroutine enters a system call. A wake-up of the second kind
// resets it to naps of 20 µs, of which it takes at least 50 (1 ms) before
// it naps longer. A server at moderate load idles between requests, so
// nearly every request paid for that burst of naps; on a virtual machine,
// where each nap costs a timer interrupt and a thread switch, sysmon was
// 13 to 16% of the server's CPU samples at 1,000 unicast pushes/s (see
// docs/benchmarks.md).
//
// The runtime has no setting for sysmon's sleep, but it never deep-sleeps
// while it is asked for a scheduler trace (GODEBUG schedtrace=N, a line on
// stderr every N milliseconds). With N at its largest, 2147483647 ms (24.8
// days), sysmon naps as when the process is busy, up to 10 ms, and is
// never woken by a system call: an idle process wakes it about 100 times a
// second instead of not at all. The line is printed when the time since
// the machine booted passes a multiple of N: one line about every 25 days
// of uptime.
//
// The runtime reads schedtrace only at start, so Reexec replaces the
// process with itself (same PID, arguments and open files) with the
// setting added to GODEBUG. A GODEBUG that names schedtrace already is
// kept as it is: GODEBUG=schedtrace=0 keeps the runtime's default.
package runtimetune

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Setting is what Reexec adds to GODEBUG.
const Setting = "schedtrace=2147483647"

// Reexec replaces the process with itself with Setting in GODEBUG, unless
// GODEBUG names schedtrace already. It returns only when it did not
// replace the process: nil when the setting was there, or the error that
// prevented the exec (the caller goes on without the setting).
func Reexec() error {
	env, ok := Environ(os.Environ())
	if !ok {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("runtimetune: find executable: %w", err)
	}
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("runtimetune: exec %s: %w", exe, err)
	}
	return nil // unreachable: Exec does not return on success
}

// Environ returns environ with Setting added to GODEBUG, and false when
// GODEBUG names schedtrace already (environ is then returned as it is).
func Environ(environ []string) ([]string, bool) {
	const key = "GODEBUG="
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		v, isGODEBUG := strings.CutPrefix(kv, key)
		if !isGODEBUG {
			out = append(out, kv)
			continue
		}
		if found {
			continue // a duplicate: the runtime reads the first
		}
		found = true
		for f := range strings.SplitSeq(v, ",") {
			if name, _, _ := strings.Cut(f, "="); strings.TrimSpace(name) == "schedtrace" {
				return environ, false
			}
		}
		if v == "" {
			kv = key + Setting
		} else {
			kv = key + v + "," + Setting
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, key+Setting)
	}
	return out, true
}
