package vivofake

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

const (
	maxBody   = 64 << 10
	clockSkew = 10 * time.Minute
	minTTL    = 900
	maxTTL    = 7 * 24 * 3600
)

type answer struct {
	Result    int    `json:"result"`
	Desc      string `json:"desc"`
	AuthToken string `json:"authToken,omitempty"`
	TaskID    string `json:"taskId,omitempty"`
}

type authRequest struct {
	AppID     json.Number `json:"appId"`
	AppKey    string      `json:"appKey"`
	Timestamp json.Number `json:"timestamp"`
	Sign      string      `json:"sign"`
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	if err := decode(w, r, &req); err != nil {
		writeAnswer(w, answer{Result: 10001, Desc: "请求体不合法"})
		return
	}
	if code, desc := s.checkAuth(req); code != CodeOK {
		writeAnswer(w, answer{Result: code, Desc: desc})
		return
	}
	writeAnswer(w, answer{Result: CodeOK, Desc: "请求成功", AuthToken: s.tokens.Issue()})
}

func (s *Server) checkAuth(req authRequest) (int, string) {
	ms, tsErr := req.Timestamp.Int64()
	switch {
	case req.AppID == "":
		return 10200, "appId 不能为空"
	case req.AppKey == "":
		return 10201, "appKey 不能为空"
	case req.Timestamp == "":
		return 10203, "timestamp 不能为空"
	case req.Sign == "":
		return 10204, "sign 不能为空"
	case string(req.AppID) != s.cfg.AppID:
		return CodeAppIDUnknown, "appId 不存在"
	case req.AppKey != s.cfg.AppKey:
		return CodeAppKeyInvalid, "appKey 不合法"
	case tsErr != nil || !s.fresh(ms):
		return CodeTimestampBad, "timestamp 不合法"
	}
	sum := md5.Sum([]byte(s.cfg.AppID + s.cfg.AppKey + string(req.Timestamp) + s.cfg.AppSecret))
	if subtle.ConstantTimeCompare([]byte(req.Sign), []byte(hex.EncodeToString(sum[:]))) != 1 {
		return CodeSignInvalid, "sign 不正确"
	}
	return CodeOK, ""
}

func (s *Server) fresh(ms int64) bool {
	d := s.now().Sub(time.UnixMilli(ms))
	return d < clockSkew && d > -clockSkew
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	if !s.tokens.Valid(r.Header.Get("authToken")) {
		writeAnswer(w, answer{Result: CodeAuthFailed, Desc: "权限认证失败"})
		return
	}
	var m Message
	if err := decode(w, r, &m); err != nil {
		writeAnswer(w, answer{Result: 10067, Desc: "请求体不合法"})
		return
	}
	if code, desc := validate(m); code != CodeOK {
		writeAnswer(w, answer{Result: code, Desc: desc})
		return
	}
	if f, ok := s.TakeFault(m.RegID); ok {
		writeFault(w, f)
		return
	}
	m.TaskID = fakekit.RandomID(8)
	s.Accept(m)
	writeAnswer(w, answer{Result: CodeOK, Desc: "请求成功", TaskID: m.TaskID})
}

func writeFault(w http.ResponseWriter, f vendorfake.Fault) {
	f.SetRetryAfter(w.Header())
	code, ok := fakekit.Code(f)
	if !ok {
		status := fakekit.Status(f, http.StatusInternalServerError)
		http.Error(w, http.StatusText(status), status)
		return
	}
	fakekit.WriteJSON(w, fakekit.Status(f, http.StatusOK), answer{Result: code, Desc: f.Message})
}

func validate(m Message) (int, string) {
	switch {
	case m.RegID == "":
		return CodeEmptyRegID, "regId 不能为空"
	case m.NotifyType < 1 || m.NotifyType > 4:
		return CodeBadNotifyType, "notifyType 不合法"
	case m.Title == "":
		return CodeEmptyTitle, "title 不能为空"
	case units(m.Title) > 40:
		return CodeTitleTooLong, "title 长度超过限制"
	case m.Content == "":
		return CodeEmptyContent, "content 不能为空"
	case units(m.Content) > 100:
		return CodeContentTooLong, "content 长度超过限制"
	case m.TimeToLive != 0 && (m.TimeToLive < minTTL || m.TimeToLive > maxTTL):
		return CodeBadTimeToLive, "timeToLive 不合法"
	case m.SkipType < 1 || m.SkipType > 4:
		return CodeBadSkipType, "skipType 不合法"
	case m.Classification != 0 && m.Classification != 1:
		return 10051, "classification 不合法"
	case m.NotifyID < 0:
		return 10095, "notifyId 不合法"
	case m.RequestID == "":
		return CodeEmptyRequestID, "requestId 不能为空"
	case len(m.RequestID) > 64:
		return CodeRequestIDTooBig, "requestId 长度超过限制"
	}
	return CodeOK, ""
}

// units counts length as vivo does: one per ASCII character, two per other.
func units(s string) int {
	n := 0
	for _, r := range s {
		if r < 0x80 {
			n++
		} else {
			n += 2
		}
	}
	return n
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.UseNumber()
	return dec.Decode(v)
}

func writeAnswer(w http.ResponseWriter, a answer) {
	fakekit.WriteJSON(w, http.StatusOK, a)
}
