package aerofake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Bits of the info1, info2 and info3 bytes of an AS_MSG header.
const (
	info1Read      byte = 1 << 0
	info1GetAll    byte = 1 << 1
	info1Batch     byte = 1 << 3
	info1NoBinData byte = 1 << 5

	info2Write         byte = 1 << 0
	info2Delete        byte = 1 << 1
	info2Generation    byte = 1 << 2
	info2GenerationGT  byte = 1 << 3
	info2CreateOnly    byte = 1 << 5
	info2RespondAllOps byte = 1 << 7

	info3Last            byte = 1 << 0
	info3UpdateOnly      byte = 1 << 3
	info3CreateOrReplace byte = 1 << 4
	info3ReplaceOnly     byte = 1 << 5
)

// Field types of an AS_MSG.
const (
	fieldNamespace         byte = 0
	fieldSet               byte = 1
	fieldKey               byte = 2 // the user key: ignored, records are keyed by digest
	fieldDigest            byte = 4
	fieldUDFPackage        byte = 30
	fieldUDFFunction       byte = 31
	fieldUDFArgs           byte = 32
	fieldUDFOp             byte = 33
	fieldBatchIndex        byte = 41
	fieldBatchIndexWithSet byte = 42
	fieldFilterExp         byte = 43
)

// Operation types of an AS_MSG.
const (
	msgOpRead      byte = 1
	msgOpWrite     byte = 2
	msgOpCDTRead   byte = 3
	msgOpCDTModify byte = 4
	msgOpAdd       byte = 5
	msgOpExpRead   byte = 7
	msgOpExpModify byte = 8
	msgOpAppend    byte = 9
	msgOpPrepend   byte = 10
	msgOpTouch     byte = 11
	msgOpBitRead   byte = 12
	msgOpBitModify byte = 13
	msgOpDelete    byte = 14
	msgOpHLLRead   byte = 15
	msgOpHLLModify byte = 16
)

// Sizes and limits of records and messages.
const (
	// msgHeaderSize is the size of the AS_MSG header after the proto header.
	msgHeaderSize = 22
	// digestSize is the size of a key digest (RIPEMD-160).
	digestSize = 20
	// maxBinNameLen is the server's limit on bin name length.
	maxBinNameLen = 15
	// recordOverhead is what a record costs in size beyond its bins.
	recordOverhead = 64
	// maxGeneration is the largest generation; the next one wraps to 1.
	maxGeneration = 0xFFFF
)

// errShortMsg reports a message that ends before its declared contents.
var errShortMsg = errors.New("message truncated")

// msgField is one field of an AS_MSG: its type and its data.
type msgField struct {
	kind byte
	data []byte
}

// msgOp is one operation of an AS_MSG.
type msgOp struct {
	kind     byte
	particle byte
	name     string
	value    []byte
}

// asMsg is a parsed AS_MSG: the header values the fake uses, the fields
// and the operations.
type asMsg struct {
	info1, info2, info3 byte
	generation          uint32
	fields              []msgField
	ops                 []msgOp
}

// field returns the data of the first field of kind, if any.
func (m *asMsg) field(kind byte) ([]byte, bool) {
	for _, f := range m.fields {
		if f.kind == kind {
			return f.data, true
		}
	}
	return nil, false
}

// wireReader reads big-endian values from a byte slice, remembering the
// first overrun so that callers check once at the end.
type wireReader struct {
	b   []byte
	err error
}

