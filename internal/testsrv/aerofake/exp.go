package aerofake

import (
	"math"
	"math/bits"
)

// Expression operation codes (the client's expression.go expOp*, the
// server's exp_op_code).
const (
	expUnknown   = 0
	expEQ        = 1
	expNE        = 2
	expGT        = 3
	expGE        = 4
	expLT        = 5
	expLE        = 6
	expRegex     = 7
	expGeo       = 8
	expAnd       = 16
	expOr        = 17
	expNot       = 18
	expExclusive = 19
	expAdd       = 20
	expSub       = 21
	expMul       = 22
	expDiv       = 23
	expPow       = 24
	expLog       = 25
	expMod       = 26
	expAbs       = 27
	expFloor     = 28
	expCeil      = 29
	expToInt     = 30
	expToFloat   = 31
	expIntAnd    = 32
	expIntOr     = 33
	expIntXor    = 34
	expIntNot    = 35
	expLShift    = 36
	expRShift    = 37
	expARShift   = 38
	expIntCount  = 39
	expLScan     = 40
	expRScan     = 41
	expMin       = 50
	expMax       = 51
	expMetaFirst = 64 // record metadata: digest modulo .. record size
	expMetaLast  = 74
	expKey       = 80
	expBin       = 81
	expBinType   = 82
	expCond      = 123
	expVar       = 124
	expLet       = 125
	expQuote     = 126
	expCall      = 127

	expValue = 1000 // a literal value (no code on the wire)
)

// Static result types of expressions (ExpType, the server's result_type).
const (
	tNil   = 0
	tBool  = 1
	tInt   = 2
	tStr   = 3
	tList  = 4
	tMap   = 5
	tBlob  = 6
	tFloat = 7
	tGeo   = 8
	tHLL   = 9
	tEnd   = 10
)

// Flags of expression operations (ExpReadFlags, ExpWriteFlags).
const (
	expFlagCreateOnly   = 1 << 0
	expFlagUpdateOnly   = 1 << 1
	expFlagAllowDelete  = 1 << 2
	expFlagPolicyNoFail = 1 << 3
	expFlagEvalNoFail   = 1 << 4
)

// Call system types of CALL expressions: CDT, bitwise, HLL, and the flag
// of a call that modifies a local copy of its bin.
const (
	callCDT         = 0
	callBits        = 1
	callHLL         = 2
	callModifyLocal = 0x40
)

// maxBinName is the server's bound of bin name lengths (exclusive).
const maxBinName = 16

// expNode is one built expression with its static result type.
type expNode struct {
	op    int
	typ   int
	args  []*expNode
	val   any      // literal value, bin type of a bin read
	name  string   // bin or variable name
	names []string // variables a let defines, one per args[i]
	call  *expCallOp
}

// expCallOp is a CDT operation that a CALL expression applies to a bin.
type expCallOp struct {
	op     int
	modify bool
	params []expParam
	bin    *expNode
}

// expParam is a parameter of a call: an expression, or a constant.
type expParam struct {
	exp *expNode
	val any
}

// expOp evaluates one expression operation against bins. payload is the
// operation's value as the client sends it (ExpReadOp, ExpWriteOp): a
// msgpack array [expression, flags]. The expression is built and type
// checked as the server builds it (codeParameter when it does not build,
// codeUnsupportedFeature for what the fake does not implement). For
// EXP_READ it answers the value; an expression that is unknown (a missing
// bin, a bin of another type …) answers nil with EVAL_NO_FAIL and
// codeOpNotApplicable without. For EXP_MODIFY it writes the value to
// bins[name] per the write flags and answers nil.
func expOp(bins map[string]any, name string, modify bool, payload []byte) (any, resultCode) {
	expBytes, flags, code := parseExpOp(payload, modify)
	if code != codeOK {
		return nil, code
	}
	root, code := buildExp(expBytes)
	if code != codeOK {
		return nil, code
	}
	if modify {
		return nil, expWrite(bins, name, root, flags)
	}
	return expRead(bins, root, flags)
}

