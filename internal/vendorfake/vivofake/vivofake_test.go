package vivofake_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake/vivofake"
)

type answer struct {
	Result    int    `json:"result"`
	AuthToken string `json:"authToken"`
	TaskID    string `json:"taskId"`
}

func post(t *testing.T, s *vivofake.Server, path, tok string, body any) answer {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+path, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("authToken", tok)
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return a
}

func auth(secret string, at time.Time) map[string]any {
	ts := at.UnixMilli()
	sum := md5.Sum([]byte("7" + "key" + strconv.FormatInt(ts, 10) + secret))
	return map[string]any{"appId": 7, "appKey": "key", "timestamp": ts, "sign": hex.EncodeToString(sum[:])}
}

func message() map[string]any {
	return map[string]any{
		"regId": "r1", "notifyType": 4, "title": "t", "content": "c", "skipType": 1,
		"timeToLive": 3600, "requestId": "req-1", "clientCustomMap": map[string]string{"k": "v"},
	}
}

func TestFake(t *testing.T) {
	t.Parallel()
	s := vivofake.New(vivofake.Config{AppID: "7", AppKey: "key", AppSecret: "sec"})
	t.Cleanup(s.Close)

	require.Equal(t, vivofake.CodeSignInvalid, post(t, s, "/message/auth", "", auth("wrong", time.Now())).Result)
	require.Equal(t, vivofake.CodeTimestampBad, post(t, s, "/message/auth", "", auth("sec", time.Now().Add(time.Hour))).Result)
	a := post(t, s, "/message/auth", "", auth("sec", time.Now()))
	require.Zero(t, a.Result)
	tok := a.AuthToken

	require.Equal(t, vivofake.CodeAuthFailed, post(t, s, "/message/send", "", message()).Result)
	a = post(t, s, "/message/send", tok, message())
	require.Zero(t, a.Result)
	require.NotEmpty(t, a.TaskID)

	for field, want := range map[string]struct {
		value any
		code  int
	}{
		"notifyType": {9, vivofake.CodeBadNotifyType},
		"timeToLive": {60, vivofake.CodeBadTimeToLive},
		"requestId":  {"", vivofake.CodeEmptyRequestID},
		"title":      {"这是一个非常长的标题这是一个非常长的标题x", vivofake.CodeTitleTooLong},
	} {
		m := message()
		m[field] = want.value
		require.Equal(t, want.code, post(t, s, "/message/send", tok, m).Result, field)
	}

	s.ExpireAccessTokens()
	require.Equal(t, vivofake.CodeAuthFailed, post(t, s, "/message/send", tok, message()).Result)
	require.Equal(t, 1, s.Count())
	require.Equal(t, map[string]string{"k": "v"}, s.Received()[0].ClientCustomMap)
}
