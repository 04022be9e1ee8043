package tokencache

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// token is one credential with its life span.
type token struct {
	value   string
	issued  time.Time
	expires time.Time
}

// refreshAt is when t should be replaced: margin before its expiry, or half
// way through its life when the life is shorter than twice the margin.
func (t token) refreshAt(margin time.Duration) time.Time {
	margin = min(margin, t.expires.Sub(t.issued)/2)
	return t.expires.Add(-margin)
}

// encode renders t for Redis as "v1:<issued ms>:<expires ms>:<token>".
func (t token) encode() string {
	return "v1:" + strconv.FormatInt(t.issued.UnixMilli(), 10) + ":" +
		strconv.FormatInt(t.expires.UnixMilli(), 10) + ":" + t.value
}

// decode parses what encode wrote.
func decode(s string) (token, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 || parts[0] != "v1" || parts[3] == "" {
		return token{}, errCorrupt
	}
	issued, err1 := strconv.ParseInt(parts[1], 10, 64)
	expires, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || expires < issued {
		return token{}, fmt.Errorf("%w: bad times", errCorrupt)
	}
	return token{value: parts[3], issued: time.UnixMilli(issued), expires: time.UnixMilli(expires)}, nil
}
