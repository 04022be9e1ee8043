package aerofake

// Building an expression from its msgpack, with the server's type checks.

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