// parseExpOp splits an expression operation's payload into the packed
// expression and the flags, and checks the flags.
func parseExpOp(payload []byte, modify bool) ([]byte, int64, resultCode) {
	n, rest, ok := readArrayHeader(payload)
	if !ok || n < 1 || n > 2 {
		return nil, 0, codeParameter
	}
	after, ok := skipValue(rest, 0)
	if !ok {
		return nil, 0, codeParameter
	}
	expBytes := rest[:len(rest)-len(after)]
	var flags int64
	if n == 2 {
		if flags, after, ok = readInt(after); !ok || flags < 0 {
			return nil, 0, codeParameter
		}
	}
	valid := int64(expFlagEvalNoFail)
	if modify {
		valid = expFlagCreateOnly | expFlagUpdateOnly | expFlagAllowDelete | expFlagPolicyNoFail | expFlagEvalNoFail
	}
	if len(after) != 0 || flags&^valid != 0 {
		return nil, 0, codeParameter
	}
	return expBytes, flags, codeOK
}

// expRead evaluates a read expression.
func expRead(bins map[string]any, root *expNode, flags int64) (any, resultCode) {
	v, known, code := evaluate(bins, root)
	switch {
	case code != codeOK:
		return nil, code
	case !known && flags&expFlagEvalNoFail != 0:
		return nil, codeOK
	case !known:
		return nil, codeOpNotApplicable
	}
	return v, codeOK
}

// expWrite evaluates a write expression and writes its value to the bin,
// as the server's expression modify does: CREATE_ONLY and UPDATE_ONLY
// check the bin first (POLICY_NO_FAIL makes a refusal a no-op), an
// unknown value fails unless EVAL_NO_FAIL, and a nil value deletes the
// bin only with ALLOW_DELETE (without it, an existing bin is kept, and the
// operation fails only when it has no flag at all: the server's expop.c
// tests `flags && AS_EXP_FLAG_POLICY_NO_FAIL != 0`, which any flag makes
// true; nothing here writes nil).
func expWrite(bins map[string]any, name string, root *expNode, flags int64) resultCode {
	_, live := bins[name]
	noFail := flags&expFlagPolicyNoFail != 0
	switch {
	case live && flags&expFlagCreateOnly != 0 && noFail, !live && flags&expFlagUpdateOnly != 0 && noFail:
		return codeOK
	case live && flags&expFlagCreateOnly != 0:
		return codeBinExists
	case !live && flags&expFlagUpdateOnly != 0:
		return codeBinNotFound
	}
	v, known, code := evaluate(bins, root)
	switch {
	case code != codeOK:
		return code
	case !known && flags&expFlagEvalNoFail != 0:
		return codeOK
	case !known:
		return codeOpNotApplicable
	case v != nil:
		bins[name] = v
	case !live:
	case flags&expFlagAllowDelete != 0:
		delete(bins, name)
	case flags == 0:
		return codeOpNotApplicable
	}
	return codeOK
}

// --- Build.

// expBuilder builds an expression from its msgpack.
type expBuilder struct {
	b      []byte
	depth  int
	scopes []map[string]int // variables in scope: name -> static type, tEnd while defined
}

// buildExp builds the expression that is all of b.
func buildExp(b []byte) (*expNode, resultCode) {
	p := &expBuilder{b: b}
	n, code := p.next()
	if code != codeOK {
		return nil, code
	}
	if len(p.b) != 0 || n.typ >= tEnd {
		return nil, codeParameter
	}
	return n, codeOK
}

// next builds the next expression: a literal, or [op, args...].
func (p *expBuilder) next() (*expNode, resultCode) {
	if p.depth >= maxDepth {
		return nil, codeParameter
	}
	if !isArray(p.b) {
		return p.literal()
	}
	n, rest, _ := readArrayHeader(p.b)
	op, rest, ok := readInt(rest)
	if n == 0 || !ok || op < 0 {
		return nil, codeParameter
	}
	p.b = rest
	p.depth++
	defer func() { p.depth-- }()
	return p.op(int(op), n-1)
}

