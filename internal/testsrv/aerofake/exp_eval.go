package aerofake

import (
	"math"
	"math/bits"
)

// Evaluating a built expression against a record's bins.

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
