package shard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// DefaultVNodes is how many virtual nodes New places per shard when asked
// for zero. With 512, each of 2 to 16 shards holds its fair share of keys
// within about 11% (TestBalance); a ring of 16 shards is 128 KiB.
const DefaultVNodes = 512

// Ring maps keys to shards. Build it with New.
type Ring struct {
	names  []string
	points []point // sorted by hash, then by name
}

// point is one virtual node on the circle.
type point struct {
	hash  uint64
	shard int32
}

// New returns a ring over the named shards with vnodes virtual nodes each
// (DefaultVNodes when vnodes is 0). Names must be distinct and not empty;
// the shard index of a name is its position in names.
func New(names []string, vnodes int) (*Ring, error) {
	if len(names) == 0 {
		return nil, errors.New("shard: no shards")
	}
	if vnodes == 0 {
		vnodes = DefaultVNodes
	}
	if vnodes < 0 {
		return nil, fmt.Errorf("shard: %d virtual nodes", vnodes)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("shard: shard name %q is empty or repeated", n)
		}
		seen[n] = true
	}
	r := &Ring{names: slices.Clone(names), points: make([]point, 0, len(names)*vnodes)}
	for i, n := range names {
		for v := range vnodes {
			r.points = append(r.points, point{hash: Hash(n + "#" + strconv.Itoa(v)), shard: int32(i)})
		}
	}
	// Ties (two virtual nodes on one hash) go to the smaller name, so the
	// order of names does not matter.
	slices.SortFunc(r.points, func(a, b point) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return cmpString(r.names[a.shard], r.names[b.shard])
	})
	return r, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Len returns the number of shards.
func (r *Ring) Len() int { return len(r.names) }

// Name returns the name of shard i.
func (r *Ring) Name(i int) string { return r.names[i] }

// Locate returns the index of the shard that owns key.
func (r *Ring) Locate(key string) int {
	if len(r.names) == 1 {
		return 0
	}
	h := Hash(key)
	i, _ := slices.BinarySearchFunc(r.points, h, func(p point, h uint64) int {
		switch {
		case p.hash < h:
			return -1
		case p.hash > h:
			return 1
		}
		return 0
	})
	if i == len(r.points) {
		i = 0
	}
	return int(r.points[i].shard)
}

// Split groups the positions 0..n-1 by the shard that owns key(i): the
// result has one slice per shard, holding that shard's positions in
// increasing order, nil for a shard with none.
func (r *Ring) Split(n int, key func(i int) string) [][]int {
	groups := make([][]int, len(r.names))
	if len(r.names) == 1 {
		if n > 0 {
			all := make([]int, n)
			for i := range all {
				all[i] = i
			}
			groups[0] = all
		}
		return groups
	}
	for i := range n {
		s := r.Locate(key(i))
		groups[s] = append(groups[s], i)
	}
	return groups
}

// FNV-1a constants.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Hash is the ring's hash of key: FNV-1a 64 with the finaliser of
// MurmurHash3, which spreads keys that differ in their last bytes over the
// whole circle. It is fixed: changing it would move keys between shards.
func Hash(key string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= fnvPrime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
