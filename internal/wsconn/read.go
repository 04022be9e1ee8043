package wsconn

import (
	"net"
	"slices"
)

// readChunk is the least free space ReadMessage offers to a read.
const readChunk = 512

// ReadMessage reads from conn, under whatever deadline the caller set, until
// d decodes a message, and returns it. It is for the blocking phase of a
// connection, such as the application handshake.
//
// *pending holds the bytes read and not yet decoded, at the front of its
// buffer: on the first call the bytes Upgrade returned (or nil), afterwards
// what ReadMessage left there, which the caller can hand on to another
// reader. ReadMessage reads into the spare capacity of *pending, at least
// 512 bytes at a time, moving the bytes it still needs to the front of the
// buffer to make room, and replaces the buffer with one twice as large only
// when that is not enough. The payload returned may lie in that buffer: it
// is valid until the next call.
//
// Read errors, io.EOF and timeouts included, are returned as they are, once
// the bytes read with them are decoded; decoding errors match ErrProtocol or
// ErrTooLarge.
func ReadMessage(conn net.Conn, d *Decoder, pending *[]byte) (Message, error) {
	// base is the whole buffer: the payload of the previous call, if it
	// lies there, may be overwritten now.
	base := *pending
	p := base
	var rerr error
	for {
		m, n, err := d.Decode(p)
		switch {
		case err != nil:
			*pending = p
			return Message{}, err
		case n > 0 && m.Op != OpContinuation:
			inBuf := 0
			if k := len(m.Payload); k > 0 && k <= n && &m.Payload[0] == &p[n-k] {
				inBuf = k
			}
			*pending, m.Payload = settle(base, p[n-inBuf:], inBuf, m.Payload)
			return m, nil
		case n > 0:
			p = p[n:] // fragments taken into d
			continue
		case rerr != nil:
			*pending, _ = settle(base, p, 0, nil)
			return Message{}, rerr
		}
		base, p = makeRoom(base, p)
		var k int
		k, rerr = conn.Read(p[len(p):cap(p)])
		p = p[:len(p)+k]
	}
}

// settle moves the bytes not yet decoded to the front of base, where the
// next read appends to them, and returns them with the payload. tail holds
// them, preceded by the k bytes of the payload if it lies in the buffer;
// such a payload moves up behind them, where it stays valid until the next
// call reads over it.
func settle(base, tail []byte, k int, payload []byte) (rest, moved []byte) {
	if len(tail) == k {
		return base[:0], payload // nothing left: the next read starts at the front
	}
	if k > 0 {
		slices.Reverse(tail[:k])
		slices.Reverse(tail[k:])
		slices.Reverse(tail) // payload, rest → rest, payload
		payload = base[len(tail)-k : len(tail) : len(tail)]
	}
	copy(base[:len(tail)], tail)
	return base[:len(tail)-k], payload
}

// makeRoom ensures that p, which lies within base's buffer, has readChunk
// bytes of spare capacity.
func makeRoom(base, p []byte) (newBase, newP []byte) {
	switch {
	case cap(p)-len(p) >= readChunk:
		return base, p
	case cap(base)-len(p) >= readChunk:
		q := base[:len(p)]
		copy(q, p)
		return base, q
	}
	q := make([]byte, len(p), max(2*cap(base), len(p)+readChunk))
	copy(q, p)
	return q, q
}
