//go:build !linux

package bench

import (
	"errors"
	"os/exec"
)

// RaiseFileLimit is not supported off Linux: the bench reads /proc.
func RaiseFileLimit() (uint64, error) {
	return 0, errors.New("bench runs on Linux only (it reads /proc)")
}

func setParentDeathSignal(*exec.Cmd) {}
