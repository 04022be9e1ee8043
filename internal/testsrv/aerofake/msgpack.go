package aerofake

import (
	"encoding/binary"
	"errors"
	"math"
)

// The msgpack dialect of list and map values, as the server stores them and
// as the client packs them (packer.go): strings and blobs are msgpack raw
// strings whose first byte is the particle type, and a key-ordered map
// starts with an extension header pair (ext type = the map's order flags,
// empty content, nil value) that its element count includes.

// Particle types that prefix the bytes of a msgpack string.
const (
	mpString byte = 3
	mpBlob   byte = 4
)

// maxDepth bounds the nesting of lists and maps that unpackValue accepts.
const maxDepth = 64

// Errors of unpackValue.
var (
	// errMsgpack is malformed msgpack, or a value the server refuses.
	errMsgpack = errors.New("aerofake: malformed msgpack value")
	// errNonStorage is a comparison-only value (wildcard, infinity).
	errNonStorage = errors.New("aerofake: msgpack value is not storable")
	// errUnsupportedValue is a value the fake does not keep (ordered
	// list, GeoJSON, HLL and other typed bytes).
	errUnsupportedValue = errors.New("aerofake: msgpack value not supported")
)

// packValue appends v (a value of values.go) as msgpack in the server's
// dialect. A value of any other Go type packs as nil.
func packValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, 0xc0)
	case bool:
		if x {
			return append(dst, 0xc3)
		}
		return append(dst, 0xc2)
	case int64:
		return packInt(dst, x)
	case int:
		return packInt(dst, int64(x))
	case float64:
		dst = append(dst, 0xcb)
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(x))
	case string:
		dst = packStrHeader(dst, len(x)+1)
		return append(append(dst, mpString), x...)
	case []byte:
		dst = packStrHeader(dst, len(x)+1)
		return append(append(dst, mpBlob), x...)
	case []any:
		dst = packArrayHeader(dst, len(x))
		for _, e := range x {
			dst = packValue(dst, e)
		}
		return dst
	case *Map:
		return packMap(dst, x)
	}
	return append(dst, 0xc0)
}

// packMap appends a map: an ordered map carries its order flags in an
// extension header pair before the entries.
func packMap(dst []byte, m *Map) []byte {
	if m == nil {
		return append(dst, 0x80)
	}
	if m.Order == 0 {
		dst = packMapHeader(dst, len(m.Entries))
	} else {
		dst = packMapHeader(dst, len(m.Entries)+1)
		dst = append(dst, 0xc7, 0x00, byte(m.Order), 0xc0)
	}
	for _, e := range m.Entries {
		dst = packValue(dst, e.Key)
		dst = packValue(dst, e.Value)
	}
	return dst
}

// packInt appends an integer in its shortest form, unsigned forms for
// non-negative values, as the server packs integers.
func packInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 0x80:
		return append(dst, byte(v))
	case v >= 0 && v <= math.MaxUint8:
		return append(dst, 0xcc, byte(v))
	case v >= 0 && v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(v))
	case v >= 0 && v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	case v >= 0:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), uint64(v))
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

// packStrHeader appends the header of a msgpack string of n bytes.
func packStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
}

// packArrayHeader appends the header of a msgpack array of n elements.
func packArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
}

// packMapHeader appends the header of a msgpack map of n pairs.
func packMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

// unpackValue decodes one msgpack value in the server's dialect and
// returns the rest of b. Integers of either sign decode to int64 (an
// unsigned 64-bit integer above MaxInt64 wraps, as the server reads it),
// 32-bit floats to float64. A map's keys must be distinct; the entries of
// an ordered map are sorted by key. An ordered list, typed bytes other
// than string and blob, and comparison-only extensions are refused.
func unpackValue(b []byte) (v any, rest []byte, err error) {
	return unpackDepth(b, 0)
}

