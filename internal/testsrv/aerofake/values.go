// Package aerofake is an in-memory server that speaks the Aerospike wire
// protocol, for tests of code that uses the official Go client where no
// Aerospike server can run. It is one node owning every partition of its
// namespaces, and it implements the part of the server that the client
// calls of this project use: the info commands of cluster discovery and
// truncation, single-record reads, writes, deletes and operate commands
// (bin, list, map and expression operations), and batch reads and writes.
// What it does not implement it refuses with the server's result code for
// an unsupported request (UNSUPPORTED_FEATURE or PARAMETER_ERROR), never
// with a silent success.
package aerofake

// resultCode is a result code of the server's answer, as the client's
// types.ResultCode numbers them.
type resultCode int

// Result codes the fake answers with.
const (
	codeOK                  resultCode = 0
	codeServerError         resultCode = 1
	codeKeyNotFound         resultCode = 2
	codeGeneration          resultCode = 3
	codeParameter           resultCode = 4
	codeKeyExists           resultCode = 5
	codeBinExists           resultCode = 6
	codeBinType             resultCode = 12
	codeRecordTooBig        resultCode = 13
	codeUnsupportedFeature  resultCode = 16
	codeBinNotFound         resultCode = 17
	codeInvalidNamespace    resultCode = 20
	codeBinNameTooLong      resultCode = 21
	codeFailElementNotFound resultCode = 23
	codeFailElementExists   resultCode = 24
	codeOpNotApplicable     resultCode = 26
)

// Values held in bins and in the elements of lists and maps are:
//
//	nil      the null value (a bin is never set to it: writing nil deletes the bin)
//	int64    an integer
//	float64  a float
//	string   a string
//	[]byte   a blob
//	bool     a boolean
//	[]any    a list (ordered or not: see List)
//	*Map     a map
//
// Lists are plain []any: the fake keeps no ordered lists (the list order
// flag is accepted and ignored only where the client sends the default
// unordered one; anything else is refused).

// Map is a map value. Entries of a key-ordered map are kept sorted by key
// (compareValues); an unordered map keeps insertion order.
type Map struct {
	// Order is the map's order flag as the server's map policy sets it:
	// 0 unordered, 1 key-ordered, 3 key-value-ordered.
	Order   int
	Entries []MapEntry
}

// MapEntry is one key and its value.
type MapEntry struct {
	Key, Value any
}
