package pebblestore

import (
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

// head is the state of one device stream. Retained messages are
// first..seq; first is seq+1 when none is retained.
type head struct {
	epoch uint64
	seq   uint64
	first uint64
}

const headLen = 24

func (h head) encode() []byte {
	b := make([]byte, 0, headLen)
	b = binary.BigEndian.AppendUint64(b, h.epoch)
	b = binary.BigEndian.AppendUint64(b, h.seq)
	return binary.BigEndian.AppendUint64(b, h.first)
}

func decodeHead(b []byte) (head, error) {
	if len(b) != headLen {
		return head{}, errors.New("pebblestore: malformed stream head")
	}
	return head{
		epoch: binary.BigEndian.Uint64(b),
		seq:   binary.BigEndian.Uint64(b[8:]),
		first: binary.BigEndian.Uint64(b[16:]),
	}, nil
}

func encodeUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, errors.New("pebblestore: malformed watermark")
	}
	return binary.BigEndian.Uint64(b), nil
}

// idemEntry is what an idempotency key remembers.
type idemEntry struct {
	created time.Time
	pushID  string
}

func (e idemEntry) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(e.pushID)), uint64(e.created.UnixNano()))
	return append(b, e.pushID...)
}

func decodeIdemEntry(b []byte) (idemEntry, error) {
	if len(b) < 8 {
		return idemEntry{}, errors.New("pebblestore: malformed idempotency entry")
	}
	return idemEntry{
		created: time.Unix(0, int64(binary.BigEndian.Uint64(b))),
		pushID:  string(b[8:]),
	}, nil
}

// Counters are written sparse: countsSparse, then for each counter that
// is not zero its index in Vector order (one byte) and its value as a
// zigzag varint. A delta of one counter, the usual merge operand, takes 3
// bytes. Records written before (kept until their push is compacted away)
// are the whole vector as big-endian int64s, a multiple of 8 bytes; their
// first byte is the top byte of Targeted, 0x00 or 0xff for any count that
// fits in 56 bits, so countsSparse (0x01) never starts one. Either
// encoding written before a counter existed (Opened and Clicked came after
// the first ten, the AckedWithin counters after those) lacks it, and it
// reads as zero.
const countsSparse = 0x01

// encodeCounts returns the sparse encoding of c.
func encodeCounts(c store.Counts) []byte {
	v := c.Vector()
	b := make([]byte, 1, 1+len(v)*(1+binary.MaxVarintLen64))
	b[0] = countsSparse
	for i, x := range v {
		if x != 0 {
			b = binary.AppendVarint(append(b, byte(i)), x)
		}
	}
	return b
}

// decodeCounts decodes either encoding of the counters.
func decodeCounts(b []byte) (store.Counts, error) {
	if len(b) > 0 && b[0] == countsSparse {
		return decodeSparseCounts(b[1:])
	}
	if len(b) == 0 || len(b)%8 != 0 {
		return store.Counts{}, errors.New("pebblestore: malformed counts")
	}
	v := make([]int64, len(b)/8)
	for i := range v {
		v[i] = int64(binary.BigEndian.Uint64(b[8*i:]))
	}
	return store.CountsFromVector(v), nil
}

// decodeSparseCounts decodes what follows countsSparse: indexes rising,
// each below the number of counters, values not zero.
func decodeSparseCounts(b []byte) (store.Counts, error) {
	v := store.Counts{}.Vector()
	next := 0
	for len(b) > 0 {
		i := int(b[0])
		x, n := binary.Varint(b[1:])
		if i < next || i >= len(v) || n <= 0 || x == 0 {
			return store.Counts{}, errors.New("pebblestore: malformed counts")
		}
		v[i], next, b = x, i+1, b[1+n:]
	}
	return store.CountsFromVector(v), nil
}

// newCountsMerger returns the merge operator that sums store.Counts
// operands. AddCounts writes each delta as a merge operand instead of reading, adding and writing the total: a blind
// write needs no lock and no read, so any number of goroutines (and the
// collector's batches) can count the same push at once, and pebble folds the
// operands into one value on reads and compactions. Summing is associative
// and commutative, as pebble requires. The name is stored in the database:
// never change it for another operator.
func newCountsMerger() *pebble.Merger {
	return &pebble.Merger{
		Name: "mopush.counts.v1",
		Merge: func(_, value []byte) (pebble.ValueMerger, error) {
			m := &countsSum{}
			return m, m.add(value)
		},
	}
}

type countsSum struct{ sum store.Counts }

func (m *countsSum) add(value []byte) error {
	c, err := decodeCounts(value)
	if err != nil {
		return err
	}
	m.sum = m.sum.Add(c)
	return nil
}

func (m *countsSum) MergeNewer(value []byte) error { return m.add(value) }

func (m *countsSum) MergeOlder(value []byte) error { return m.add(value) }

func (m *countsSum) Finish(bool) ([]byte, io.Closer, error) {
	return encodeCounts(m.sum), nil, nil
}
