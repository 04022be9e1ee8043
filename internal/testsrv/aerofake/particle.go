package aerofake

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Particle types of bin values on the wire, as the server numbers them.
const (
	wireNull    byte = 0
	wireInteger byte = 1
	wireFloat   byte = 2
	wireString  byte = 3
	wireBlob    byte = 4
	wireBool    byte = 17
	wireHLL     byte = 18
	wireMap     byte = 19
	wireList    byte = 20
	wireGeoJSON byte = 23
)

// decodeBinParticle turns a particle as a client sends it (a bin value of a
// write, add or append operation) into a value of the fake's value model.
// NULL decodes to nil. Types the fake does not keep (GeoJSON, HLL and
// anything unknown) answer codeUnsupportedFeature; malformed particles
// answer codeParameter.
func decodeBinParticle(ptype byte, data []byte) (any, resultCode) {
	switch ptype {
	case wireNull:
		return nil, codeOK
	case wireInteger:
		if len(data) != 8 {
			return nil, codeParameter
		}
		return int64(binary.BigEndian.Uint64(data)), codeOK
	case wireFloat:
		if len(data) != 8 {
			return nil, codeParameter
		}
		return math.Float64frombits(binary.BigEndian.Uint64(data)), codeOK
	case wireString:
		return string(data), codeOK
	case wireBlob:
		return append([]byte{}, data...), codeOK
	case wireBool:
		if len(data) != 1 {
			return nil, codeParameter
		}
		return data[0] != 0, codeOK
	case wireList, wireMap:
		return decodeCollectionParticle(ptype, data)
	default:
		return nil, codeUnsupportedFeature
	}
}

// decodeCollectionParticle unpacks the msgpack of a LIST or MAP particle
// and checks that it holds exactly one value of the particle's kind.
func decodeCollectionParticle(ptype byte, data []byte) (any, resultCode) {
	v, rest, err := unpackValue(data)
	if err != nil || len(rest) != 0 {
		return nil, codeParameter
	}
	switch v.(type) {
	case []any:
		if ptype == wireList {
			return v, codeOK
		}
	case *Map:
		if ptype == wireMap {
			return v, codeOK
		}
	}
	return nil, codeParameter
}

// encodeBinParticle returns the particle type and bytes that answer value v
// to the client. The particle type follows the Go type of v (see the value
// model in values.go); nil answers an empty NULL particle.
func encodeBinParticle(v any) (byte, []byte, error) {
	switch x := v.(type) {
	case nil:
		return wireNull, nil, nil
	case int64:
		return wireInteger, binary.BigEndian.AppendUint64(nil, uint64(x)), nil
	case float64:
		return wireFloat, binary.BigEndian.AppendUint64(nil, math.Float64bits(x)), nil
	case string:
		return wireString, []byte(x), nil
	case []byte:
		return wireBlob, append([]byte{}, x...), nil
	case bool:
		if x {
			return wireBool, []byte{1}, nil
		}
		return wireBool, []byte{0}, nil
	case []any:
		return wireList, packValue(nil, x), nil
	case *Map:
		return wireMap, packValue(nil, x), nil
	default:
		return 0, nil, fmt.Errorf("encode bin value: unsupported Go type %T", v)
	}
}

// binParticleSize is the number of bytes value v takes as a stored
// particle: its wire size, with lists and maps counted as their msgpack.
func binParticleSize(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case int64, float64:
		return 8
	case string:
		return len(x)
	case []byte:
		return len(x)
	case bool:
		return 1
	case []any, *Map:
		return len(packValue(nil, x))
	default:
		return 0
	}
}

// snapshotBins returns a copy of bins that shares no mutable list, map or
// blob with it, so that operations on the copy never change the original.
func snapshotBins(bins map[string]any) map[string]any {
	out := make(map[string]any, len(bins))
	for name, v := range bins {
		out[name] = snapshotValue(v)
	}
	return out
}

// snapshotValue returns a deep copy of a value of the value model.
func snapshotValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return append([]byte{}, x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = snapshotValue(e)
		}
		return out
	case *Map:
		if x == nil {
			return x
		}
		out := &Map{Order: x.Order, Entries: make([]MapEntry, len(x.Entries))}
		for i, e := range x.Entries {
			out.Entries[i] = MapEntry{Key: snapshotValue(e.Key), Value: snapshotValue(e.Value)}
		}
		return out
	default:
		return v
	}
}