// unpackDepth decodes one value nested depth levels deep.
func unpackDepth(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 {
		return nil, b, errMsgpack
	}
	c := b[0]
	switch {
	case c < 0x80:
		return int64(c), b[1:], nil
	case c >= 0xe0:
		return int64(int8(c)), b[1:], nil
	case c&0xe0 == 0xa0:
		return unpackBytes(b[1:], int(c&0x1f))
	case c&0xf0 == 0x90:
		return unpackList(b[1:], int(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return unpackMap(b[1:], int(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		return nil, b[1:], nil
	case 0xc2:
		return false, b[1:], nil
	case 0xc3:
		return true, b[1:], nil
	case 0xca, 0xcb:
		return unpackFloat(b)
	case 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3:
		return unpackIntValue(b)
	}
	return unpackSized(b, depth)
}

// unpackSized decodes the string, array, map and extension forms with an
// explicit length.
func unpackSized(b []byte, depth int) (any, []byte, error) {
	n, rest, ok := readLength(b)
	if !ok {
		if isExt(b[0]) {
			return nil, b, extError(b)
		}
		return nil, b, errMsgpack
	}
	switch b[0] {
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		return unpackBytes(rest, n)
	case 0xdc, 0xdd:
		return unpackList(rest, n, depth)
	case 0xde, 0xdf:
		return unpackMap(rest, n, depth)
	}
	return nil, b, errMsgpack
}

// readLength reads the length of a string, bin, array or map header with
// an explicit length field and returns it with the rest after the header.
func readLength(b []byte) (int, []byte, bool) {
	var size int
	switch b[0] {
	case 0xc4, 0xd9:
		size = 1
	case 0xc5, 0xda, 0xdc, 0xde:
		size = 2
	case 0xc6, 0xdb, 0xdd, 0xdf:
		size = 4
	default:
		return 0, b, false
	}
	if len(b) < 1+size {
		return 0, b, false
	}
	var n uint64
	for _, x := range b[1 : 1+size] {
		n = n<<8 | uint64(x)
	}
	return int(n), b[1+size:], true
}

// unpackIntValue decodes an integer with a type byte.
func unpackIntValue(b []byte) (any, []byte, error) {
	v, rest, ok := readInt(b)
	if !ok {
		return nil, b, errMsgpack
	}
	return v, rest, nil
}

// readInt reads a msgpack integer of any form.
func readInt(b []byte) (int64, []byte, bool) {
	if len(b) == 0 {
		return 0, b, false
	}
	c := b[0]
	if c < 0x80 || c >= 0xe0 {
		return int64(int8(c)), b[1:], true
	}
	var size int
	switch c {
	case 0xcc, 0xd0:
		size = 1
	case 0xcd, 0xd1:
		size = 2
	case 0xce, 0xd2:
		size = 4
	case 0xcf, 0xd3:
		size = 8
	}
	if size == 0 || len(b) < 1+size {
		return 0, b, false
	}
	var u uint64
	for _, x := range b[1 : 1+size] {
		u = u<<8 | uint64(x)
	}
	if c >= 0xd0 && size < 8 {
		// Sign-extend the signed forms.
		shift := 64 - 8*size
		return int64(u<<shift) >> shift, b[1+size:], true
	}
	return int64(u), b[1+size:], true
}

// unpackFloat decodes a 32- or 64-bit float.
func unpackFloat(b []byte) (any, []byte, error) {
	if b[0] == 0xca {
		if len(b) < 5 {
			return nil, b, errMsgpack
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:]))), b[5:], nil
	}
	if len(b) < 9 {
		return nil, b, errMsgpack
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b[1:])), b[9:], nil
}

// unpackBytes decodes n bytes of a string or bin: a particle type byte,
// then the contents.
func unpackBytes(b []byte, n int) (any, []byte, error) {
	if n > len(b) {
		return nil, b, errMsgpack
	}
	if n == 0 {
		return nil, b, errMsgpack // no particle type
	}
	data, rest := b[1:n], b[n:]
	switch b[0] {
	case mpString:
		return string(data), rest, nil
	case mpBlob:
		return append([]byte{}, data...), rest, nil
	}
	return nil, b, errUnsupportedValue
}

