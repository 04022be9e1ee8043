package aerofake

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