// literal builds a literal value: nil, boolean, integer, float, string,
// blob or map.
func (p *expBuilder) literal() (*expNode, resultCode) {
	v, rest, err := unpackValue(p.b)
	if err != nil {
		return nil, unpackCode(err)
	}
	p.b = rest
	return &expNode{op: expValue, typ: typeOf(v), val: v}, codeOK
}

// typeOf returns the static type of a value.
func typeOf(v any) int {
	switch v.(type) {
	case nil:
		return tNil
	case bool:
		return tBool
	case int64:
		return tInt
	case string:
		return tStr
	case []any:
		return tList
	case *Map:
		return tMap
	case []byte:
		return tBlob
	case float64:
		return tFloat
	}
	return tEnd
}

// hasType reports whether a runtime value has static type t.
func hasType(v any, t int) bool {
	return typeOf(v) == t && t != tEnd
}

// op builds operation op with argc arguments.
func (p *expBuilder) op(op, argc int) (*expNode, resultCode) {
	switch {
	case op == expUnknown:
		return p.fixed(op, argc, 0, tBool)
	case op >= expEQ && op <= expLE:
		return p.compare(op, argc)
	case op == expAnd || op == expOr || op == expExclusive || op == expNot:
		return p.logic(op, argc)
	case op >= expAdd && op <= expMax:
		return p.number(op, argc)
	case op == expBin:
		return p.bin(argc)
	case op == expBinType:
		return p.binType(argc)
	case op == expCond:
		return p.cond(argc)
	case op == expVar:
		return p.variable(argc)
	case op == expLet:
		return p.let(argc)
	case op == expQuote:
		return p.quote(argc)
	case op == expCall:
		return p.call(argc)
	case op == expRegex || op == expGeo || op == expKey || (op >= expMetaFirst && op <= expMetaLast):
		return nil, codeUnsupportedFeature
	}
	return nil, codeParameter
}

// args builds argc arguments, each of one of the types in want (any type
// when want is empty).
func (p *expBuilder) args(argc int, want ...int) ([]*expNode, resultCode) {
	out := make([]*expNode, 0, min(argc, len(p.b)))
	for range argc {
		n, code := p.next()
		if code != codeOK {
			return nil, code
		}
		if len(want) > 0 && !oneOf(n.typ, want) {
			return nil, codeParameter
		}
		out = append(out, n)
	}
	return out, codeOK
}

// oneOf reports whether t is one of ts.
func oneOf(t int, ts []int) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// fixed builds an operation of exactly want arguments of any type.
func (p *expBuilder) fixed(op, argc, want, typ int) (*expNode, resultCode) {
	if argc != want {
		return nil, codeParameter
	}
	args, code := p.args(argc)
	if code != codeOK {
		return nil, code
	}
	return &expNode{op: op, typ: typ, args: args}, codeOK
}

// compare builds a comparison of two values of one type.
func (p *expBuilder) compare(op, argc int) (*expNode, resultCode) {
	n, code := p.fixed(op, argc, 2, tBool)
	if code != codeOK {
		return nil, code
	}
	t := n.args[0].typ
	if t != n.args[1].typ || t == tGeo || t == tHLL || t >= tEnd {
		return nil, codeParameter
	}
	return n, codeOK
}

// logic builds and, or, exclusive (two or more booleans) and not (one).
func (p *expBuilder) logic(op, argc int) (*expNode, resultCode) {
	if (op == expNot && argc != 1) || (op != expNot && argc < 2) {
		return nil, codeParameter
	}
	args, code := p.args(argc, tBool)
	if code != codeOK {
		return nil, code
	}
	return &expNode{op: op, typ: tBool, args: args}, codeOK
}

// numberShape is the arguments and result type of a numeric operation.
type numberShape struct {
	min, max int   // argument count bounds (max -1: any)
	args     []int // allowed argument types, all the same
	result   int   // result type, tEnd: the arguments' type
	second   int   // type of the second argument when it differs, else -1
}

