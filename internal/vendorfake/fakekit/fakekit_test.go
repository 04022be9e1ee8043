package fakekit_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

func TestIssuer(t *testing.T) {
	t.Parallel()
	var i fakekit.Issuer
	a, b := i.Issue(), i.Issue()
	require.NotEqual(t, a, b)
	require.True(t, i.Valid(a))
	require.False(t, i.Valid("nope"))
	i.ExpireAll()
	require.False(t, i.Valid(a))
	require.Equal(t, 2, i.Issued())
}

func TestFaultHelpers(t *testing.T) {
	t.Parallel()
	code, ok := fakekit.Code(vendorfake.Fault{Reason: "20301"})
	require.True(t, ok)
	require.Equal(t, 20301, code)
	_, ok = fakekit.Code(vendorfake.Fault{Status: 503})
	require.False(t, ok)
	require.Equal(t, 200, fakekit.Status(vendorfake.Fault{}, 200))
	require.Equal(t, 503, fakekit.Status(vendorfake.Fault{Status: 503}, 200))

	rec := httptest.NewRecorder()
	fakekit.WriteJSON(rec, 201, map[string]int{"a": 1})
	require.Equal(t, 201, rec.Code)
	require.JSONEq(t, `{"a":1}`, rec.Body.String())
}