// next returns the next n bytes, or nil after an overrun.
func (r *wireReader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShortMsg
		r.b = nil
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// u8 reads one byte.
func (r *wireReader) u8() byte {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

// u16 reads a big-endian uint16.
func (r *wireReader) u16() uint16 {
	if b := r.next(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// u32 reads a big-endian uint32.
func (r *wireReader) u32() uint32 {
	if b := r.next(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// sized reads a 4-byte size and then that many bytes.
func (r *wireReader) sized() []byte {
	size := r.u32()
	if r.err == nil && uint64(size) > uint64(len(r.b)) {
		r.err = errShortMsg
		return nil
	}
	return r.next(int(size))
}

// parseAsMsg parses the body of an AS_MSG proto: the 22-byte header, the
// fields and the operations, which must fill the body exactly.
func parseAsMsg(body []byte) (*asMsg, error) {
	r := &wireReader{b: body}
	if size := r.u8(); r.err == nil && size != msgHeaderSize {
		return nil, fmt.Errorf("parse message: header size %d, want %d", size, msgHeaderSize)
	}
	m := &asMsg{info1: r.u8(), info2: r.u8(), info3: r.u8()}
	r.next(2) // unused byte and result code
	m.generation = r.u32()
	r.next(8) // record ttl and transaction ttl
	nFields, nOps := int(r.u16()), int(r.u16())
	m.fields = readFields(r, nFields)
	m.ops = readOps(r, nOps)
	if r.err != nil {
		return nil, fmt.Errorf("parse message: %w", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("parse message: %d bytes after the last operation", len(r.b))
	}
	return m, nil
}

// readFields reads n fields: a 4-byte size that counts the type byte, the
// type and the data.
func readFields(r *wireReader, n int) []msgField {
	var fields []msgField
	for i := 0; i < n && r.err == nil; i++ {
		data := r.sized()
		if r.err != nil {
			return nil
		}
		if len(data) < 1 {
			r.err = fmt.Errorf("field %d has size 0", i)
			return nil
		}
		fields = append(fields, msgField{kind: data[0], data: data[1:]})
	}
	return fields
}

// readOps reads n operations: a 4-byte size, then the operation type, the
// particle type, a version byte, the name length, the name and the value.
func readOps(r *wireReader, n int) []msgOp {
	var ops []msgOp
	for i := 0; i < n && r.err == nil; i++ {
		data := r.sized()
		if r.err != nil {
			return nil
		}
		if len(data) < 4 {
			r.err = fmt.Errorf("operation %d has size %d", i, len(data))
			return nil
		}
		nameLen := int(data[3])
		if 4+nameLen > len(data) {
			r.err = fmt.Errorf("operation %d: name overruns the operation", i)
			return nil
		}
		ops = append(ops, msgOp{
			kind:     data[0],
			particle: data[1],
			name:     string(data[4 : 4+nameLen]),
			value:    data[4+nameLen:],
		})
	}
	return ops
}

// record is one stored record.
type record struct {
	set        string
	bins       map[string]any
	generation uint32
	lastUpdate int64 // Unix nanoseconds of the last write
}

// store holds the records of every namespace. One lock guards it all, so
// every command runs alone and is atomic on its record.
type store struct {
	mu         sync.Mutex
	namespaces map[string]map[[digestSize]byte]*record
}

// newStore returns an empty store with the given namespaces.
func newStore(namespaces []string) *store {
	st := &store{namespaces: make(map[string]map[[digestSize]byte]*record)}
	for _, ns := range namespaces {
		st.namespaces[ns] = make(map[[digestSize]byte]*record)
	}
	return st
}

// recordCommand is one command on one record, from a single-record
// message or from one entry of a batch.
type recordCommand struct {
	info1, info2, info3 byte
	generation          uint32
	namespace, set      string
	digest              [digestSize]byte
	ops                 []msgOp
}

// binAnswer is one (name, value) entry of an answer, its value already in
// wire form.
type binAnswer struct {
	name     string
	particle byte
	data     []byte
}

// outcome is the result of a record command.
type outcome struct {
	code       resultCode
	generation uint32
	answers    []binAnswer
}

// answerMessage handles the body of an AS_MSG proto and returns the whole
// answer, proto header included.
func (s *Server) answerMessage(body []byte) []byte {
	s.messages.Add(1)
	m, err := parseAsMsg(body)
	if err != nil {
		return errorAnswer(codeParameter)
	}
	if isBatch(m) {
		return s.answerBatch(m)
	}
	cmd, code := commandFromMsg(m)
	if code != codeOK {
		return errorAnswer(code)
	}
	dst, start := beginProto(nil)
	dst = appendRecordMessage(dst, 0, s.execute(cmd), 0)
	return endProto(dst, start, protoMessage)
}

// commandFromMsg checks the fields of a single-record message and returns
// its command. Filter expressions and UDFs are refused; a message without
// a digest (a scan or query) is unsupported.
func commandFromMsg(m *asMsg) (*recordCommand, resultCode) {
	if code := refusedFields(m.fields); code != codeOK {
		return nil, code
	}
	cmd := &recordCommand{
		info1: m.info1, info2: m.info2, info3: m.info3,
		generation: m.generation,
		ops:        m.ops,
	}
	if code := setRecordKey(cmd, m.fields, true); code != codeOK {
		return nil, code
	}
	return cmd, codeOK
}

// refusedFields answers codeParameter for a filter expression and
// codeUnsupportedFeature for UDF fields, which the fake does not run.
func refusedFields(fields []msgField) resultCode {
	for _, f := range fields {
		switch f.kind {
		case fieldFilterExp:
			return codeParameter
		case fieldUDFPackage, fieldUDFFunction, fieldUDFArgs, fieldUDFOp:
			return codeUnsupportedFeature
		}
	}
	return codeOK
}

// setRecordKey sets the namespace, set and digest of cmd from fields. A
// missing digest is unsupported when needDigest is set (a message without
// one is a scan or query); batch entries carry theirs outside the fields.
func setRecordKey(cmd *recordCommand, fields []msgField, needDigest bool) resultCode {
	var haveNS, haveDigest bool
	for _, f := range fields {
		switch f.kind {
		case fieldNamespace:
			cmd.namespace, haveNS = string(f.data), len(f.data) > 0
		case fieldSet:
			cmd.set = string(f.data)
		case fieldDigest:
			if len(f.data) != digestSize {
				return codeParameter
			}
			copy(cmd.digest[:], f.data)
			haveDigest = true
		}
	}
	switch {
	case !haveNS:
		return codeParameter
	case needDigest && !haveDigest:
		return codeUnsupportedFeature
	}
	return codeOK
}

// execute runs one record command under the store lock.
func (s *Server) execute(cmd *recordCommand) outcome {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	records, ok := s.store.namespaces[cmd.namespace]
	if !ok {
		return outcome{code: codeInvalidNamespace}
	}
	if cmd.info2&info2Write != 0 {
		return s.executeWrite(records, cmd)
	}
	return executeRead(records[cmd.digest], cmd)
}

// executeRead runs a read-only command: a get of some or all bins, a
// header read, or an operate whose operations all read.
func executeRead(rec *record, cmd *recordCommand) outcome {
	if rec == nil {
		return outcome{code: codeKeyNotFound}
	}
	bins := rec.bins
	if len(cmd.ops) > 0 {
		bins = snapshotBins(bins)
	}
	run := newOpRun(bins, true, cmd)
	if len(cmd.ops) == 0 && cmd.info1&info1GetAll != 0 && cmd.info1&info1NoBinData == 0 {
		if code := run.answerAllBins(); code != codeOK {
			return outcome{code: code}
		}
	}
	for _, op := range cmd.ops {
		if !isReadOp(op.kind) {
			return outcome{code: codeParameter}
		}
		if code := run.apply(op); code != codeOK {
			return outcome{code: code}
		}
	}
	return outcome{code: codeOK, generation: rec.generation, answers: run.answers}
}

// executeWrite runs a command that writes: a delete, or a put or operate
// whose operations apply in order to a working copy of the record. The
// copy replaces the record only when every operation succeeds and the
// record fits; a record left without bins is deleted, and a write that
// would create a record without bins answers KEY_NOT_FOUND. Expiry is not
// kept: a write's TTL is accepted and ignored, and records never expire.
func (s *Server) executeWrite(records map[[digestSize]byte]*record, cmd *recordCommand) outcome {
	rec := records[cmd.digest]
	if code := checkWrite(rec, cmd); code != codeOK {
		return outcome{code: code}
	}
	if cmd.info2&info2Delete != 0 {
		delete(records, cmd.digest)
		return outcome{code: codeOK}
	}
	run := newOpRun(startingBins(rec, cmd), rec != nil, cmd)
	for _, op := range cmd.ops {
		if code := run.apply(op); code != codeOK {
			return outcome{code: code}
		}
	}
	if len(run.bins) == 0 {
		if rec == nil {
			// As the server's write_master: a write that leaves a record
			// that did not exist without bins is not found.
			return outcome{code: codeKeyNotFound}
		}
		delete(records, cmd.digest)
		return outcome{code: codeOK, answers: run.answers}
	}
	if recordSize(run.bins) > s.cfg.MaxRecordSize {
		return outcome{code: codeRecordTooBig}
	}
	next := &record{
		set:        cmd.set,
		bins:       run.bins,
		generation: nextGeneration(rec),
		lastUpdate: time.Now().UnixNano(),
	}
	records[cmd.digest] = next
	return outcome{code: codeOK, generation: next.generation, answers: run.answers}
}

// checkWrite checks the existence and generation conditions of a write.
// A missing record has generation 0.
func checkWrite(rec *record, cmd *recordCommand) resultCode {
	exists := rec != nil
	mustExist := cmd.info2&info2Delete != 0 || cmd.info3&(info3UpdateOnly|info3ReplaceOnly) != 0
	switch {
	case exists && cmd.info2&info2CreateOnly != 0:
		return codeKeyExists
	case !exists && mustExist:
		return codeKeyNotFound
	}
	var current uint32
	if exists {
		current = rec.generation
	}
	switch {
	case cmd.info2&info2Generation != 0 && cmd.generation != current:
		return codeGeneration
	case cmd.info2&info2GenerationGT != 0 && cmd.generation <= current:
		return codeGeneration
	}
	return codeOK
}

// startingBins returns the working copy a write starts from: a copy of the
// record's bins, or no bins for a missing record or a replace.
func startingBins(rec *record, cmd *recordCommand) map[string]any {
	if rec == nil || cmd.info3&(info3CreateOrReplace|info3ReplaceOnly) != 0 {
		return make(map[string]any)
	}
	return snapshotBins(rec.bins)
}

// nextGeneration is the generation of a record after a write.
func nextGeneration(rec *record) uint32 {
	if rec == nil || rec.generation >= maxGeneration {
		return 1
	}
	return rec.generation + 1
}

// recordSize is the stored size of a record with bins.
func recordSize(bins map[string]any) int {
	size := recordOverhead
	for name, v := range bins {
		size += len(name) + binParticleSize(v)
	}
	return size
}

// isReadOp reports whether an operation type only reads.
func isReadOp(kind byte) bool {
	switch kind {
	case msgOpRead, msgOpCDTRead, msgOpExpRead, msgOpBitRead, msgOpHLLRead:
		return true
	}
	return false
}

// opRun applies the operations of one command to a working set of bins
// and collects their answers.
type opRun struct {
	bins       map[string]any
	existed    bool
	respondAll bool
	noBinData  bool
	answers    []binAnswer
}

// newOpRun starts a run on bins, which the run may change: callers pass a
// copy of the stored bins whenever the command has operations.
func newOpRun(bins map[string]any, existed bool, cmd *recordCommand) *opRun {
	return &opRun{
		bins:       bins,
		existed:    existed,
		respondAll: cmd.info2&info2RespondAllOps != 0,
		noBinData:  cmd.info1&info1NoBinData != 0,
	}
}

// apply applies one operation.
func (r *opRun) apply(op msgOp) resultCode {
	switch op.kind {
	case msgOpRead:
		return r.read(op.name)
	case msgOpWrite:
		return r.write(op)
	case msgOpCDTRead, msgOpCDTModify:
		v, code := cdtOp(r.bins, op.name, op.kind == msgOpCDTModify, op.particle, op.value)
		return r.result(op.name, v, code)
	case msgOpExpRead, msgOpExpModify:
		v, code := expOp(r.bins, op.name, op.kind == msgOpExpModify, op.value)
		return r.result(op.name, v, code)
	case msgOpAdd:
		return r.add(op)
	case msgOpAppend, msgOpPrepend:
		return r.concat(op)
	case msgOpTouch:
		if !r.existed {
			return codeKeyNotFound
		}
		return r.result(op.name, nil, codeOK)
	case msgOpDelete:
		clear(r.bins)
		return r.result(op.name, nil, codeOK)
	case msgOpBitRead, msgOpBitModify, msgOpHLLRead, msgOpHLLModify:
		return codeUnsupportedFeature
	default:
		return codeParameter
	}
}

// result records an operation's result: a value is answered, and no value
// is answered as a null only when every operation must answer.
func (r *opRun) result(name string, v any, code resultCode) resultCode {
	if code != codeOK {
		return code
	}
	if v == nil && !r.respondAll {
		return codeOK
	}
	return r.answer(name, v)
}

// answer appends (name, v) to the answers.
func (r *opRun) answer(name string, v any) resultCode {
	particle, data, err := encodeBinParticle(v)
	if err != nil {
		return codeServerError
	}
	r.answers = append(r.answers, binAnswer{name: name, particle: particle, data: data})
	return codeOK
}

// read answers one bin, or every bin when name is empty (none when the
// command asked for no bin data).
func (r *opRun) read(name string) resultCode {
	if name == "" {
		if r.noBinData {
			return r.result(name, nil, codeOK)
		}
		return r.answerAllBins()
	}
	return r.result(name, r.bins[name], codeOK)
}

// answerAllBins answers every bin, in name order.
func (r *opRun) answerAllBins() resultCode {
	names := make([]string, 0, len(r.bins))
	for name := range r.bins {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if code := r.answer(name, r.bins[name]); code != codeOK {
			return code
		}
	}
	return codeOK
}

// write sets a bin, or deletes it when the value is null.
func (r *opRun) write(op msgOp) resultCode {
	if code := checkBinName(op.name); code != codeOK {
		return code
	}
	v, code := decodeBinParticle(op.particle, op.value)
	if code != codeOK {
		return code
	}
	if v == nil {
		delete(r.bins, op.name)
	} else {
		r.bins[op.name] = v
	}
	return r.result(op.name, nil, codeOK)
}

// add adds an integer to an integer bin or a float to a float bin,
// creating the bin from the added value when it is missing.
func (r *opRun) add(op msgOp) resultCode {
	if code := checkBinName(op.name); code != codeOK {
		return code
	}
	delta, code := decodeBinParticle(op.particle, op.value)
	if code != codeOK {
		return code
	}
	sum, code := addValues(r.bins[op.name], delta)
	if code != codeOK {
		return code
	}
	r.bins[op.name] = sum
	return r.result(op.name, nil, codeOK)
}

// addValues returns cur + delta for two integers or two floats; a missing
// cur counts as absent and the sum is delta. Integers wrap on overflow.
func addValues(cur, delta any) (any, resultCode) {
	switch d := delta.(type) {
	case int64:
		if cur == nil {
			return d, codeOK
		}
		if c, ok := cur.(int64); ok {
			return c + d, codeOK
		}
	case float64:
		if cur == nil {
			return d, codeOK
		}
		if c, ok := cur.(float64); ok {
			return c + d, codeOK
		}
	}
	return nil, codeBinType
}

// concat appends or prepends a string to a string bin or a blob to a blob
// bin, creating the bin when it is missing.
func (r *opRun) concat(op msgOp) resultCode {
	if code := checkBinName(op.name); code != codeOK {
		return code
	}
	v, code := decodeBinParticle(op.particle, op.value)
	if code != codeOK {
		return code
	}
	joined, code := concatValues(r.bins[op.name], v, op.kind == msgOpPrepend)
	if code != codeOK {
		return code
	}
	r.bins[op.name] = joined
	return r.result(op.name, nil, codeOK)
}

// concatValues joins two strings or two blobs; a missing cur joins as empty.
func concatValues(cur, v any, prepend bool) (any, resultCode) {
	switch x := v.(type) {
	case string:
		c, ok := cur.(string)
		if !ok && cur != nil {
			return nil, codeBinType
		}
		if prepend {
			return x + c, codeOK
		}
		return c + x, codeOK
	case []byte:
		c, ok := cur.([]byte)
		if !ok && cur != nil {
			return nil, codeBinType
		}
		if prepend {
			return append(append([]byte{}, x...), c...), codeOK
		}
		return append(append([]byte{}, c...), x...), codeOK
	}
	return nil, codeBinType
}

// checkBinName checks the name of a bin being written.
func checkBinName(name string) resultCode {
	switch {
	case name == "":
		return codeParameter
	case len(name) > maxBinNameLen:
		return codeBinNameTooLong
	}
	return codeOK
}

// appendRecordMessage appends the answer message of one record command:
// the 22-byte header (with index in the transaction-ttl slot, where batch
// answers carry the batch index) and, on success, the answered bins. The
// record TTL answered is 0: records never expire.
func appendRecordMessage(dst []byte, info3 byte, out outcome, index uint32) []byte {
	answers := out.answers
	if out.code != codeOK {
		answers = nil
	}
	dst = append(dst, msgHeaderSize, 0, 0, info3, 0, byte(out.code))
	dst = binary.BigEndian.AppendUint32(dst, out.generation)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, index)
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(answers)))
	for _, a := range answers {
		dst = appendBinAnswer(dst, a)
	}
	return dst
}

// appendBinAnswer appends one answered bin in operation form.
func appendBinAnswer(dst []byte, a binAnswer) []byte {
	name := a.name[:min(len(a.name), 255)]
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+len(name)+len(a.data)))
	dst = append(dst, msgOpRead, a.particle, 0, byte(len(name)))
	dst = append(dst, name...)
	return append(dst, a.data...)
}

// errorAnswer is a whole answer that carries only a result code, marked
// as the last message so that multi-record readers stop on it.
func errorAnswer(code resultCode) []byte {
	dst, start := beginProto(nil)
	dst = appendRecordMessage(dst, info3Last, outcome{code: code}, 0)
	return endProto(dst, start, protoMessage)
}
