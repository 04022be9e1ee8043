package xiaomifake

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

// maxForm bounds the form the fake reads.
const maxForm = 64 << 10

// description is MiPush's Chinese descriptions of the codes the fake uses.
func description(code int) string {
	switch code {
	case CodeMissingParam:
		return "缺失必选参数"
	case CodeBadParam:
		return "参数值非法"
	case CodeTooFrequent:
		return "API调用太频繁"
	case CodeSendFailed:
		return "发送消息失败"
	case CodeAuthFailed:
		return "认证失败"
	case CodeBadPackage:
		return "package name不合法"
	case CodeTooLong:
		return "消息内容太长"
	case CodeInvalidRegID:
		return "regId非法"
	default:
		return ""
	}
}

type reply struct {
	Result      string    `json:"result"`
	Code        int       `json:"code"`
	Description string    `json:"description,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Info        string    `json:"info,omitempty"`
	TraceID     string    `json:"trace_id"`
	Data        *dataPart `json:"data,omitempty"`
}

type dataPart struct {
	ID string `json:"id"`
}

func (s *Server) handleRegID(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	if r.Header.Get("Authorization") != "key="+s.cfg.AppSecret {
		writeError(w, Fault(CodeAuthFailed, "Invalid application secret."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, Fault(CodeBadParam, "malformed form"))
		return
	}
	msg, bad := s.parse(r.PostForm)
	if bad != nil {
		writeError(w, *bad)
		return
	}
	if f, ok := s.TakeFault(msg.RegistrationID); ok {
		writeError(w, f)
		return
	}
	msg.ID = "acm" + fakekit.RandomID(10)
	s.Accept(msg)
	fakekit.WriteJSON(w, http.StatusOK, reply{
		Result: "ok", Code: CodeOK, Description: "成功", TraceID: fakekit.RandomID(8),
		Info: "Received push messages for 1 REGID", Data: &dataPart{ID: msg.ID},
	})
}

func writeError(w http.ResponseWriter, f vendorfake.Fault) {
	f.SetRetryAfter(w.Header())
	code, ok := fakekit.Code(f)
	if !ok {
		status := fakekit.Status(f, http.StatusInternalServerError)
		http.Error(w, http.StatusText(status), status)
		return
	}
	fakekit.WriteJSON(w, fakekit.Status(f, http.StatusOK), reply{
		Result: "error", Code: code, Reason: f.Message, Description: description(code), TraceID: fakekit.RandomID(8),
	})
}

func (s *Server) parse(f url.Values) (Message, *vendorfake.Fault) {
	missing := func(name string) *vendorfake.Fault {
		v := Fault(CodeMissingParam, "missing "+name)
		return &v
	}
	invalid := func(name string) *vendorfake.Fault {
		v := Fault(CodeBadParam, "invalid "+name)
		return &v
	}
	m := Message{
		RegistrationID: f.Get("registration_id"),
		PackageName:    f.Get("restricted_package_name"),
		Title:          f.Get("title"),
		Description:    f.Get("description"),
		Payload:        f.Get("payload"),
		NotifyID:       -1,
		Extra:          map[string]string{},
	}
	if m.RegistrationID == "" {
		return m, missing("registration_id")
	}
	if strings.Contains(m.RegistrationID, ",") {
		return m, invalid("registration_id (the fake takes one)")
	}
	if m.PackageName != s.cfg.PackageName {
		v := Fault(CodeBadPackage, "Invalid package name")
		return m, &v
	}
	switch f.Get("pass_through") {
	case "", "0":
	case "1":
		m.PassThrough = true
	default:
		return m, invalid("pass_through")
	}
	if !m.PassThrough && (m.Title == "" || m.Description == "") {
		return m, missing("title or description")
	}
	var ok bool
	if m.NotifyType, ok = intField(f, "notify_type", -1, -1, 7); !ok {
		return m, invalid("notify_type")
	}
	if m.NotifyID, ok = intField(f, "notify_id", -1, 0, 1<<31-1); !ok {
		return m, invalid("notify_id")
	}
	ttl, ok := intField(f, "time_to_live", 0, 1, 14*24*3600*1000)
	if !ok {
		return m, invalid("time_to_live")
	}
	m.TimeToLive = time.Duration(ttl) * time.Millisecond
	if len(m.Payload) > 4096 {
		v := Fault(CodeTooLong, "payload too long")
		return m, &v
	}
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, "extra."); ok && len(v) > 0 {
			m.Extra[name] = v[0]
		}
	}
	return m, nil
}

// intField parses an optional integer form field within [lo, hi]; def when
// absent.
func intField(f url.Values, name string, def, lo, hi int) (int, bool) {
	v := f.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}
