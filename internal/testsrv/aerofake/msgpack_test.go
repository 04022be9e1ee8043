package aerofake

import (
	"bytes"
	"encoding/base64"
	"math"
	"reflect"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v7"
)

// clientPack returns the msgpack the client packs for v inside a CDT
// operation or expression: the client's own packer (packObject) packs it
// as the only element of a quoted list, ExpListValueVal(v), which
// Expression.Base64 serializes; the quote's header is stripped.
func clientPack(t testing.TB, v any) []byte {
	t.Helper()
	s, err := as.ExpListValueVal(v).Base64()
	if err != nil {
		t.Fatalf("Base64: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(s)
	prefix := []byte{0x92, 0x7e, 0x91} // [126, [v]]
	if !bytes.HasPrefix(raw, prefix) {
		t.Fatalf("quoted list % x: unexpected header", raw)
	}
	return raw[len(prefix):]
}

// clientUnpack decodes msgpack with the client's unpacker, as it reads a
// list or map of the server: Base64ToCDTContext unpacks [0, [value]] and
// hands the decoded list through unchanged.
func clientUnpack(t testing.TB, packed []byte) any {
	t.Helper()
	b := append([]byte{0x92, 0x00, 0x91}, packed...)
	ctx, err := as.Base64ToCDTContext(base64.StdEncoding.EncodeToString(b))
	if err != nil {
		t.Fatalf("client unpack % x: %v", packed, err)
	}
	list, ok := ctx[0].Value.GetObject().([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("client unpack % x: got %#v", packed, ctx[0].Value.GetObject())
	}
	return list[0]
}

func TestPackValueBytes(t *testing.T) {
	long := string(bytes.Repeat([]byte{'x'}, 40))
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"nil", nil, []byte{0xc0}},
		{"true", true, []byte{0xc3}},
		{"false", false, []byte{0xc2}},
		{"fixint", int64(5), []byte{0x05}},
		{"uint8", int64(200), []byte{0xcc, 200}},
		{"uint16", int64(300), []byte{0xcd, 0x01, 0x2c}},
		{"uint32", int64(70000), []byte{0xce, 0x00, 0x01, 0x11, 0x70}},
		{"uint64", int64(1) << 40, []byte{0xcf, 0, 0, 0x01, 0, 0, 0, 0, 0}},
		{"negfixint", int64(-3), []byte{0xfd}},
		{"int8", int64(-100), []byte{0xd0, 0x9c}},
		{"int16", int64(-300), []byte{0xd1, 0xfe, 0xd4}},
		{"int64", int64(math.MinInt64), []byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"float", 1.5, []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{"string", "ab", []byte{0xa3, 0x03, 'a', 'b'}},
		{"blob", []byte{9, 8}, []byte{0xa3, 0x04, 9, 8}},
		{"long string", long, append([]byte{0xd9, 41, 0x03}, long...)},
		{"list", []any{int64(1), "a"}, []byte{0x92, 0x01, 0xa2, 0x03, 'a'}},
		{"unordered map", &Map{Entries: []MapEntry{{"k", int64(1)}}}, []byte{0x81, 0xa2, 0x03, 'k', 0x01}},
		{"key-ordered map", &Map{Order: 1, Entries: []MapEntry{{int64(1), int64(2)}}},
			[]byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x02}},
		{"empty key-ordered map", &Map{Order: 1}, []byte{0x81, 0xc7, 0x00, 0x01, 0xc0}},
	}
	for _, tt := range tests {
		if got := packValue(nil, tt.v); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: packValue = % x, want % x", tt.name, got, tt.want)
		}
	}
}

// TestUnpackClientValues decodes values as the client packs them.
func TestUnpackClientValues(t *testing.T) {
	tests := []struct {
		in   any // as given to the client
		want any // in the value model
	}{
		{nil, nil},
		{true, true},
		{7, int64(7)},
		{-70000, int64(-70000)},
		{int64(math.MaxInt64), int64(math.MaxInt64)},
		{uint64(math.MaxUint64), int64(-1)}, // 0xcf wraps as the server reads it
		{float32(0.5), 0.5},
		{2.25, 2.25},
		{"héllo", "héllo"},
		{"", ""},
		{[]byte{}, []byte{}},
		{[]byte{1, 2, 3}, []byte{1, 2, 3}},
		{[]any{1, "x", []byte{4}, []any{}}, []any{int64(1), "x", []byte{4}, []any{}}},
		{map[any]any{"k": []any{1}}, &Map{Entries: []MapEntry{{"k", []any{int64(1)}}}}},
	}
	for _, tt := range tests {
		packed := clientPack(t, tt.in)
		got, rest, err := unpackValue(packed)
		if err != nil || len(rest) != 0 {
			t.Errorf("%#v: unpackValue(% x) = %#v, rest % x, %v", tt.in, packed, got, rest, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%#v: unpackValue(% x) = %#v, want %#v", tt.in, packed, got, tt.want)
		}
	}
}

// TestClientReadsPackedValues checks that the client's unpacker reads
// what packValue writes, key-ordered maps as sorted pairs.
func TestClientReadsPackedValues(t *testing.T) {
	tests := []struct {
		v    any
		want any // as the client decodes it
	}{
		{int64(-5), -5},
		{int64(1) << 40, 1 << 40},
		{"s", "s"},
		{[]byte{1}, []byte{1}},
		{[]any{int64(1), nil, true}, []any{1, nil, true}},
		{&Map{Entries: []MapEntry{{"a", int64(1)}}}, map[any]any{"a": 1}},
		{&Map{Order: 1, Entries: []MapEntry{{int64(1), "x"}, {int64(2), "y"}}},
			[]as.MapPair{{Key: 1, Value: "x"}, {Key: 2, Value: "y"}}},
	}
	for _, tt := range tests {
		got := clientUnpack(t, packValue(nil, tt.v))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("client reads %#v as %#v, want %#v", tt.v, got, tt.want)
		}
	}
}

