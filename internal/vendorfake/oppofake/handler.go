package oppofake

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

const (
	maxForm   = 64 << 10
	clockSkew = 10 * time.Minute
	minTTL    = 3600
	maxTTL    = 864000
)

type answer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeCode(w, CodeInvalidArguments, "Invalid Arguments")
		return
	}
	key, ts, sign := r.PostForm.Get("app_key"), r.PostForm.Get("timestamp"), r.PostForm.Get("sign")
	switch {
	case key == "":
		writeCode(w, 15, "Missing App Key")
	case key != s.cfg.AppKey:
		writeCode(w, CodeInvalidAppKey, "Invalid App Key")
	case ts == "":
		writeCode(w, CodeMissingTimestamp, "Missing Timestamp")
	case !s.fresh(ts):
		writeCode(w, CodeInvalidTimestamp, "Invalid Timestamp")
	case sign == "":
		writeCode(w, 17, "Missing Signature")
	case !validSign(sign, key+ts+s.cfg.MasterSecret):
		writeCode(w, CodeInvalidSignature, "Invalid Signature")
	default:
		fakekit.WriteJSON(w, http.StatusOK, answer{Code: CodeOK, Message: "success", Data: map[string]any{
			"auth_token": s.tokens.Issue(), "create_time": s.now().UnixMilli(),
		}})
	}
}

func (s *Server) fresh(ts string) bool {
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := s.now().Sub(time.UnixMilli(ms))
	return d < clockSkew && d > -clockSkew
}

func validSign(sign, material string) bool {
	sum := sha256.Sum256([]byte(material))
	want := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(sign), []byte(want)) == 1
}

func (s *Server) handleUnicast(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeCode(w, CodeInvalidArguments, "Invalid Arguments")
		return
	}
	tok := r.PostForm.Get("auth_token")
	if tok == "" {
		tok = r.Header.Get("auth_token")
	}
	switch {
	case tok == "":
		writeCode(w, CodeMissingAuthToken, "Missing Auth Token")
		return
	case !s.tokens.Valid(tok):
		writeCode(w, CodeInvalidAuthToken, "Invalid AuthToken")
		return
	}
	msg, code, text := parseMessage(r.PostForm.Get("message"))
	if code != CodeOK {
		writeCode(w, code, text)
		return
	}
	if f, ok := s.TakeFault(msg.TargetValue); ok {
		writeFault(w, f)
		return
	}
	msg.ID = "fake-1-1-" + fakekit.RandomID(12)
	s.Accept(msg)
	fakekit.WriteJSON(w, http.StatusOK, answer{Code: CodeOK, Message: "Success", Data: map[string]string{"messageId": msg.ID}})
}

func parseMessage(raw string) (Message, int, string) {
	var m struct {
		TargetType   int           `json:"target_type"`
		TargetValue  string        `json:"target_value"`
		Notification *Notification `json:"notification"`
	}
	if raw == "" {
		return Message{}, CodeMissingArguments, "Missing Required Arguments: message"
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if err := dec.Decode(&m); err != nil {
		return Message{}, CodeInvalidArguments, "Invalid Arguments: message is not JSON"
	}
	n := m.Notification
	switch {
	case m.TargetType != 2:
		return Message{}, CodeInvalidArguments, "Invalid Arguments: target_type"
	case m.TargetValue == "":
		return Message{}, CodeMissingArguments, "Missing Required Arguments: target_value"
	case n == nil || n.Title == "" || n.Content == "":
		return Message{}, CodeMissingArguments, "Missing Required Arguments: title, content"
	case n.OffLineTTL != 0 && (n.OffLineTTL < minTTL || n.OffLineTTL > maxTTL):
		return Message{}, CodeInvalidArguments, "Invalid Arguments: off_line_ttl"
	case n.ActionParameters != "" && !json.Valid([]byte(n.ActionParameters)):
		return Message{}, CodeInvalidArguments, "Invalid Arguments: action_parameters"
	}
	return Message{TargetType: m.TargetType, TargetValue: m.TargetValue, Notification: *n}, CodeOK, ""
}

func writeCode(w http.ResponseWriter, code int, text string) {
	fakekit.WriteJSON(w, http.StatusOK, answer{Code: code, Message: text})
}

func writeFault(w http.ResponseWriter, f vendorfake.Fault) {
	f.SetRetryAfter(w.Header())
	code, ok := fakekit.Code(f)
	if !ok {
		status := fakekit.Status(f, http.StatusInternalServerError)
		http.Error(w, http.StatusText(status), status)
		return
	}
	fakekit.WriteJSON(w, fakekit.Status(f, http.StatusOK), answer{Code: code, Message: f.Message})
}
