package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeJSONErrors(t *testing.T) {
	t.Parallel()
	type body struct {
		Name string `json:"name"`
	}
	cases := []struct {
		in, ct string
		status int
		slug   string
	}{
		{`{"name":"x"}`, "application/json", 0, ""},
		{`{"name":`, "application/json", 400, "bad-json"},
		{`{"name":1}`, "application/json", 400, "bad-json"},
		{`{"other":1}`, "application/json", 400, "unknown-field"},
		{`{"name":"x"} {}`, "", 400, "bad-json"},
		{``, "", 400, "bad-json"},
		{`{"name":"` + strings.Repeat("x", 100) + `"}`, "", 413, "body-too-large"},
		{`{"name":"x"}`, "text/plain", 415, "unsupported-media-type"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.in))
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		var b body
		err := DecodeJSON(r, 64, &b)
		if c.status == 0 {
			require.NoError(t, err, c.in)
			continue
		}
		var e *Error
		require.True(t, errors.As(err, &e), "%q: %v", c.in, err)
		require.Equal(t, c.status, e.Status, c.in)
		require.Equal(t, c.slug, e.Slug, c.in)
	}
}

func TestHandleWritesProblems(t *testing.T) {
	t.Parallel()
	var seen []string
	h := Handle(slog.New(slog.DiscardHandler), func(s string) { seen = append(seen, s) },
		func(w http.ResponseWriter, r *http.Request) error {
			if r.URL.Path == "/typed" {
				e := Errorf(http.StatusConflict, "taken", "Taken", "in use")
				e.Extra = map[string]any{"ids": []string{"a"}}
				return e
			}
			return errors.New("database on fire")
		})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/typed", nil))
	require.Equal(t, 409, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, ProblemBase+"taken", doc["type"])
	require.Equal(t, []any{"a"}, doc["ids"])

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/untyped", nil))
	require.Equal(t, 500, rec.Code)
	require.NotContains(t, rec.Body.String(), "fire", "internal details stay in the log")
	require.Equal(t, []string{"taken", "internal"}, seen)
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", in)
		got, ok := BearerToken(r)
		require.True(t, ok, in)
		require.Equal(t, want, got)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Basic abc")
	_, ok := BearerToken(r)
	require.False(t, ok)
}

func TestPageQuery(t *testing.T) {
	for q, want := range map[string]struct {
		after string
		limit int
		bad   bool
	}{
		"":                      {limit: 20},
		"?limit=5&after=X":      {after: "X", limit: 5},
		"?limit=100":            {limit: 100},
		"?limit=0":              {bad: true},
		"?limit=101":            {bad: true},
		"?limit=x":              {bad: true},
		"?after=0123456789ABCD": {bad: true},
	} {
		after, limit, err := PageQuery(httptest.NewRequest("GET", "/x"+q, nil), 20, 100, 10)
		if want.bad {
			var e *Error
			require.ErrorAs(t, err, &e, q)
			require.Equal(t, "bad-query", e.Slug)
			continue
		}
		require.NoError(t, err, q)
		require.Equal(t, want.after, after, q)
		require.Equal(t, want.limit, limit, q)
	}
	items, next := Page([]string{"a", "b", "c"}, 2, func(s string) string { return s })
	require.Equal(t, []string{"a", "b"}, items)
	require.Equal(t, "b", next)
	items, next = Page([]string{"a", "b"}, 2, func(s string) string { return s })
	require.Equal(t, []string{"a", "b"}, items)
	require.Empty(t, next)
}
