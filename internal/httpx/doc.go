// Package httpx is the HTTP plumbing shared by every role: handlers that
// return errors, one central writer that turns typed API errors into
// application/problem+json, JSON decoding with limits, and HTTP/2 servers
// and clients (cleartext HTTP/2 for internal calls).
package httpx
