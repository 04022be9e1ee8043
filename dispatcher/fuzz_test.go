package dispatcher

import (
	"testing"
)

// FuzzDecodeNode feeds arbitrary bucket entries, as another process could
// write them, to the decoder every dispatcher runs on the membership
// bucket: none may panic, an accepted entry is stored under its node's own
// key, and a ring of it owns every device with that node, at a bounded
// weight.
func FuzzDecodeNode(f *testing.F) {
	f.Add("connector-1", []byte(`{"id":"connector-1","ws_url":"ws://127.0.0.1:8080/v1/connect","internal_url":"http://127.0.0.1:8080","weight":1}`))
	f.Add("=Yi9j", []byte(`{"id":"b/c","weight":-5}`))
	f.Add("x", []byte(`{"id":"y"}`))
	f.Add("big", []byte(`{"id":"big","weight":9223372036854775807}`))
	f.Add("", []byte(`{"id":""}`))
	f.Add("k", []byte(`null`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		n, err := decodeNode(key, value)
		if err != nil {
			return
		}
		want, err := nodeKey(n.ID)
		if err != nil || want != key {
			t.Fatalf("accepted %q under %q, its key is %q (%v)", value, key, want, err)
		}
		r := NewRing([]Node{n}, 4)
		owner, ok := r.Owner("device-1")
		if !ok || owner.ID != n.ID || owner.Weight < 1 || owner.Weight > MaxWeight {
			t.Fatalf("a ring of %+v gave %+v, %v", n, owner, ok)
		}
	})
}