// unpackList decodes n elements of a list. A first element that is an
// extension header carries the list's flags: only the unordered list's
// (zero) is accepted.
func unpackList(b []byte, n, depth int) (any, []byte, error) {
	if depth >= maxDepth {
		return nil, b, errMsgpack
	}
	if n > 0 && len(b) > 0 && isExt(b[0]) {
		flags, rest, err := readCollectionExt(b)
		if err != nil {
			return nil, b, err
		}
		if flags != 0 {
			return nil, b, errUnsupportedValue
		}
		b, n = rest, n-1
	}
	list := make([]any, 0, min(n, len(b)))
	for range n {
		v, rest, err := unpackDepth(b, depth+1)
		if err != nil {
			return nil, b, err
		}
		list, b = append(list, v), rest
	}
	return list, b, nil
}

// unpackMap decodes n pairs of a map. A first key that is an extension
// header (with a nil value) carries the map's order flags.
func unpackMap(b []byte, n, depth int) (any, []byte, error) {
	if depth >= maxDepth {
		return nil, b, errMsgpack
	}
	m := &Map{}
	if n > 0 && len(b) > 0 && isExt(b[0]) {
		order, rest, err := readMapExt(b)
		if err != nil {
			return nil, b, err
		}
		m.Order, b, n = order, rest, n-1
	}
	m.Entries = make([]MapEntry, 0, min(n, len(b)/2))
	for range n {
		k, rest, err := unpackDepth(b, depth+1)
		if err != nil {
			return nil, b, err
		}
		v, rest, err := unpackDepth(rest, depth+1)
		if err != nil {
			return nil, b, err
		}
		m.Entries, b = append(m.Entries, MapEntry{Key: k, Value: v}), rest
	}
	if !normalizeMap(m) {
		return nil, b, errMsgpack
	}
	return m, b, nil
}

// readMapExt reads a map's extension header pair and returns its order.
func readMapExt(b []byte) (int, []byte, error) {
	flags, rest, err := readCollectionExt(b)
	if err != nil {
		return 0, b, err
	}
	if len(rest) == 0 || rest[0] != 0xc0 {
		return 0, b, errMsgpack
	}
	const persistIndex = 0x10
	switch order := int(flags &^ persistIndex); order {
	case 0, 1, 3:
		return order, rest[1:], nil
	}
	return 0, b, errMsgpack
}

// normalizeMap sorts the entries of an ordered map by key and reports
// whether the keys are distinct.
func normalizeMap(m *Map) bool {
	keys := make([]any, len(m.Entries))
	for i, e := range m.Entries {
		keys[i] = e.Key
	}
	if m.Order != 0 {
		sortEntries(m.Entries)
		for i, e := range m.Entries {
			keys[i] = e.Key
		}
	} else {
		sortValues(keys)
	}
	for i := 1; i < len(keys); i++ {
		if compareValues(keys[i-1], keys[i]) == 0 {
			return false
		}
	}
	return true
}

// isExt reports whether c starts a msgpack extension.
func isExt(c byte) bool {
	return (c >= 0xd4 && c <= 0xd8) || (c >= 0xc7 && c <= 0xc9)
}

// readExt reads a msgpack extension: its type and contents.
func readExt(b []byte) (typ byte, data, rest []byte, ok bool) {
	if len(b) == 0 || !isExt(b[0]) {
		return 0, nil, b, false
	}
	var n, hdr int
	switch c := b[0]; {
	case c >= 0xd4 && c <= 0xd8:
		n, hdr = 1<<(c-0xd4), 1
	case c == 0xc7:
		hdr = 2
	case c == 0xc8:
		hdr = 3
	default:
		hdr = 5
	}
	if len(b) < hdr+1 {
		return 0, nil, b, false
	}
	if hdr > 1 {
		for _, x := range b[1:hdr] {
			n = n<<8 | int(x)
		}
	}
	if n < 0 || len(b)-hdr-1 < n {
		return 0, nil, b, false
	}
	return b[hdr], b[hdr+1 : hdr+1+n], b[hdr+1+n:], true
}

