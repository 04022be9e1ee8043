package httpx

import (
	"fmt"
	"net/http"
	"strconv"
)

// PageQuery reads the query of a list read in pages by id: after, the
// last id of the page before (at most maxAfter bytes), and limit, 1 to
// most (def when absent). Anything else is a 400 bad-query problem.
func PageQuery(r *http.Request, def, most, maxAfter int) (after string, limit int, err error) {
	q := r.URL.Query()
	after, limit = q.Get("after"), def
	if len(after) > maxAfter {
		return "", 0, Errorf(http.StatusBadRequest, "bad-query", "Bad query", fmt.Sprintf("after is an id of at most %d bytes", maxAfter))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			return "", 0, Errorf(http.StatusBadRequest, "bad-query", "Bad query", fmt.Sprintf("limit must be 1 to %d", most))
		}
		limit = n
	}
	return after, limit, nil
}

// Page cuts items, read with limit+1, to limit and returns the cursor of
// the next page: the id of its last item, or "" when nothing follows.
func Page[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}
