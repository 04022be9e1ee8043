package oppofake_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake/oppofake"
)

type answer struct {
	Code int `json:"code"`
	Data struct {
		AuthToken string `json:"auth_token"`
		MessageID string `json:"messageId"`
	} `json:"data"`
}

func post(t *testing.T, s *oppofake.Server, path string, form url.Values) answer {
	t.Helper()
	resp, err := s.Client().Post(s.URL()+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return a
}

func auth(key, secret string, at time.Time) url.Values {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	sum := sha256.Sum256([]byte(key + ts + secret))
	return url.Values{"app_key": {key}, "timestamp": {ts}, "sign": {hex.EncodeToString(sum[:])}}
}

func TestFake(t *testing.T) {
	t.Parallel()
	s := oppofake.New(oppofake.Config{AppKey: "k", MasterSecret: "m"})
	t.Cleanup(s.Close)

	require.Equal(t, oppofake.CodeInvalidSignature, post(t, s, "/server/v1/auth", auth("k", "wrong", time.Now())).Code)
	require.Equal(t, oppofake.CodeInvalidAppKey, post(t, s, "/server/v1/auth", auth("x", "m", time.Now())).Code)
	require.Equal(t, oppofake.CodeInvalidTimestamp, post(t, s, "/server/v1/auth", auth("k", "m", time.Now().Add(-time.Hour))).Code)
	a := post(t, s, "/server/v1/auth", auth("k", "m", time.Now()))
	require.Zero(t, a.Code)
	tok := a.Data.AuthToken
	require.NotEmpty(t, tok)

	msg := `{"target_type":2,"target_value":"CN_1","notification":{"title":"t","content":"c","off_line_ttl":7200}}`
	unicast := "/server/v1/message/notification/unicast"
	require.Equal(t, oppofake.CodeMissingAuthToken, post(t, s, unicast, url.Values{"message": {msg}}).Code)
	a = post(t, s, unicast, url.Values{"auth_token": {tok}, "message": {msg}})
	require.Zero(t, a.Code)
	require.NotEmpty(t, a.Data.MessageID)

	bad := strings.Replace(msg, "7200", "60", 1)
	require.Equal(t, oppofake.CodeInvalidArguments, post(t, s, unicast, url.Values{"auth_token": {tok}, "message": {bad}}).Code)
	noTitle := strings.Replace(msg, `"title":"t",`, "", 1)
	require.Equal(t, oppofake.CodeMissingArguments, post(t, s, unicast, url.Values{"auth_token": {tok}, "message": {noTitle}}).Code)

	s.ExpireAccessTokens()
	require.Equal(t, oppofake.CodeInvalidAuthToken, post(t, s, unicast, url.Values{"auth_token": {tok}, "message": {msg}}).Code)
	require.Equal(t, 1, s.Count())
	require.Equal(t, 1, s.AccessTokens())

	get, err := s.Client().Get(s.URL() + unicast)
	require.NoError(t, err)
	get.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, get.StatusCode)
}
