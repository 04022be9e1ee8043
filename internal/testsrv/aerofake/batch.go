package aerofake

import (
	"errors"
	"fmt"
)

// Flags that open each entry of a batch index field.
const (
	// batchRepeat reuses everything but the digest from the entry before.
	batchRepeat byte = 1 << 0
	// batchInfo: info1, info2 and info3 follow (else only info1 does).
	batchInfo byte = 1 << 1
	// batchGen: a 2-byte expected generation follows.
	batchGen byte = 1 << 2
	// batchTTL: a 4-byte record TTL follows.
	batchTTL byte = 1 << 3
)

// batchEntrySize is the smallest size of a batch entry: index, digest and
// flags.
const batchEntrySize = 4 + digestSize + 1

// batchEntry is one key of a batch command.
type batchEntry struct {
	// index is the key's position in the client's batch, echoed in the answer.
	index uint32
	// cmd is the command to run on the key.
	cmd *recordCommand
	// refused, when not codeOK, is answered for the key instead of running cmd.
	refused resultCode
}

// isBatch reports whether a message is a batch command.
func isBatch(m *asMsg) bool {
	_, index := m.field(fieldBatchIndex)
	_, indexWithSet := m.field(fieldBatchIndexWithSet)
	return m.info1&info1Batch != 0 || index || indexWithSet
}

// answerBatch runs every entry of a batch command and answers one message
// per entry, in entry order, each carrying the entry's batch index and
// result code, then a last message marked INFO3_LAST. A key whose command
// fails does not affect the others. Every key is answered, whatever the
// respond-all-keys flag asks.
func (s *Server) answerBatch(m *asMsg) []byte {
	entries, code := batchEntries(m)
	if code != codeOK {
		return errorAnswer(code)
	}
	dst, start := beginProto(nil)
	for _, e := range entries {
		out := outcome{code: e.refused}
		if e.refused == codeOK {
			out = s.execute(e.cmd)
		}
		dst = appendRecordMessage(dst, 0, out, e.index)
	}
	dst = appendRecordMessage(dst, info3Last, outcome{code: codeOK}, 0)
	return endProto(dst, start, protoMessage)
}

// batchEntries checks the fields of a batch message and parses its batch
// index field. A filter expression on the whole batch is refused.
func batchEntries(m *asMsg) ([]batchEntry, resultCode) {
	if len(m.ops) > 0 {
		return nil, codeParameter
	}
	if code := refusedFields(m.fields); code != codeOK {
		return nil, code
	}
	data, ok := m.field(fieldBatchIndex)
	if !ok {
		data, ok = m.field(fieldBatchIndexWithSet)
	}
	if !ok {
		return nil, codeParameter
	}
	entries, err := parseBatchEntries(data)
	if err != nil {
		return nil, codeParameter
	}
	return entries, codeOK
}

// parseBatchEntries parses a batch index field: the number of keys, a
// flags byte (inline and respond-all-keys, ignored), then the entries.
// Both field types share this layout: the old one (with set) opens each
// entry with a repeat byte that is either batchRepeat or 0, and 0 means
// "only info1 follows".
func parseBatchEntries(data []byte) ([]batchEntry, error) {
	r := &wireReader{b: data}
	n := r.u32()
	r.u8()
	if r.err != nil {
		return nil, fmt.Errorf("parse batch: %w", r.err)
	}
	if uint64(n) > uint64(len(r.b)/batchEntrySize) {
		return nil, fmt.Errorf("parse batch: %d keys do not fit in %d bytes", n, len(r.b))
	}
	entries := make([]batchEntry, 0, n)
	var prev *batchEntry
	for i := 0; i < int(n); i++ {
		e, err := readBatchEntry(r, prev)
		if err != nil {
			return nil, fmt.Errorf("parse batch entry %d: %w", i, err)
		}
		entries = append(entries, e)
		prev = &entries[len(entries)-1]
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("parse batch: %d bytes after the last entry", len(r.b))
	}
	return entries, nil
}

// readBatchEntry reads one entry; prev is the entry before, if any.
func readBatchEntry(r *wireReader, prev *batchEntry) (batchEntry, error) {
	index := r.u32()
	digest := r.next(digestSize)
	flags := r.u8()
	if r.err != nil {
		return batchEntry{}, r.err
	}
	if flags&batchRepeat != 0 {
		if prev == nil {
			return batchEntry{}, errors.New("repeat without an entry before")
		}
		cmd := *prev.cmd
		copy(cmd.digest[:], digest)
		return batchEntry{index: index, cmd: &cmd, refused: prev.refused}, nil
	}
	cmd, fields := readBatchCommand(r, flags)
	if r.err != nil {
		return batchEntry{}, r.err
	}
	copy(cmd.digest[:], digest)
	refused := refusedFields(fields)
	if refused == codeOK {
		refused = setRecordKey(cmd, fields, false)
	}
	return batchEntry{index: index, cmd: cmd, refused: refused}, nil
}

// readBatchCommand reads the attributes, fields and operations of a full
// (not repeated) batch entry, as flags announce them.
func readBatchCommand(r *wireReader, flags byte) (*recordCommand, []msgField) {
	cmd := &recordCommand{info1: r.u8()}
	if flags&batchInfo != 0 {
		cmd.info2, cmd.info3 = r.u8(), r.u8()
	}
	if flags&batchGen != 0 {
		cmd.generation = uint32(r.u16())
	}
	if flags&batchTTL != 0 {
		r.u32()
	}
	nFields, nOps := int(r.u16()), int(r.u16())
	fields := readFields(r, nFields)
	cmd.ops = readOps(r, nOps)
	return cmd, fields
}
