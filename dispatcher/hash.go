package dispatcher

import "github.com/cespare/xxhash/v2"

// hashKey places a key (a device id) on the ring. XXH64 is specified
// byte-for-byte, so every process on every machine agrees on owners.
func hashKey(key string) uint64 {
	return xxhash.Sum64String(key)
}

// pointSeq yields the ring points of one node: a SplitMix64 sequence
// seeded by the hash of the node's ID. Point i of a node never depends on
// the other nodes or on the number of points, so changing a node's weight
// or the node set moves only the points that must move.
type pointSeq struct{ state uint64 }

func newPointSeq(id string) pointSeq {
	return pointSeq{state: xxhash.Sum64String(id)}
}

func (s *pointSeq) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
