package aerofake

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
)

// startServer starts a server closed at the end of the test.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// connect connects the official client to s, closing it at the end of
// the test.
func connect(t *testing.T, s *Server) *as.Client {
	t.Helper()
	policy := as.NewClientPolicy()
	policy.Timeout = 5 * time.Second
	client, err := as.NewClientWithPolicyAndHost(policy, as.NewHost("127.0.0.1", s.Port()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(client.Close)
	return client
}

// newFake starts a server with cfg and connects a client to it.
func newFake(t *testing.T, cfg Config) (*Server, *as.Client) {
	t.Helper()
	s := startServer(t, cfg)
	return s, connect(t, s)
}

// key makes a key of namespace "test".
func key(t *testing.T, set string, v any) *as.Key {
	t.Helper()
	k, err := as.NewKey("test", set, v)
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	return k
}

// codeOf returns the result code of a client error, failing the test when
// err is not an *as.AerospikeError.
func codeOf(t *testing.T, err error) types.ResultCode {
	t.Helper()
	var ae *as.AerospikeError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *as.AerospikeError", err, err)
	}
	return ae.ResultCode
}

// wantCode fails the test unless err carries result code want.
func wantCode(t *testing.T, err error, want types.ResultCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want result code %d", want)
	}
	if got := codeOf(t, err); got != want {
		t.Fatalf("got result code %d (%v), want %d", got, err, want)
	}
}

// mustPut writes bins with the default write policy.
func mustPut(t *testing.T, c *as.Client, k *as.Key, bins ...*as.Bin) {
	t.Helper()
	if err := c.PutBins(nil, k, bins...); err != nil {
		t.Fatalf("PutBins: %v", err)
	}
}

// mustGet reads a record, failing the test on error.
func mustGet(t *testing.T, c *as.Client, k *as.Key, bins ...string) *as.Record {
	t.Helper()
	rec, err := c.Get(nil, k, bins...)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return rec
}

func TestConnectDiscoversOneNode(t *testing.T) {
	s, c := newFake(t, Config{Namespaces: []string{"test", "other"}})
	if !c.IsConnected() {
		t.Fatal("client is not connected")
	}
	nodes := c.GetNodes()
	if len(nodes) != 1 {
		t.Fatalf("got %d nodes, want 1", len(nodes))
	}
	if !strings.HasPrefix(nodes[0].GetName(), "BB9FAKE") {
		t.Errorf("node name %q", nodes[0].GetName())
	}
	if s.Addr() != nodes[0].GetHost().String() {
		t.Errorf("node host %s, server address %s", nodes[0].GetHost(), s.Addr())
	}
	k, err := as.NewKey("other", "s", 1)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, k, as.NewBin("a", 1))
}

func TestPutGetDelete(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "k1")
	mustPut(t, c, k,
		as.NewBin("int", 42),
		as.NewBin("float", 1.5),
		as.NewBin("str", "hello"),
		as.NewBin("blob", []byte{1, 2, 3}),
		as.NewBin("bool", true),
	)
	rec := mustGet(t, c, k)
	want := as.BinMap{"int": 42, "float": 1.5, "str": "hello", "blob": []byte{1, 2, 3}, "bool": true}
	if len(rec.Bins) != len(want) {
		t.Fatalf("got bins %v, want %v", rec.Bins, want)
	}
	for name, v := range want {
		if got := rec.Bins[name]; !equalValue(got, v) {
			t.Errorf("bin %s = %#v, want %#v", name, got, v)
		}
	}
	if rec.Generation != 1 {
		t.Errorf("generation %d, want 1", rec.Generation)
	}
	if rec.Expiration != as.TTLDontExpire {
		t.Errorf("expiration %d, want never", rec.Expiration)
	}

	some := mustGet(t, c, k, "str", "missing")
	if len(some.Bins) != 1 || some.Bins["str"] != "hello" {
		t.Errorf("Get of some bins: %v", some.Bins)
	}

	mustPut(t, c, k, as.NewBin("int", 43))
	rec = mustGet(t, c, k)
	if rec.Generation != 2 || rec.Bins["int"] != 43 || rec.Bins["str"] != "hello" {
		t.Errorf("after update: generation %d bins %v", rec.Generation, rec.Bins)
	}

	exists, err := c.Exists(nil, k)
	if err != nil || !exists {
		t.Fatalf("Exists = %v, %v", exists, err)
	}
	existed, err := c.Delete(nil, k)
	if err != nil || !existed {
		t.Fatalf("Delete = %v, %v; want true, nil", existed, err)
	}
	_, err = c.Get(nil, k)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
	existed, err = c.Delete(nil, k)
	if err != nil || existed {
		t.Fatalf("second Delete = %v, %v; want false, nil", existed, err)
	}
}