// numberShapeOf returns the shape of a numeric operation.
func numberShapeOf(op int) (numberShape, bool) {
	ints, floats, both := []int{tInt}, []int{tFloat}, []int{tInt, tFloat}
	switch op {
	case expAdd, expSub, expMul, expDiv, expMin, expMax:
		return numberShape{1, -1, both, tEnd, -1}, true
	case expPow, expLog:
		return numberShape{2, 2, floats, tFloat, -1}, true
	case expMod, expLShift, expRShift, expARShift:
		return numberShape{2, 2, ints, tInt, -1}, true
	case expAbs:
		return numberShape{1, 1, both, tEnd, -1}, true
	case expFloor, expCeil:
		return numberShape{1, 1, floats, tFloat, -1}, true
	case expToInt:
		return numberShape{1, 1, floats, tInt, -1}, true
	case expToFloat:
		return numberShape{1, 1, ints, tFloat, -1}, true
	case expIntAnd, expIntOr, expIntXor:
		return numberShape{1, -1, ints, tInt, -1}, true
	case expIntNot, expIntCount:
		return numberShape{1, 1, ints, tInt, -1}, true
	case expLScan, expRScan:
		return numberShape{2, 2, ints, tInt, tBool}, true
	}
	return numberShape{}, false
}

// number builds an arithmetic or integer operation.
func (p *expBuilder) number(op, argc int) (*expNode, resultCode) {
	s, ok := numberShapeOf(op)
	if !ok {
		return nil, codeParameter
	}
	if argc < s.min || (s.max >= 0 && argc > s.max) {
		return nil, codeParameter
	}
	args, code := p.args(argc)
	if code != codeOK {
		return nil, code
	}
	for i, a := range args {
		want := a.typ == args[0].typ && oneOf(a.typ, s.args)
		if i == 1 && s.second >= 0 {
			want = a.typ == s.second
		}
		if !want {
			return nil, codeParameter
		}
	}
	typ := s.result
	if typ == tEnd {
		typ = args[0].typ
	}
	return &expNode{op: op, typ: typ, args: args}, codeOK
}

// bin builds a bin read: [81, type, name].
func (p *expBuilder) bin(argc int) (*expNode, resultCode) {
	if argc != 2 {
		return nil, codeParameter
	}
	typ, rest, ok := readInt(p.b)
	if !ok || typ < 0 || typ >= tEnd {
		return nil, codeParameter
	}
	p.b = rest
	name, code := p.binName()
	if code != codeOK {
		return nil, code
	}
	return &expNode{op: expBin, typ: int(typ), name: name}, codeOK
}

// binType builds a bin's particle type: [82, name].
func (p *expBuilder) binType(argc int) (*expNode, resultCode) {
	if argc != 1 {
		return nil, codeParameter
	}
	name, code := p.binName()
	if code != codeOK {
		return nil, code
	}
	return &expNode{op: expBinType, typ: tInt, name: name}, codeOK
}

// binName reads a bin name (a string without particle type).
func (p *expBuilder) binName() (string, resultCode) {
	name, rest, ok := readRawString(p.b)
	if !ok || len(name) >= maxBinName {
		return "", codeParameter
	}
	for i := range len(name) {
		if name[i] == 0 {
			return "", codeParameter
		}
	}
	p.b = rest
	return name, codeOK
}

// cond builds [123, cond1, value1, cond2, value2, ..., default]: the
// values share one type, except the unknown expression, which fits any.
func (p *expBuilder) cond(argc int) (*expNode, resultCode) {
	if argc < 3 || argc%2 == 0 {
		return nil, codeParameter
	}
	args, code := p.args(argc)
	if code != codeOK {
		return nil, code
	}
	typ := tEnd
	for i, a := range args {
		isCase := i%2 == 0 && i != len(args)-1
		switch {
		case isCase && a.typ != tBool:
			return nil, codeParameter
		case isCase || a.op == expUnknown:
		case typ == tEnd:
			typ = a.typ
		case a.typ != typ:
			return nil, codeParameter
		}
	}
	if typ == tEnd {
		typ = args[len(args)-1].typ
	}
	return &expNode{op: expCond, typ: typ, args: args}, codeOK
}

