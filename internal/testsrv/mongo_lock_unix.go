//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package testsrv

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path, creating the file if needed,
// and blocks while another process holds it. The kernel drops the lock when
// the holder exits, so a crashed build leaves no stale lock.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
		f.Close()
	}, nil
}