// readCollectionExt reads the extension header of a list or map: an empty
// extension whose type is the collection's flags.
func readCollectionExt(b []byte) (byte, []byte, error) {
	typ, data, rest, ok := readExt(b)
	switch {
	case !ok:
		return 0, b, errMsgpack
	case typ == 0xff:
		return 0, b, errNonStorage
	case len(data) != 0:
		return 0, b, errUnsupportedValue
	}
	return typ, rest, nil
}

// extError classifies an extension where a value was expected.
func extError(b []byte) error {
	typ, _, _, ok := readExt(b)
	if ok && typ == 0xff {
		return errNonStorage
	}
	return errMsgpack
}

// skipValue returns the rest of b after one msgpack element of any kind,
// extensions included.
func skipValue(b []byte, depth int) ([]byte, bool) {
	if len(b) == 0 || depth >= maxDepth {
		return b, false
	}
	if isExt(b[0]) {
		_, _, rest, ok := readExt(b)
		return rest, ok
	}
	c := b[0]
	var n int
	switch {
	case c&0xf0 == 0x90:
		return skipN(b[1:], int(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return skipN(b[1:], 2*int(c&0x0f), depth)
	case c == 0xdc || c == 0xdd || c == 0xde || c == 0xdf:
		count, rest, ok := readLength(b)
		if !ok {
			return b, false
		}
		if c >= 0xde {
			count *= 2
		}
		return skipN(rest, count, depth)
	}
	switch {
	case c < 0x80 || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		n = 1
	case c&0xe0 == 0xa0:
		n = 1 + int(c&0x1f)
	case c == 0xca:
		n = 5
	case c == 0xcb:
		n = 9
	default:
		return skipScalar(b)
	}
	if len(b) < n {
		return b, false
	}
	return b[n:], true
}

// skipScalar skips an integer or a string with a length field.
func skipScalar(b []byte) ([]byte, bool) {
	if _, rest, ok := readInt(b); ok {
		return rest, true
	}
	n, rest, ok := readLength(b)
	if !ok || n > len(rest) {
		return b, false
	}
	return rest[n:], true
}

// skipN skips count elements.
func skipN(b []byte, count, depth int) ([]byte, bool) {
	for range count {
		var ok bool
		if b, ok = skipValue(b, depth+1); !ok {
			return b, false
		}
	}
	return b, true
}

// readArrayHeader reads the header of a msgpack array.
func readArrayHeader(b []byte) (int, []byte, bool) {
	if len(b) == 0 {
		return 0, b, false
	}
	if b[0]&0xf0 == 0x90 {
		return int(b[0] & 0x0f), b[1:], true
	}
	if b[0] != 0xdc && b[0] != 0xdd {
		return 0, b, false
	}
	return readLength(b)
}

// readRawString reads a msgpack string or bin without a particle type
// prefix (bin and variable names of expressions).
func readRawString(b []byte) (string, []byte, bool) {
	if len(b) == 0 {
		return "", b, false
	}
	if b[0]&0xe0 == 0xa0 {
		n := int(b[0] & 0x1f)
		if len(b) < 1+n {
			return "", b, false
		}
		return string(b[1 : 1+n]), b[1+n:], true
	}
	switch b[0] {
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
	default:
		return "", b, false
	}
	n, rest, ok := readLength(b)
	if !ok || n > len(rest) {
		return "", b, false
	}
	return string(rest[:n]), rest[n:], true
}

// isArray reports whether b starts with a msgpack array.
func isArray(b []byte) bool {
	return len(b) > 0 && (b[0]&0xf0 == 0x90 || b[0] == 0xdc || b[0] == 0xdd)
}