// variable builds a variable reference: [124, name].
func (p *expBuilder) variable(argc int) (*expNode, resultCode) {
	if argc != 1 {
		return nil, codeParameter
	}
	name, rest, ok := readRawString(p.b)
	if !ok {
		return nil, codeParameter
	}
	p.b = rest
	typ, ok := p.lookup(name)
	if !ok || typ == tEnd {
		return nil, codeParameter
	}
	return &expNode{op: expVar, typ: typ, name: name}, codeOK
}

// lookup returns the static type of a variable in scope.
func (p *expBuilder) lookup(name string) (int, bool) {
	for i := len(p.scopes) - 1; i >= 0; i-- {
		if t, ok := p.scopes[i][name]; ok {
			return t, true
		}
	}
	return 0, false
}

// let builds [125, name1, exp1, ..., scope]: variables defined in order,
// each visible to the later ones and to the scope.
func (p *expBuilder) let(argc int) (*expNode, resultCode) {
	if argc < 3 || argc%2 == 0 {
		return nil, codeParameter
	}
	scope := map[string]int{}
	p.scopes = append(p.scopes, scope)
	defer func() { p.scopes = p.scopes[:len(p.scopes)-1] }()
	n := &expNode{op: expLet}
	for range argc / 2 {
		name, rest, ok := readRawString(p.b)
		if _, dup := p.lookup(name); !ok || dup || !validVarName(name) {
			return nil, codeParameter
		}
		p.b = rest
		scope[name] = tEnd
		def, code := p.next()
		if code != codeOK {
			return nil, code
		}
		scope[name] = def.typ
		n.names, n.args = append(n.names, name), append(n.args, def)
	}
	body, code := p.next()
	if code != codeOK {
		return nil, code
	}
	n.args, n.typ = append(n.args, body), body.typ
	return n, codeOK
}