// equalValue compares bin values, blobs by content.
func equalValue(a, b any) bool {
	ab, aok := a.([]byte)
	bb, bok := b.([]byte)
	if aok || bok {
		return aok && bok && bytes.Equal(ab, bb)
	}
	return a == b
}

func TestNilBinsDeleteBinsAndRecord(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "nil")
	mustPut(t, c, k, as.NewBin("a", 1), as.NewBin("b", 2))
	mustPut(t, c, k, as.NewBin("a", nil))
	if rec := mustGet(t, c, k); len(rec.Bins) != 1 || rec.Bins["b"] != 2 {
		t.Fatalf("after deleting a: %v", rec.Bins)
	}
	mustPut(t, c, k, as.NewBin("b", nil))
	_, err := c.Get(nil, k)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)

	// A write that would create a record without bins is not found, as the
	// server's write_master answers, and creates nothing.
	wantCode(t, c.PutBins(nil, k, as.NewBin("a", nil)), types.KEY_NOT_FOUND_ERROR)
	_, err = c.Operate(nil, k, as.PutOp(as.NewBin("a", nil)), as.GetBinOp("a"))
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
	_, err = c.Get(nil, k)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
}

func TestRecordExistsActions(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "rea")
	wp := as.NewWritePolicy(0, 0)

	wp.RecordExistsAction = as.UPDATE_ONLY
	wantCode(t, c.PutBins(wp, k, as.NewBin("a", 1)), types.KEY_NOT_FOUND_ERROR)
	wp.RecordExistsAction = as.REPLACE_ONLY
	wantCode(t, c.PutBins(wp, k, as.NewBin("a", 1)), types.KEY_NOT_FOUND_ERROR)

	wp.RecordExistsAction = as.CREATE_ONLY
	if err := c.PutBins(wp, k, as.NewBin("a", 1), as.NewBin("b", 2)); err != nil {
		t.Fatalf("CREATE_ONLY on a new record: %v", err)
	}
	wantCode(t, c.PutBins(wp, k, as.NewBin("a", 1)), types.KEY_EXISTS_ERROR)

	wp.RecordExistsAction = as.UPDATE_ONLY
	if err := c.PutBins(wp, k, as.NewBin("a", 10)); err != nil {
		t.Fatalf("UPDATE_ONLY: %v", err)
	}
	if rec := mustGet(t, c, k); rec.Bins["a"] != 10 || rec.Bins["b"] != 2 {
		t.Fatalf("after UPDATE_ONLY: %v", rec.Bins)
	}

	wp.RecordExistsAction = as.REPLACE
	if err := c.PutBins(wp, k, as.NewBin("c", 3)); err != nil {
		t.Fatalf("REPLACE: %v", err)
	}
	if rec := mustGet(t, c, k); len(rec.Bins) != 1 || rec.Bins["c"] != 3 {
		t.Fatalf("after REPLACE: %v", rec.Bins)
	}

	wp.RecordExistsAction = as.REPLACE_ONLY
	if err := c.PutBins(wp, k, as.NewBin("d", 4)); err != nil {
		t.Fatalf("REPLACE_ONLY: %v", err)
	}
	if rec := mustGet(t, c, k); len(rec.Bins) != 1 || rec.Bins["d"] != 4 {
		t.Fatalf("after REPLACE_ONLY: %v", rec.Bins)
	}
}

