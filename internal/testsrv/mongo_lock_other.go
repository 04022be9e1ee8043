//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package testsrv

// lockFile does nothing where flock is missing: concurrent test binaries
// may then build the tool twice, which the build's write-then-rename keeps
// safe.
func lockFile(string) (unlock func(), err error) {
	return func() {}, nil
}
