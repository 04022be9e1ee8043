package xiaomifake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake/xiaomifake"
)

type answer struct {
	Result string `json:"result"`
	Code   int    `json:"code"`
	Data   struct {
		ID string `json:"id"`
	} `json:"data"`
}

func post(t *testing.T, s *xiaomifake.Server, secret string, form url.Values) (*http.Response, answer) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/v3/message/regid", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Authorization", "key="+secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp, a
}

func valid() url.Values {
	return url.Values{
		"registration_id": {"r1"}, "restricted_package_name": {"com.x"}, "title": {"t"},
		"description": {"d"}, "time_to_live": {"60000"}, "extra.k": {"v"},
	}
}

func TestFake(t *testing.T) {
	t.Parallel()
	s := xiaomifake.New(xiaomifake.Config{AppSecret: "sec", PackageName: "com.x"})
	t.Cleanup(s.Close)

	resp, a := post(t, s, "sec", valid())
	require.Equal(t, 2, resp.ProtoMajor, "HTTP/2")
	require.Equal(t, "ok", a.Result)
	require.NotEmpty(t, a.Data.ID)

	_, a = post(t, s, "wrong", valid())
	require.Equal(t, xiaomifake.CodeAuthFailed, a.Code)

	f := valid()
	f.Set("restricted_package_name", "com.other")
	_, a = post(t, s, "sec", f)
	require.Equal(t, xiaomifake.CodeBadPackage, a.Code)

	f = valid()
	f.Del("title")
	_, a = post(t, s, "sec", f)
	require.Equal(t, xiaomifake.CodeMissingParam, a.Code)

	f = valid()
	f.Set("time_to_live", "-5")
	_, a = post(t, s, "sec", f)
	require.Equal(t, xiaomifake.CodeBadParam, a.Code)

	s.FailToken("r1", xiaomifake.NoValidTargets())
	_, a = post(t, s, "sec", valid())
	require.Equal(t, xiaomifake.CodeSendFailed, a.Code)

	require.Equal(t, 1, s.Count())
	require.Equal(t, 6, s.Requests())
	msg := s.Received()[0]
	require.Equal(t, "v", msg.Extra["k"])
	require.Equal(t, -1, msg.NotifyID)

	get, err := s.Client().Get(s.URL() + "/v3/message/regid")
	require.NoError(t, err)
	get.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, get.StatusCode)
}