func TestGenerationPolicy(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "gen")
	mustPut(t, c, k, as.NewBin("a", 1))
	mustPut(t, c, k, as.NewBin("a", 2))

	wp := as.NewWritePolicy(1, 0)
	wp.GenerationPolicy = as.EXPECT_GEN_EQUAL
	wantCode(t, c.PutBins(wp, k, as.NewBin("a", 3)), types.GENERATION_ERROR)
	_, err := c.Delete(wp, k)
	wantCode(t, err, types.GENERATION_ERROR)
	if rec := mustGet(t, c, k); rec.Bins["a"] != 2 || rec.Generation != 2 {
		t.Fatalf("after failed writes: generation %d bins %v", rec.Generation, rec.Bins)
	}

	wp.Generation = 2
	if err := c.PutBins(wp, k, as.NewBin("a", 3)); err != nil {
		t.Fatalf("write with the right generation: %v", err)
	}
	wp.Generation = 3
	if existed, err := c.Delete(wp, k); err != nil || !existed {
		t.Fatalf("Delete with the right generation = %v, %v", existed, err)
	}
}

func TestBinNameTooLong(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "name")
	wantCode(t, c.PutBins(nil, k, as.NewBin("sixteen-chars-xx", 1)), types.BIN_NAME_TOO_LONG)
}

func TestOperate(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "op")

	rec, err := c.Operate(nil, k,
		as.AddOp(as.NewBin("n", 5)),
		as.PutOp(as.NewBin("s", "x")),
		as.GetBinOp("n"),
		as.GetBinOp("s"),
	)
	if err != nil {
		t.Fatalf("Operate: %v", err)
	}
	if len(rec.Bins) != 2 || rec.Bins["n"] != 5 || rec.Bins["s"] != "x" || rec.Generation != 1 {
		t.Fatalf("Operate answered generation %d bins %v", rec.Generation, rec.Bins)
	}

	each := as.NewWritePolicy(0, 0)
	each.RespondPerEachOp = true
	rec, err = c.Operate(each, k,
		as.AddOp(as.NewBin("n", 2)),
		as.GetBinOp("n"),
		as.GetBinOp("missing"),
	)
	if err != nil {
		t.Fatalf("Operate with RespondPerEachOp: %v", err)
	}
	got, ok := rec.Bins["n"].([]any)
	if !ok || len(got) != 2 || got[0] != nil || got[1] != 7 {
		t.Fatalf("per-op answers for n: %#v", rec.Bins["n"])
	}
	if v, ok := rec.Bins["missing"]; !ok || v != nil {
		t.Fatalf("per-op answer for a missing bin: %#v, %v", v, ok)
	}

	rec, err = c.Operate(nil, k, as.AddOp(as.NewBin("n", 1)), as.GetOp())
	if err != nil {
		t.Fatalf("Operate with GetOp: %v", err)
	}
	if len(rec.Bins) != 2 || rec.Bins["n"] != 8 || rec.Bins["s"] != "x" {
		t.Fatalf("GetOp answered %v", rec.Bins)
	}

	rec, err = c.Operate(nil, k, as.TouchOp(), as.GetHeaderOp())
	if err != nil {
		t.Fatalf("Operate touch: %v", err)
	}
	if len(rec.Bins) != 0 || rec.Generation != 4 {
		t.Fatalf("touch answered generation %d bins %v", rec.Generation, rec.Bins)
	}

	rec, err = c.Operate(nil, k, as.GetBinOp("n"), as.GetBinOp("n"))
	if err != nil {
		t.Fatalf("Operate reading n twice: %v", err)
	}
	if got, ok := rec.Bins["n"].([]any); !ok || len(got) != 2 || got[0] != 8 || got[1] != 8 {
		t.Fatalf("reading n twice answered %#v", rec.Bins["n"])
	}
}

func TestOperateFailureChangesNothing(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "opfail")
	mustPut(t, c, k, as.NewBin("s", "text"), as.NewBin("n", 1))

	_, err := c.Operate(nil, k,
		as.PutOp(as.NewBin("n", 100)),
		as.AddOp(as.NewBin("s", 1)),
	)
	wantCode(t, err, types.BIN_TYPE_ERROR)
	rec := mustGet(t, c, k)
	if rec.Bins["n"] != 1 || rec.Generation != 1 {
		t.Fatalf("failed operate changed the record: generation %d bins %v", rec.Generation, rec.Bins)
	}

	_, err = c.Operate(nil, key(t, "s", "absent"), as.GetBinOp("n"))
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
	_, err = c.Operate(nil, key(t, "s", "absent"), as.TouchOp())
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)

	if _, err := c.Operate(nil, k, as.DeleteOp()); err != nil {
		t.Fatalf("Operate delete: %v", err)
	}
	_, err = c.Get(nil, k)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
}

