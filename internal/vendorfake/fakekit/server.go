package fakekit

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/mopush/mopush/internal/vendorfake"
)

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// RandomID returns n random bytes in hex, for message ids and tokens.
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Code returns the fault's Reason as a vendor result code; ok is false when
// the fault has no numeric reason (a bare HTTP failure).
func Code(f vendorfake.Fault) (code int, ok bool) {
	n, err := strconv.Atoi(f.Reason)
	return n, err == nil
}

// Status returns the fault's HTTP status, or def when it has none.
func Status(f vendorfake.Fault, def int) int {
	if f.Status == 0 {
		return def
	}
	return f.Status
}
