package sdkproto

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// SubprotocolEarlyHello is the subprotocol a server selects when it took the
// ClientHello from the upgrade request (an early hello): its ServerHello
// follows the 101 response at once, and the client does not send the
// ClientHello again. That saves a round trip per connection.
const SubprotocolEarlyHello = "mopush.v1.hello"

// earlyHelloPrefix starts the offered subprotocol token that carries the
// ClientHello, base64url without padding. A subprotocol is a token that
// browsers let a page set, unlike other headers.
const earlyHelloPrefix = "mopush.hello."

// maxEarlyHelloToken bounds the encoded ClientHello in a token.
var maxEarlyHelloToken = base64.RawURLEncoding.EncodedLen(MaxHelloSize)

// EarlyHelloProtocols returns the subprotocols a client offers, in its order
// of preference, to send clientHello with its upgrade request. A server that
// speaks early hellos selects SubprotocolEarlyHello; one that does not
// selects Subprotocol, and the client then sends clientHello as its first
// message.
func EarlyHelloProtocols(clientHello []byte) []string {
	return []string{SubprotocolEarlyHello, Subprotocol, earlyHelloPrefix + base64.RawURLEncoding.EncodeToString(clientHello)}
}

// EarlyHello returns the ClientHello an upgrade request carries in offered,
// the values of its Sec-WebSocket-Protocol headers. ok reports whether the
// request asks for an early hello: it offers SubprotocolEarlyHello and a
// hello token. A request that asks for one with a token that is too long,
// not base64url or repeated gets an error wrapping ErrFrameTooLarge or
// ErrBadFrame, the codes of the same faults in a first message.
func EarlyHello(offered []string) (clientHello []byte, ok bool, err error) {
	var token string
	wants, tokens := false, 0
	for _, v := range offered {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.Trim(t, " \t")
			switch {
			case t == SubprotocolEarlyHello:
				wants = true
			case strings.HasPrefix(t, earlyHelloPrefix):
				token = t[len(earlyHelloPrefix):]
				tokens++
			}
		}
	}
	if !wants || tokens == 0 {
		return nil, false, nil
	}
	if tokens > 1 {
		return nil, true, fmt.Errorf("%w: %d early hellos", ErrBadFrame, tokens)
	}
	if len(token) > maxEarlyHelloToken {
		return nil, true, fmt.Errorf("%w: early hello of %d characters", ErrFrameTooLarge, len(token))
	}
	clientHello, err = base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return nil, true, fmt.Errorf("%w: early hello: %v", ErrBadFrame, err)
	}
	return clientHello, true, nil
}