func TestUnpackValueDialect(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want any
		err  error
	}{
		{"bin8 blob", []byte{0xc4, 0x02, 0x04, 0x07}, []byte{7}, nil},
		{"float32", []byte{0xca, 0x3f, 0xc0, 0, 0}, 1.5, nil},
		{"ordered map sorted on read", []byte{0x83, 0xc7, 0x00, 0x01, 0xc0, 0x02, 0xc0, 0x01, 0xc0},
			&Map{Order: 1, Entries: []MapEntry{{int64(1), nil}, {int64(2), nil}}}, nil},
		{"unordered list flag", []byte{0x92, 0xc7, 0x00, 0x00, 0x05}, []any{int64(5)}, nil},
		{"ordered list", []byte{0x92, 0xc7, 0x00, 0x01, 0x05}, nil, errUnsupportedValue},
		{"geojson", []byte{0xa2, 0x17, '{'}, nil, errUnsupportedValue},
		{"no particle type", []byte{0xa0}, nil, errMsgpack},
		{"duplicate keys", []byte{0x82, 0x01, 0xc0, 0x01, 0xc3}, nil, errMsgpack},
		{"wildcard", []byte{0xd4, 0xff, 0x00}, nil, errNonStorage},
		{"infinity in list", []byte{0x91, 0xd4, 0xff, 0x01}, nil, errNonStorage},
		{"truncated", []byte{0xcd, 0x01}, nil, errMsgpack},
		{"never used", []byte{0xc1}, nil, errMsgpack},
		{"list too long", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, nil, errMsgpack},
	}
	for _, tt := range tests {
		got, _, err := unpackValue(tt.in)
		if err != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: unpackValue(% x) = %#v, %v; want %#v, %v", tt.name, tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestUnpackValueDepth(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x91}, maxDepth+1), 0xc0)
	if _, _, err := unpackValue(deep); err == nil {
		t.Errorf("unpackValue of %d nested lists: no error", maxDepth+1)
	}
	ok := append(bytes.Repeat([]byte{0x91}, maxDepth-1), 0xc0)
	if _, _, err := unpackValue(ok); err != nil {
		t.Errorf("unpackValue of %d nested lists: %v", maxDepth-1, err)
	}
}

func TestCompareValues(t *testing.T) {
	ordered := []any{ // ascending, each pair distinct
		nil,
		false,
		true,
		int64(math.MinInt64),
		int64(-1),
		int64(0),
		int64(math.MaxInt64),
		"",
		"a",
		"ab",
		"b",
		[]any{},
		[]any{int64(1)},
		[]any{int64(1), int64(0)},
		[]any{int64(2)},
		&Map{},
		&Map{Order: 1, Entries: []MapEntry{{int64(9), int64(9)}}},
		&Map{Order: 1, Entries: []MapEntry{{int64(1), int64(1)}, {int64(2), int64(2)}}},
		[]byte{},
		[]byte{0},
		[]byte{1},
		math.Inf(-1),
		-1.5,
		2.0,
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareValues(a, b); got != want {
				t.Errorf("compareValues(%#v, %#v) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// isModelValue reports whether v is a value of the value model.
func isModelValue(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte:
		return true
	case []any:
		for _, e := range x {
			if !isModelValue(e) {
				return false
			}
		}
		return true
	case *Map:
		if x == nil {
			return false
		}
		for _, e := range x.Entries {
			if !isModelValue(e.Key) || !isModelValue(e.Value) {
				return false
			}
		}
		return true
	}
	return false
}

func FuzzUnpackValue(f *testing.F) {
	seeds := []any{nil, true, int64(-1), int64(1) << 40, 1.5, "s", []byte{1},
		[]any{int64(1), []any{"x"}}, &Map{Order: 1, Entries: []MapEntry{{int64(1), "a"}}},
		&Map{Entries: []MapEntry{{"k", &Map{}}}}}
	for _, v := range seeds {
		f.Add(packValue(nil, v))
	}
	f.Add(clientPack(f, map[any]any{"k": []any{1, 2.5, []byte{3}}}))
	f.Add([]byte{0x92, 0xc7, 0x00, 0x00, 0x05})
	f.Fuzz(func(t *testing.T, in []byte) {
		v, rest, err := unpackValue(in)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(in, rest) || len(rest) == len(in) {
			t.Fatalf("unpackValue(% x): rest % x", in, rest)
		}
		if !isModelValue(v) {
			t.Fatalf("unpackValue(% x) = %#v: not a model value", in, v)
		}
		packed := packValue(nil, v)
		again, rest, err := unpackValue(packed)
		if err != nil || len(rest) != 0 {
			t.Fatalf("unpackValue(packValue(%#v) = % x): %v, rest % x", v, packed, err, rest)
		}
		if repacked := packValue(nil, again); !bytes.Equal(repacked, packed) {
			t.Fatalf("round trip of % x: % x, then % x", in, packed, repacked)
		}
	})
}
