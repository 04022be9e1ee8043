package testsrv

import "errors"

// ErrNoRedisServer means redis-server is not on PATH.
var ErrNoRedisServer = errors.New("testsrv: redis-server not found on PATH")

// errAddrInUse means the server could not bind its TCP port.
var errAddrInUse = errors.New("address already in use")