// validVarName reports whether a variable name starts with a letter or
// underscore and holds only letters, digits and underscores.
func validVarName(name string) bool {
	for i := range len(name) {
		c := name[i]
		letter := c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return name != ""
}

// quote builds a list literal: [126, list].
func (p *expBuilder) quote(argc int) (*expNode, resultCode) {
	if argc != 1 || !isArray(p.b) {
		return nil, codeParameter
	}
	n, code := p.literal()
	if code != codeOK {
		return nil, code
	}
	return n, codeOK
}

// call builds [127, type, system, [op, params...], bin]: a CDT operation
// on a list or map. Parameters that are arrays are expressions, the
// others constants.
func (p *expBuilder) call(argc int) (*expNode, resultCode) {
	typ, rest, ok1 := readInt(p.b)
	system, rest, ok2 := readInt(rest)
	if argc != 4 || !ok1 || !ok2 || typ < 0 || typ >= tEnd {
		return nil, codeParameter
	}
	p.b = rest
	switch system &^ callModifyLocal {
	case callCDT:
	case callBits, callHLL:
		return nil, codeUnsupportedFeature
	default:
		return nil, codeParameter
	}
	c := &expCallOp{modify: system&callModifyLocal != 0}
	if code := p.callOp(c); code != codeOK {
		return nil, code
	}
	bin, code := p.next()
	if code != codeOK {
		return nil, code
	}
	c.bin = bin
	switch bin.typ {
	case tNil:
		typ = tNil // the server types such a call nil
	case tList, tMap:
	default:
		return nil, codeParameter
	}
	return &expNode{op: expCall, typ: int(typ), call: c}, codeOK
}

// callOp builds the operation of a call: its code and parameters.
func (p *expBuilder) callOp(c *expCallOp) resultCode {
	n, rest, ok := readArrayHeader(p.b)
	if !ok || n == 0 {
		return codeParameter
	}
	op, rest, ok := readInt(rest)
	if !ok {
		return codeParameter
	}
	if op == cdtContextEval {
		return codeUnsupportedFeature
	}
	if spec, known := cdtSpecOf(int(op)); known && !spec.impl {
		return codeUnsupportedFeature
	}
	c.op, p.b = int(op), rest
	for range n - 1 {
		param := expParam{}
		var code resultCode
		if isArray(p.b) {
			param.exp, code = p.next()
		} else {
			var err error
			if param.val, p.b, err = unpackValue(p.b); err != nil {
				code = unpackCode(err)
			}
		}
		if code != codeOK {
			return code
		}
		c.params = append(c.params, param)
	}
	return codeOK
}

// --- Evaluation.

// expEval evaluates built expressions against a record's bins.
type expEval struct {
	bins        map[string]any
	vars        map[string]expVal
	unsupported bool // an operation the fake does not implement was reached
}

// expVal is a variable's value: known false for the unknown value.
type expVal struct {
	v     any
	known bool
}

// evaluate evaluates root: its value, whether it is known, and
// codeUnsupportedFeature when evaluation reached what the fake does not
// implement.
func evaluate(bins map[string]any, root *expNode) (any, bool, resultCode) {
	e := &expEval{bins: bins, vars: map[string]expVal{}}
	v, known := e.eval(root)
	if e.unsupported {
		return nil, false, codeUnsupportedFeature
	}
	return v, known, codeOK
}

// eval evaluates n: its value and whether it is known.
func (e *expEval) eval(n *expNode) (any, bool) {
	switch n.op {
	case expValue:
		return n.val, true
	case expUnknown:
		return nil, false
	case expBin:
		v, ok := e.bins[n.name]
		return v, ok && hasType(v, n.typ)
	case expBinType:
		return binParticleType(e.bins[n.name]), true
	case expAnd, expOr, expNot, expExclusive:
		return e.logic(n)
	case expCond:
		return e.cond(n)
	case expLet:
		return e.let(n)
	case expVar:
		v := e.vars[n.name]
		return v.v, v.known
	case expCall:
		return e.call(n)
	}
	if n.op >= expEQ && n.op <= expLE {
		return e.compare(n)
	}
	return e.number(n)
}

// binParticleType returns the particle type of a bin's value, 0 (NULL)
// for a missing bin.
func binParticleType(v any) int64 {
	switch v.(type) {
	case int64:
		return 1
	case float64:
		return 2
	case string:
		return 3
	case []byte:
		return 4
	case bool:
		return 17
	case *Map:
		return 19
	case []any:
		return 20
	}
	return 0
}

// evalAll evaluates expressions in order; known is false at the first
// unknown one.
func (e *expEval) evalAll(ns []*expNode) ([]any, bool) {
	out := make([]any, len(ns))
	for i, n := range ns {
		v, ok := e.eval(n)
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// compare evaluates a comparison: unknown when either side is, or when
// lists or maps to compare hold an unordered map.
func (e *expEval) compare(n *expNode) (any, bool) {
	vs, ok := e.evalAll(n.args)
	if !ok {
		return nil, false
	}
	a, b := vs[0], vs[1]
	if x, isFloat := a.(float64); isFloat {
		y, _ := b.(float64)
		return compareFloats(n.op, x, y), true
	}
	if hasUnorderedMap(a) || hasUnorderedMap(b) {
		return nil, false
	}
	c := compareValues(a, b)
	switch n.op {
	case expEQ:
		return c == 0, true
	case expNE:
		return c != 0, true
	case expGT:
		return c > 0, true
	case expGE:
		return c >= 0, true
	case expLT:
		return c < 0, true
	}
	return c <= 0, true
}

// compareFloats compares floats with IEEE semantics (NaN is unordered).
func compareFloats(op int, x, y float64) bool {
	switch op {
	case expEQ:
		return x == y
	case expNE:
		return x != y
	case expGT:
		return x > y
	case expGE:
		return x >= y
	case expLT:
		return x < y
	}
	return x <= y
}

// hasUnorderedMap reports whether v is or holds an unordered map of more
// than one entry, which the server refuses to compare.
func hasUnorderedMap(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if hasUnorderedMap(e) {
				return true
			}
		}
	case *Map:
		if x == nil {
			return false
		}
		if x.Order == 0 && len(x.Entries) > 1 {
			return true
		}
		for _, e := range x.Entries {
			if hasUnorderedMap(e.Key) || hasUnorderedMap(e.Value) {
				return true
			}
		}
	}
	return false
}

// logic evaluates and, or, not and exclusive with the server's
// three-valued logic: and is false if any argument is false, else unknown
// if any is unknown; or is true if any is true, else unknown if any is
// unknown; exclusive (exactly one true) is unknown if any is unknown.
func (e *expEval) logic(n *expNode) (any, bool) {
	if n.op == expNot {
		v, ok := e.eval(n.args[0])
		b, _ := v.(bool)
		return !b, ok
	}
	decisive := n.op == expOr // the value that ends and/or
	known, trues := true, 0
	for _, a := range n.args {
		v, ok := e.eval(a)
		b, _ := v.(bool)
		switch {
		case !ok && n.op == expExclusive:
			return nil, false
		case !ok:
			known = false
		case n.op == expExclusive && b:
			trues++
		case n.op != expExclusive && b == decisive:
			return decisive, true
		}
	}
	if n.op == expExclusive {
		return trues == 1, true
	}
	return !decisive, known
}

// cond evaluates the value of the first true condition, or the default;
// unknown when a condition it reaches is unknown.
func (e *expEval) cond(n *expNode) (any, bool) {
	last := len(n.args) - 1
	for i := 0; i < last; i += 2 {
		v, ok := e.eval(n.args[i])
		if !ok {
			return nil, false
		}
		if b, _ := v.(bool); b {
			return e.eval(n.args[i+1])
		}
	}
	return e.eval(n.args[last])
}

// let defines its variables in order and evaluates its scope.
func (e *expEval) let(n *expNode) (any, bool) {
	for i, name := range n.names {
		v, ok := e.eval(n.args[i])
		e.vars[name] = expVal{v: v, known: ok}
	}
	defer func() {
		for _, name := range n.names {
			delete(e.vars, name)
		}
	}()
	return e.eval(n.args[len(n.args)-1])
}

// number evaluates an arithmetic or integer operation: unknown when an
// argument is, and for an integer division or modulo by zero. Integers
// wrap around as the server's do.
func (e *expEval) number(n *expNode) (any, bool) {
	vs, ok := e.evalAll(n.args)
	if !ok {
		return nil, false
	}
	if _, isFloat := vs[0].(float64); isFloat {
		return floatOp(n.op, floats(vs))
	}
	return intOp(n.op, vs)
}

// floats returns the float arguments.
func floats(vs []any) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i], _ = v.(float64)
	}
	return out
}

