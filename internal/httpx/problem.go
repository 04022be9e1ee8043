package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// ProblemBase prefixes every problem type.
const ProblemBase = "https://mopush.dev/problems/"

// Error is a typed API error; the central writer renders it as
// application/problem+json with a stable type.
type Error struct {
	Status int    // HTTP status
	Slug   string // stable machine-readable type, e.g. "bad-json"
	Title  string // short human summary, fixed per slug
	Detail string // this occurrence
	// Extra fields added to the problem document.
	Extra map[string]any
	// Header values set on the response (e.g. Retry-After).
	Header http.Header
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Slug + ": " + e.Detail
	}
	return e.Slug
}

// Errorf builds a typed error.
func Errorf(status int, slug, title, detail string) *Error {
	return &Error{Status: status, Slug: slug, Title: title, Detail: detail}
}

// Problem is the application/problem+json document (RFC 9457).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// HandlerFunc is an HTTP handler that returns an error for the central
// writer.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to http.Handler: a returned error becomes a problem
// response, logged at a level that follows the status, and counted by
// observe (if not nil) under the problem's slug.
func Handle(log *slog.Logger, observe func(slug string), h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			e = Errorf(http.StatusInternalServerError, "internal", "Internal error", "")
		} else if e.Status >= 500 {
			log.WarnContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "type", e.Slug, "error", err)
		} else {
			log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "type", e.Slug, "detail", e.Detail)
		}
		if observe != nil {
			observe(e.Slug)
		}
		WriteProblem(w, e)
	})
}

// WriteProblem writes e as application/problem+json.
func WriteProblem(w http.ResponseWriter, e *Error) {
	doc := map[string]any{
		"type":   ProblemBase + e.Slug,
		"title":  e.Title,
		"status": e.Status,
	}
	if e.Detail != "" {
		doc["detail"] = e.Detail
	}
	for k, v := range e.Extra {
		doc[k] = v
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(doc) //nolint:errcheck // the client went away
}

// WriteJSON writes v as JSON with the given status. v is encoded before
// anything is written, so an encoding error can still become a problem
// response; a failed write (the client went away) is not an error to
// report.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
	return nil
}

// AppHeader names the app a request with the admin token acts for: the
// gateway then treats it as that app's own (docs/api.md, section 2).
const AppHeader = "Mopush-App"

// BearerToken returns the credentials of an Authorization header of the
// Bearer scheme (matched case-insensitively, RFC 9110).
func BearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// NotFound answers every request with a 404 problem; mount it at "/".
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, Errorf(http.StatusNotFound, "not-found", "Not found", "no such endpoint: "+r.URL.Path))
	})
}