func TestAppendPrepend(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "concat")
	mustPut(t, c, k, as.NewBin("s", "mid"))
	if err := c.AppendBins(nil, k, as.NewBin("s", "-end")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := c.PrependBins(nil, k, as.NewBin("s", "start-")); err != nil {
		t.Fatalf("Prepend: %v", err)
	}
	if rec := mustGet(t, c, k); rec.Bins["s"] != "start-mid-end" {
		t.Fatalf("got %v", rec.Bins["s"])
	}
}

func TestRecordTooBig(t *testing.T) {
	_, c := newFake(t, Config{MaxRecordSize: 1024})
	k := key(t, "s", "big")
	wantCode(t, c.PutBins(nil, k, as.NewBin("b", make([]byte, 2000))), types.RECORD_TOO_BIG)
	_, err := c.Get(nil, k)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)

	mustPut(t, c, k, as.NewBin("b", make([]byte, 500)))
	wantCode(t, c.PutBins(nil, k, as.NewBin("c", make([]byte, 500))), types.RECORD_TOO_BIG)
	if rec := mustGet(t, c, k); len(rec.Bins) != 1 {
		t.Fatalf("refused write changed the record: %v", rec.Bins)
	}
}

func TestTruncate(t *testing.T) {
	_, c := newFake(t, Config{})
	a1, a2, b1 := key(t, "A", 1), key(t, "A", 2), key(t, "B", 1)
	for _, k := range []*as.Key{a1, a2, b1} {
		mustPut(t, c, k, as.NewBin("v", 1))
	}
	if err := c.Truncate(nil, "test", "A", nil); err != nil {
		t.Fatalf("Truncate set: %v", err)
	}
	for _, k := range []*as.Key{a1, a2} {
		_, err := c.Get(nil, k)
		wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
	}
	mustGet(t, c, b1)

	before := time.Now()
	mustPut(t, c, a1, as.NewBin("v", 2))
	if err := c.Truncate(nil, "test", "", &before); err != nil {
		t.Fatalf("Truncate namespace before a time: %v", err)
	}
	mustGet(t, c, a1)
	_, err := c.Get(nil, b1)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)

	if err := c.Truncate(nil, "test", "", nil); err != nil {
		t.Fatalf("Truncate namespace: %v", err)
	}
	_, err = c.Get(nil, a1)
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)

	wantCode(t, c.Truncate(nil, "nope", "", nil), types.INVALID_NAMESPACE)
}

func TestBatchGet(t *testing.T) {
	_, c := newFake(t, Config{})
	keys := []*as.Key{key(t, "s", 1), key(t, "s", 2), key(t, "s", 3), key(t, "s", 4)}
	mustPut(t, c, keys[0], as.NewBin("a", 1), as.NewBin("b", "one"))
	mustPut(t, c, keys[2], as.NewBin("a", 3), as.NewBin("b", "three"))

	recs, err := c.BatchGet(nil, keys)
	if err != nil {
		t.Fatalf("BatchGet: %v", err)
	}
	if len(recs) != 4 || recs[1] != nil || recs[3] != nil {
		t.Fatalf("BatchGet answered %v", recs)
	}
	if recs[0].Bins["b"] != "one" || recs[2].Bins["a"] != 3 || recs[2].Generation != 1 {
		t.Fatalf("BatchGet records: %v, %v", recs[0], recs[2])
	}

	recs, err = c.BatchGet(nil, keys, "a")
	if err != nil {
		t.Fatalf("BatchGet of bin a: %v", err)
	}
	if len(recs[0].Bins) != 1 || recs[0].Bins["a"] != 1 || recs[1] != nil {
		t.Fatalf("BatchGet of bin a answered %v", recs)
	}
}

