package honorfake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake/honorfake"
)

type envelope struct {
	Code int `json:"code"`
	Data struct {
		RequestID string `json:"requestId"`
	} `json:"data"`
}

func token(t *testing.T, s *honorfake.Server, secret string) (string, int) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {secret}}
	resp, err := s.Client().Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v.AccessToken, resp.StatusCode
}

func send(t *testing.T, s *honorfake.Server, path, tok string, ts time.Time, body string) (int, envelope) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+path, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("timestamp", strconv.FormatInt(ts.UnixMilli(), 10))
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	var e envelope
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return resp.StatusCode, e
}

func TestFake(t *testing.T) {
	t.Parallel()
	s := honorfake.New(honorfake.Config{AppID: "9", ClientID: "cid", ClientSecret: "sec"})
	t.Cleanup(s.Close)

	_, status := token(t, s, "wrong")
	require.Equal(t, http.StatusUnauthorized, status)
	tok, status := token(t, s, "sec")
	require.Equal(t, http.StatusOK, status)

	path := "/api/v1/9/sendMessage"
	ok := `{"android":{"ttl":"60s","notification":{"title":"t","body":"b","clickAction":{"type":3}}},"token":["p1"]}`
	_, e := send(t, s, path, tok, time.Now(), ok)
	require.Equal(t, honorfake.CodeOK, e.Code)
	require.NotEmpty(t, e.Data.RequestID)

	_, e = send(t, s, "/api/v1/8/sendMessage", tok, time.Now(), ok)
	require.Equal(t, honorfake.CodeAppIDUnknown, e.Code)
	_, e = send(t, s, path, tok, time.Now().Add(-time.Hour), ok)
	require.Equal(t, honorfake.CodeBadTimestamp, e.Code)
	_, e = send(t, s, path, tok, time.Now(), strings.Replace(ok, `"type":3`, `"type":9`, 1))
	require.Equal(t, honorfake.CodeBadStructure, e.Code)
	_, e = send(t, s, path, tok, time.Now(), strings.Replace(ok, `"60s"`, `"60"`, 1))
	require.Equal(t, honorfake.CodeBadStructure, e.Code)
	_, e = send(t, s, path, tok, time.Now(), `{"token":["p1","p1"],"data":"x"}`)
	require.Equal(t, honorfake.CodeDuplicateTokens, e.Code)
	_, e = send(t, s, path, tok, time.Now(), `{"token":["p1"],"data":"`+strings.Repeat("x", 5000)+`"}`)
	require.Equal(t, honorfake.CodeMessageTooLarge, e.Code)

	s.ExpireAccessTokens()
	status, e = send(t, s, path, tok, time.Now(), ok)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, honorfake.CodeAuthFailed, e.Code)
	require.Equal(t, 1, s.Count())
	require.Equal(t, time.Minute, s.Received()[0].TTL)
}