// ints returns the integer arguments.
func ints(vs []any) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i], _ = v.(int64)
	}
	return out
}

// floatOp applies a numeric operation to float arguments.
func floatOp(op int, xs []float64) (any, bool) {
	r := xs[0]
	switch op {
	case expAdd, expSub, expMul, expMin, expMax:
		if op == expSub && len(xs) == 1 {
			return -r, true
		}
		for _, x := range xs[1:] {
			r = fold(op, r, x)
		}
		return r, true
	case expDiv:
		if len(xs) == 1 {
			return 1 / r, true
		}
		d := 1.0
		for _, x := range xs[1:] {
			d *= x
		}
		return r / d, true
	case expPow:
		return math.Pow(r, xs[1]), true
	case expLog:
		return math.Log(r) / math.Log(xs[1]), true
	case expAbs:
		return math.Abs(r), true
	case expFloor:
		return math.Floor(r), true
	case expCeil:
		return math.Ceil(r), true
	case expToInt:
		return int64(r), true
	}
	return nil, false
}

// fold combines two numbers for add, sub, mul, min and max.
func fold[T int64 | float64](op int, r, x T) T {
	switch op {
	case expAdd:
		return r + x
	case expSub:
		return r - x
	case expMul:
		return r * x
	case expMin:
		return min(r, x)
	case expMax:
		return max(r, x)
	}
	return r
}