func TestBatchOperate(t *testing.T) {
	_, c := newFake(t, Config{})
	keys := []*as.Key{key(t, "s", "b1"), key(t, "s", "b2"), key(t, "s", "b3")}
	mustPut(t, c, keys[0], as.NewBin("n", 10))
	mustPut(t, c, keys[2], as.NewBin("n", "not a number"))

	records := make([]as.BatchRecordIfc, len(keys))
	for i, k := range keys {
		records[i] = as.NewBatchWrite(nil, k, as.AddOp(as.NewBin("n", 1)), as.GetBinOp("n"))
	}
	if err := c.BatchOperate(nil, records); err != nil {
		t.Fatalf("BatchOperate: %v", err)
	}
	wantN := []int{11, 1}
	for i, want := range wantN {
		br := records[i].BatchRec()
		if br.ResultCode != types.OK || br.Record == nil {
			t.Fatalf("record %d: code %d err %v", i, br.ResultCode, br.Err)
		}
		got, ok := br.Record.Bins["n"].(as.OpResults)
		if !ok || len(got) != 2 || got[0] != nil || got[1] != want {
			t.Fatalf("record %d answered %#v, want [nil %d]", i, br.Record.Bins["n"], want)
		}
	}
	if br := records[2].BatchRec(); br.ResultCode != types.BIN_TYPE_ERROR {
		t.Fatalf("record 2: code %d, want BIN_TYPE_ERROR", br.ResultCode)
	}
	if rec := mustGet(t, c, keys[1]); rec.Bins["n"] != 1 {
		t.Fatalf("batch write not stored: %v", rec.Bins)
	}

	reads := []as.BatchRecordIfc{
		as.NewBatchRead(nil, keys[0], nil),
		as.NewBatchRead(nil, key(t, "s", "none"), nil),
		as.NewBatchDelete(nil, keys[1]),
	}
	if err := c.BatchOperate(nil, reads); err != nil {
		t.Fatalf("BatchOperate reads: %v", err)
	}
	if br := reads[0].BatchRec(); br.ResultCode != types.OK || br.Record.Bins["n"] != 11 {
		t.Fatalf("batch read: code %d record %v", br.ResultCode, br.Record)
	}
	if br := reads[1].BatchRec(); br.ResultCode != types.KEY_NOT_FOUND_ERROR {
		t.Fatalf("batch read of a missing key: code %d", br.ResultCode)
	}
	if br := reads[2].BatchRec(); br.ResultCode != types.OK {
		t.Fatalf("batch delete: code %d", br.ResultCode)
	}
	_, err := c.Get(nil, keys[1])
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
}

func TestCollectionAndExpressionOps(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "cdt")
	mustPut(t, c, k,
		as.NewBin("list", []any{1, "two"}),
		as.NewBin("map", map[any]any{"a": 1}),
		as.NewBin("n", 5),
	)
	rec := mustGet(t, c, k)
	if l, ok := rec.Bins["list"].([]any); !ok || len(l) != 2 || l[0] != 1 || l[1] != "two" {
		t.Fatalf("list bin %#v", rec.Bins["list"])
	}
	if m, ok := rec.Bins["map"].(map[any]any); !ok || len(m) != 1 || m["a"] != 1 {
		t.Fatalf("map bin %#v", rec.Bins["map"])
	}

	plusOne := as.ExpNumAdd(as.ExpIntBin("n"), as.ExpIntVal(1))
	rec, err := c.Operate(nil, k,
		as.ListAppendOp("list", 3),
		as.MapPutOp(as.DefaultMapPolicy(), "map", "b", 2),
		as.ExpReadOp("plus", plusOne, as.ExpReadFlagDefault),
		as.ExpWriteOp("n", plusOne, as.ExpWriteFlagDefault),
	)
	if err != nil {
		t.Fatalf("Operate: %v", err)
	}
	if rec.Bins["list"] != 3 || rec.Bins["map"] != 2 || rec.Bins["plus"] != 6 {
		t.Fatalf("Operate answered %v", rec.Bins)
	}
	rec = mustGet(t, c, k)
	if l, ok := rec.Bins["list"].([]any); !ok || len(l) != 3 || l[2] != 3 {
		t.Fatalf("list after append %#v", rec.Bins["list"])
	}
	if rec.Bins["n"] != 6 {
		t.Fatalf("n after expression write %#v", rec.Bins["n"])
	}

	keys := []*as.Key{k, key(t, "s", "cdt2")}
	records := make([]as.BatchRecordIfc, len(keys))
	for i, bk := range keys {
		records[i] = as.NewBatchWrite(nil, bk,
			as.ListAppendOp("list", 9),
			as.AddOp(as.NewBin("n", 1)),
			as.ExpReadOp("plus", plusOne, as.ExpReadFlagDefault),
		)
	}
	if err := c.BatchOperate(nil, records); err != nil {
		t.Fatalf("BatchOperate: %v", err)
	}
	for i, want := range []struct{ size, plus int }{{4, 8}, {1, 2}} {
		br := records[i].BatchRec()
		if br.ResultCode != types.OK {
			t.Fatalf("record %d: code %d", i, br.ResultCode)
		}
		if br.Record.Bins["list"] != want.size || br.Record.Bins["plus"] != want.plus {
			t.Fatalf("record %d answered %v, want list size %d plus %d", i, br.Record.Bins, want.size, want.plus)
		}
	}
}

