package bench

import "errors"

var (
	// ErrBadConfig means the configuration cannot be run; the message says
	// why.
	ErrBadConfig = errors.New("bench")
	// ErrNoBroadcast means the server refused an app-wide push.
	ErrNoBroadcast = errors.New(`the server refused an app-wide push ({"audience":{"broadcast":true}}): app-wide broadcast is not available on this server`)
	// ErrNotLoopback means the server is not on 127.0.0.0/8.
	ErrNotLoopback = errors.New("bench talks to 127.0.0.0/8 only")
	// ErrNoListener means no process visible to this user listens on the
	// port.
	ErrNoListener = errors.New("no process listening on the port")
)
