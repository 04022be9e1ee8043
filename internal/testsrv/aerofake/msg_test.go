package aerofake

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Tests of the AS_MSG parser and answers on hand-built messages.

// testMsg builds an AS_MSG body.
func testMsg(info1, info2, info3 byte, fields []msgField, ops []msgOp) []byte {
	b := []byte{msgHeaderSize, info1, info2, info3, 0, 0}
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ops)))
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(1+len(f.data)))
		b = append(b, f.kind)
		b = append(b, f.data...)
	}
	for _, op := range ops {
		b = binary.BigEndian.AppendUint32(b, uint32(4+len(op.name)+len(op.value)))
		b = append(b, op.kind, op.particle, 0, byte(len(op.name)))
		b = append(b, op.name...)
		b = append(b, op.value...)
	}
	return b
}

// testKeyFields are the fields of a key of namespace "test".
func testKeyFields(digest byte) []msgField {
	return []msgField{
		{kind: fieldNamespace, data: []byte("test")},
		{kind: fieldSet, data: []byte("s")},
		{kind: fieldDigest, data: bytes.Repeat([]byte{digest}, digestSize)},
	}
}

// testBatchField builds a batch index field of n entries on one digest
// prefix, the first full and the others repeating it.
func testBatchField(n int, info1, info2 byte, ops []msgOp) msgField {
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, 0)
	for i := range n {
		b = binary.BigEndian.AppendUint32(b, uint32(i))
		b = append(b, bytes.Repeat([]byte{byte(i)}, digestSize)...)
		if i > 0 {
			b = append(b, batchRepeat)
			continue
		}
		b = append(b, batchInfo|batchGen|batchTTL, info1, info2, 0, 0, 0, 0, 0, 0, 0)
		entry := testMsg(0, 0, 0, testKeyFields(0)[:2], ops)
		b = append(b, entry[18:]...)
	}
	return msgField{kind: fieldBatchIndex, data: b}
}

func TestAnswerMessageRefusesBadInput(t *testing.T) {
	s, err := newServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		body []byte
		want resultCode
	}{
		"short":      {body: []byte{22, 1}, want: codeParameter},
		"no digest":  {body: testMsg(info1Read|info1GetAll, 0, 0, testKeyFields(1)[:2], nil), want: codeUnsupportedFeature},
		"bad digest": {body: testMsg(info1Read, 0, 0, append(testKeyFields(1)[:2], msgField{kind: fieldDigest, data: []byte{1}}), nil), want: codeParameter},
		"filter": {body: testMsg(info1Read, 0, 0, append(testKeyFields(1), msgField{kind: fieldFilterExp, data: []byte{0x93}}), nil),
			want: codeParameter},
		"unknown namespace": {body: testMsg(info1Read, 0, 0, []msgField{{kind: fieldNamespace, data: []byte("x")}, testKeyFields(1)[2]}, nil),
			want: codeInvalidNamespace},
		"missing record": {body: testMsg(info1Read, 0, 0, testKeyFields(1), nil), want: codeKeyNotFound},
	}
	for name, tc := range cases {
		answer := s.answerMessage(tc.body)
		if len(answer) < protoHeaderSize+msgHeaderSize {
			t.Fatalf("%s: answer of %d bytes", name, len(answer))
		}
		if got := resultCode(answer[protoHeaderSize+5]); got != tc.want {
			t.Errorf("%s: code %d, want %d", name, got, tc.want)
		}
	}
}

func TestBatchRepeatEntries(t *testing.T) {
	s, err := newServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	add := msgOp{kind: msgOpAdd, particle: wireInteger, name: "n", value: binary.BigEndian.AppendUint64(nil, 2)}
	body := testMsg(info1Batch, 0, 0, []msgField{testBatchField(3, 0, info2Write|info2RespondAllOps, []msgOp{add})}, nil)
	answer := s.answerMessage(body)
	// Three answers with one op each, then the last message.
	wantSize := protoHeaderSize + 3*(msgHeaderSize+8+1) + msgHeaderSize
	if len(answer) != wantSize {
		t.Fatalf("answer of %d bytes, want %d", len(answer), wantSize)
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if n := len(s.store.namespaces["test"]); n != 3 {
		t.Fatalf("%d records stored, want 3", n)
	}
}

func FuzzAsMsg(f *testing.F) {
	write := msgOp{kind: msgOpWrite, particle: wireInteger, name: "a", value: make([]byte, 8)}
	f.Add(testMsg(0, info2Write, 0, testKeyFields(1), []msgOp{write}))
	f.Add(testMsg(info1Read|info1GetAll, 0, 0, testKeyFields(1), nil))
	f.Add(testMsg(info1Read, info2Write|info2RespondAllOps, 0, testKeyFields(2), []msgOp{
		{kind: msgOpAdd, particle: wireInteger, name: "n", value: make([]byte, 8)},
		{kind: msgOpRead, name: "n"},
		{kind: msgOpCDTModify, particle: wireBlob, name: "l", value: []byte{0x92, 0x01, 0x05}},
		{kind: msgOpExpRead, particle: wireBlob, name: "e", value: []byte{0x92, 0x01, 0x00}},
	}))
	f.Add(testMsg(info1Batch, 0, 0, []msgField{testBatchField(3, info1Read|info1GetAll, 0, nil)}, nil))
	f.Add(testMsg(info1Batch, 0, 0, []msgField{testBatchField(2, 0, info2Write, []msgOp{write})}, nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := newServer(Config{})
		if err != nil {
			t.Fatal(err)
		}
		answer := s.answerMessage(body)
		if len(answer) < protoHeaderSize+msgHeaderSize {
			t.Fatalf("answer of %d bytes", len(answer))
		}
		size := binary.BigEndian.Uint64(answer) & (1<<48 - 1)
		if int(size) != len(answer)-protoHeaderSize || answer[0] != protoVersion || answer[1] != protoMessage {
			t.Fatalf("bad proto header % x for %d bytes", answer[:8], len(answer))
		}
	})
}
