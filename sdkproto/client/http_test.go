package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/sdkproto"
)

// syncServer serves a stream of n messages in one epoch over the HTTP sync
// endpoints, checking every request's signature against secret.
type syncServer struct {
	secret []byte
	epoch  uint64
	n      uint64
	acked  atomic.Uint64
}

func (s *syncServer) verify(w http.ResponseWriter, r *http.Request) bool {
	ts, sig, err := sdkproto.ParseHTTPAuth(r.Header.Get("Authorization"))
	if err != nil || !sdkproto.VerifyHTTP(s.secret, r.Method, r.RequestURI, ts, sig) ||
		time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"type":"https://mopush.dev/problems/unauthorized","status":401}`))
		return false
	}
	return true
}

func (s *syncServer) messages(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	q := r.URL.Query()
	since, _ := strconv.ParseUint(q.Get("since"), 10, 64)
	epoch, _ := strconv.ParseUint(q.Get("epoch"), 10, 64)
	limit, _ := strconv.ParseUint(q.Get("limit"), 10, 64)
	if limit == 0 {
		limit = 100
	}
	recovered := epoch == s.epoch || (epoch == 0 && since == 0)
	if !recovered {
		since = 0
	}
	page := map[string]any{"epoch": s.epoch, "head": s.n, "recovered": recovered}
	var msgs []map[string]any
	for seq := since + 1; seq <= s.n && uint64(len(msgs)) < limit; seq++ {
		msgs = append(msgs, map[string]any{"seq": seq, "push_id": fmt.Sprintf("p%d", seq), "title": "t",
			"data": map[string]string{"k": "v"}, "sent_at": time.Unix(1700000000, 0).UTC()})
	}
	more := since+uint64(len(msgs)) < s.n
	page["messages"], page["more"] = msgs, more
	if more {
		w.Header().Add("Link", fmt.Sprintf(`<%s?since=%d&epoch=%d&limit=%d>; rel="next"`,
			r.URL.Path, since+uint64(len(msgs)), s.epoch, limit))
	}
	w.Header().Add("Link", fmt.Sprintf(`<%s?since=0&epoch=%d&limit=%d>; rel="last"`, r.URL.Path, s.epoch, limit))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func (s *syncServer) ack(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	var req struct{ Seq, Epoch uint64 }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Epoch != s.epoch {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"type":"https://mopush.dev/problems/stale-epoch","status":409,"detail":"stale"}`))
		return
	}
	s.acked.Store(max(s.acked.Load(), req.Seq))
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"acked":1}`))
}

func newSyncClient(t *testing.T, n uint64) (*Client, *syncServer) {
	t.Helper()
	s := &syncServer{secret: bytes.Repeat([]byte{7}, 32), epoch: 1 << 60, n: n}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/devices/{id}/messages", s.messages)
	mux.HandleFunc("POST /v1/devices/{id}/acks", s.ack)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := New(Config{Server: srv.URL}, State{DeviceID: "dev/1 x", Secret: s.secret})
	return c, s
}

func TestMessagesPagesThroughTheStream(t *testing.T) {
	t.Parallel()
	c, s := newSyncClient(t, 25)
	var seqs []uint64
	cur := Cursor{}
	for range 10 {
		p, err := c.Messages(t.Context(), cur.Since, cur.Epoch, 10)
		require.NoError(t, err)
		require.True(t, p.Recovered)
		require.Equal(t, s.epoch, p.Epoch)
		require.EqualValues(t, 25, p.Head)
		for _, m := range p.Pushes {
			seqs = append(seqs, m.Seq)
			require.Equal(t, fmt.Sprintf("p%d", m.Seq), m.ID)
			require.Equal(t, map[string]string{"k": "v"}, m.Data)
			require.True(t, m.ExpiresAt.IsZero())
		}
		cur = p.Next
		if !p.More {
			break
		}
		require.Equal(t, p.Pushes[len(p.Pushes)-1].Seq, cur.Since)
	}
	require.Len(t, seqs, 25)
	require.EqualValues(t, 25, seqs[24])
	require.Equal(t, Cursor{Since: 25, Epoch: s.epoch}, cur)

	require.NoError(t, c.AckHTTP(t.Context(), cur.Since, cur.Epoch))
	require.EqualValues(t, 25, s.acked.Load())
}

func TestMessagesAfterLostEpoch(t *testing.T) {
	t.Parallel()
	c, s := newSyncClient(t, 3)
	p, err := c.Messages(t.Context(), 9, 5, 0)
	require.NoError(t, err)
	require.False(t, p.Recovered)
	require.Len(t, p.Pushes, 3)
	require.Equal(t, Cursor{Since: 3, Epoch: s.epoch}, p.Next)
}

func TestAckHTTPStaleEpoch(t *testing.T) {
	t.Parallel()
	c, _ := newSyncClient(t, 3)
	err := c.AckHTTP(t.Context(), 3, 5)
	var ae *APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, http.StatusConflict, ae.Status)
	require.Equal(t, "https://mopush.dev/problems/stale-epoch", ae.Type)
}

func TestSignedCallsNeedTheSecret(t *testing.T) {
	t.Parallel()
	_, s := newSyncClient(t, 3)
	wrong := New(Config{Server: "http://127.0.0.1:1"}, State{})
	_, err := wrong.Messages(t.Context(), 0, 0, 0)
	require.ErrorIs(t, err, ErrNotRegistered)
	require.ErrorIs(t, wrong.AckHTTP(t.Context(), 1, s.epoch), ErrNotRegistered)
}

func TestSignedCallRefusedWithAnotherSecret(t *testing.T) {
	t.Parallel()
	c, _ := newSyncClient(t, 3)
	st := c.State()
	st.Secret = bytes.Repeat([]byte{8}, 32)
	other := New(Config{Server: c.cfg.Server}, st)
	_, err := other.Messages(t.Context(), 0, 0, 0)
	var ae *APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, http.StatusUnauthorized, ae.Status)
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		links []string
		want  Cursor
		ok    bool
	}{
		{"one header", []string{`</m?since=4&epoch=9&limit=2>; rel="next", </m?since=8&epoch=9&limit=2>; rel="last"`}, Cursor{4, 9}, true},
		{"two headers", []string{`</m?since=8&epoch=9&limit=2>; rel="last"`, `</m?since=4&epoch=9&limit=2>; rel="next"`}, Cursor{4, 9}, true},
		{"last only", []string{`</m?since=8&epoch=9&limit=2>; rel="last"`}, Cursor{}, false},
		{"bad number", []string{`</m?since=x&epoch=9>; rel="next"`}, Cursor{}, false},
		{"none", nil, Cursor{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Link": tc.links}
			got, ok := nextLink(h)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

// Update sends only the fields it is given, an empty alias and empty tags
// included, signed, and reads the registration the server answers with.
func TestUpdateSendsTheFieldsGiven(t *testing.T) {
	t.Parallel()
	s := &syncServer{secret: bytes.Repeat([]byte{7}, 32)}
	var got map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /v1/devices/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.verify(w, r) {
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"device_id":"` + r.PathValue("id") + `","app_id":"a","alias":"","tags":[],"vendors":["fcm"],"locale":"de-DE"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := New(Config{Server: srv.URL}, State{DeviceID: "dev/1 x", Secret: s.secret})

	alias, locale := "", "de-DE"
	reg, err := c.Update(t.Context(), Update{Alias: &alias, Tags: &[]string{}, Locale: &locale, Tokens: map[string]string{"fcm": "t", "hms": ""}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"alias": "", "tags": []any{}, "locale": "de-DE",
		"tokens": map[string]any{"fcm": "t", "hms": ""}}, got, "nil fields are left out")
	require.Equal(t, Registered{DeviceID: "dev/1 x", AppID: "a", Tags: []string{}, Vendors: []string{"fcm"}, Locale: "de-DE"}, reg)

	other := New(Config{Server: srv.URL}, State{DeviceID: "dev/1 x", Secret: bytes.Repeat([]byte{8}, 32)})
	_, err = other.Update(t.Context(), Update{Alias: &alias})
	var ae *APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, http.StatusUnauthorized, ae.Status)
	_, err = New(Config{Server: srv.URL}, State{}).Update(t.Context(), Update{})
	require.ErrorIs(t, err, ErrNotRegistered)
}

// Delete signs its request; once the server took it, the state is that of
// a device never registered, and OnState hears of it. A refused delete
// keeps the state.
func TestDeleteForgetsTheRegistration(t *testing.T) {
	t.Parallel()
	s := &syncServer{secret: bytes.Repeat([]byte{7}, 32)}
	var deleted []string
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /v1/devices/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.verify(w, r) {
			return
		}
		deleted = append(deleted, r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	st := State{DeviceID: "dev/1 x", Secret: s.secret, AppID: "a", Epoch: 3, LastSeq: 9}

	wrong := st
	wrong.Secret = bytes.Repeat([]byte{8}, 32)
	other := New(Config{Server: srv.URL}, wrong)
	var ae *APIError
	require.True(t, errors.As(other.Delete(t.Context()), &ae))
	require.Equal(t, http.StatusUnauthorized, ae.Status)
	require.Equal(t, wrong, other.State())

	var heard []State
	c := New(Config{Server: srv.URL, OnState: func(s State) { heard = append(heard, s) }}, st)
	require.NoError(t, c.Delete(t.Context()))
	require.Equal(t, []string{"dev/1 x"}, deleted)
	require.Equal(t, State{}, c.State())
	require.Equal(t, []State{{}}, heard)
	require.ErrorIs(t, c.Delete(t.Context()), ErrNotRegistered)
	require.ErrorIs(t, c.Run(t.Context()), ErrNotRegistered)
}
