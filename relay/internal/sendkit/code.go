package sendkit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Code is a vendor result code that arrives as a JSON number or as a string
// of digits ("80300007" and 80300007 alike). A missing or empty code is 0;
// Set reports whether the field was present.
type Code struct {
	Value int64 // the code; 0 when absent
	Set   bool  // whether the field was present and not empty
}

// UnmarshalJSON accepts a number, a numeric string or null.
func (c *Code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
		if len(b) == 0 {
			return nil
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	c.Value, c.Set = n, true
	return nil
}

// chinaTime is UTC+8 without daylight saving, the day boundary of the
// Chinese vendors' daily quotas.
var chinaTime = time.FixedZone("CST", 8*3600)

// UntilQuotaReset returns the time from now to the next midnight in China,
// when the Chinese vendors reset daily push quotas.
func UntilQuotaReset(now time.Time) time.Duration {
	t := now.In(chinaTime)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, chinaTime)
	return next.Sub(t)
}
