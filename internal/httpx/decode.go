package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DecodeJSON decodes the request body into v: at most limit bytes, unknown
// fields refused, exactly one JSON value. Errors are typed *Error values
// (400 bad-json or unknown-field, 413 body-too-large, 415 for a non-JSON
// content type).
func DecodeJSON(r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") &&
		!strings.HasPrefix(ct, "application/x-www-form-urlencoded") { // curl -d default
		return Errorf(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "send application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, "bad-json", "Malformed JSON", "trailing data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return Errorf(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			fmt.Sprintf("the body exceeds %d bytes", maxErr.Limit))
	case errors.As(err, &syntaxErr):
		return Errorf(http.StatusBadRequest, "bad-json", "Malformed JSON", fmt.Sprintf("syntax error at byte %d", syntaxErr.Offset))
	case errors.As(err, &typeErr):
		return Errorf(http.StatusBadRequest, "bad-json", "Malformed JSON", fmt.Sprintf("field %q has the wrong type", typeErr.Field))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "bad-json", "Malformed JSON", "the body is empty or truncated")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return Errorf(http.StatusBadRequest, "unknown-field", "Unknown field", strings.TrimPrefix(err.Error(), "json: "))
	default:
		return Errorf(http.StatusBadRequest, "bad-json", "Malformed JSON", err.Error())
	}
}