// intOp applies a numeric or integer operation to integer arguments (and,
// for the scans, a boolean).
func intOp(op int, vs []any) (any, bool) {
	if op == expLScan || op == expRScan {
		return scan(op, ints(vs[:1])[0], vs[1])
	}
	xs := ints(vs)
	r := xs[0]
	switch op {
	case expAdd, expSub, expMul, expMin, expMax, expIntAnd, expIntOr, expIntXor:
		if op == expSub && len(xs) == 1 {
			return -r, true
		}
		for _, x := range xs[1:] {
			r = foldInt(op, r, x)
		}
		return r, true
	case expDiv:
		return intDiv(xs)
	case expMod:
		if xs[1] == 0 {
			return nil, false
		}
		return r % xs[1], true
	}
	return intUnary(op, xs)
}

// foldInt combines two integers for the associative operations.
func foldInt(op int, r, x int64) int64 {
	switch op {
	case expIntAnd:
		return r & x
	case expIntOr:
		return r | x
	case expIntXor:
		return r ^ x
	}
	return fold(op, r, x)
}

// intDiv divides the first integer by the product of the others (one
// argument: its inverse); unknown when dividing by zero.
func intDiv(xs []int64) (any, bool) {
	r, d := xs[0], int64(1)
	if len(xs) == 1 {
		r, d = 1, xs[0]
	}
	for _, x := range xs[1:] {
		d *= x
	}
	if d == 0 {
		return nil, false
	}
	return r / d, true
}

// intUnary applies abs, to_float, not, count and the shifts.
func intUnary(op int, xs []int64) (any, bool) {
	r := xs[0]
	switch op {
	case expAbs:
		if r < 0 {
			return -r, true
		}
		return r, true
	case expToFloat:
		return float64(r), true
	case expIntNot:
		return ^r, true
	case expIntCount:
		return int64(bits.OnesCount64(uint64(r))), true
	}
	shift := uint64(xs[1]) & 63 // the machine's shift count
	switch op {
	case expLShift:
		return r << shift, true
	case expRShift:
		return int64(uint64(r) >> shift), true
	case expARShift:
		return r >> shift, true
	}
	return nil, false
}

// scan returns the index (most significant bit 0) of the first bit equal
// to set from the left (lscan) or the right (rscan), -1 if none.
func scan(op int, v int64, set any) (any, bool) {
	if b, _ := set.(bool); !b {
		v = ^v
	}
	if op == expLScan {
		i := int64(bits.LeadingZeros64(uint64(v)))
		if i == 64 {
			return int64(-1), true
		}
		return i, true
	}
	return 63 - int64(bits.TrailingZeros64(uint64(v))), true
}

// call evaluates a CDT operation on a list or map: unknown when a
// parameter or the bin is, when the bin is no list or map (a read of a nil
// bin), when the operation fails, or when its result is not of the
// call's type. A modifying call answers the modified copy of the bin.
func (e *expEval) call(n *expNode) (any, bool) {
	c := n.call
	params := make([]any, len(c.params))
	for i, p := range c.params {
		params[i] = p.val
		if p.exp != nil {
			v, ok := e.eval(p.exp)
			if !ok {
				return nil, false
			}
			params[i] = v
		}
	}
	bin, ok := e.eval(c.bin)
	if !ok || (bin == nil && !c.modify) {
		return nil, false
	}
	out, code := applyCDT(c.op, params, bin, bin != nil, c.modify)
	if code == codeUnsupportedFeature {
		e.unsupported = true
	}
	if code != codeOK {
		return nil, false
	}
	res := out.result
	if c.modify {
		res = bin
		if out.set {
			res = out.bin
		}
	}
	return res, hasType(res, n.typ)
}