func TestConcurrentAddsSerialise(t *testing.T) {
	_, c := newFake(t, Config{})
	k := key(t, "s", "counter")
	const workers, adds = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range adds {
				if _, err := c.Operate(nil, k, as.AddOp(as.NewBin("n", 1))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Operate: %v", err)
	}
	rec := mustGet(t, c, k)
	if rec.Bins["n"] != workers*adds || rec.Generation != workers*adds {
		t.Fatalf("got n=%v generation %d, want %d", rec.Bins["n"], rec.Generation, workers*adds)
	}
}

func TestInfoCommands(t *testing.T) {
	s := startServer(t, Config{Namespaces: []string{"test", "other"}})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	answer := infoRequest(t, conn, "partition-generation\nreplicas\npeers-clear-std\nno-such-command\n")
	lines := strings.Split(strings.TrimSuffix(answer, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("answer %q", answer)
	}
	if lines[0] != "partition-generation\t1" {
		t.Errorf("partition-generation line %q", lines[0])
	}
	replicas, ok := strings.CutPrefix(lines[1], "replicas\t")
	parts := strings.Split(replicas, ";")
	if !ok || len(parts) != 2 || !strings.HasPrefix(parts[0], "test:0,1,/////") || !strings.HasPrefix(parts[1], "other:0,1,") {
		t.Errorf("replicas line %q", lines[1])
	}
	if want := "peers-clear-std\t1," + s.Addr()[len("127.0.0.1:"):] + ",[]"; lines[2] != want {
		t.Errorf("peers line %q, want %q", lines[2], want)
	}
	if lines[3] != "no-such-command\t" {
		t.Errorf("unknown command line %q", lines[3])
	}
}

// infoRequest sends one info request on conn and returns the answer body.
func infoRequest(t *testing.T, conn net.Conn, body string) string {
	t.Helper()
	req, start := beginProto(nil)
	req = endProto(append(req, body...), start, protoInfo)
	if _, err := conn.Write(req); err != nil {
		t.Fatalf("write info request: %v", err)
	}
	typ, answer, err := readProto(conn)
	if err != nil || typ != protoInfo {
		t.Fatalf("read info answer: type %d, %v", typ, err)
	}
	return string(answer)
}

func TestUnsupportedProtoClosesConnection(t *testing.T) {
	s := startServer(t, Config{})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, start := beginProto(nil)
	req = endProto(append(req, 0, 0, 0, 0, 0, 0, 0, 0), start, 4)
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := readProto(conn); err == nil {
		t.Fatal("got an answer to a compressed proto, want the connection closed")
	}
}

func TestCloseEndsEveryGoroutine(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	policy := as.NewClientPolicy()
	client, err := as.NewClientWithPolicyAndHost(policy, as.NewHost("127.0.0.1", s.Port()))
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "s", 1)
	mustPut(t, client, k, as.NewBin("a", 1))
	if n := serverGoroutines(); n < 2 {
		t.Fatalf("%d server goroutines while serving, want the accept loop and connections", n)
	}
	// Close with the client still connected: every connection must end.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waits for every goroutine's deferred Done; a goroutine may
	// still show in its frame for a moment after that, before it returns.
	n := serverGoroutines()
	for i := 0; i < 500 && n != 0; i++ {
		time.Sleep(10 * time.Millisecond)
		n = serverGoroutines()
	}
	if n != 0 {
		t.Fatalf("%d server goroutines after Close", n)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	client.Close()
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("server still accepts connections after Close")
	}
}

// serverGoroutines counts the goroutines running a method of Server.
func serverGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "aerofake.(*Server).acceptLoop") || strings.Contains(g, "aerofake.(*Server).serveConn") {
			count++
		}
	}
	return count
}
