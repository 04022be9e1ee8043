package gateway

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
)

// Incremental sync over HTTP, for devices that cannot hold a socket: a
// device reads its stream page by page and acknowledges what it handled,
// authenticated by an HMAC of the request under its device secret
// (docs/protocol.md section 16).

const (
	// deviceAuthSkew is how far a request's timestamp may be from the
	// server's clock, either way.
	deviceAuthSkew = 300 * time.Second
	// Page sizes of GET /v1/devices/{id}/messages.
	defaultSyncLimit = 100
	maxSyncLimit     = 500
	// ndjsonPage is the size of the internal reads of a streamed answer;
	// ndjsonCap bounds the messages of one.
	ndjsonPage = maxSyncLimit
	ndjsonCap  = 10000
	// mediaNDJSON asks for the streamed answer.
	mediaNDJSON = "application/x-ndjson"
)

// Response headers of a streamed answer, which carry the stream facts the
// JSON answer has in its body.
const (
	headerEpoch     = "Mopush-Epoch"
	headerHead      = "Mopush-Head"
	headerRecovered = "Mopush-Recovered"
)

// dummySecret stands in for the secret of an unknown device, so that a
// refusal costs the same work whether or not the device exists.
var dummySecret = make([]byte, 32)

// errDeviceUnauthorized is the one answer to every device authentication
// failure: it does not tell whether the device exists.
func errDeviceUnauthorized() *httpx.Error {
	e := httpx.Errorf(http.StatusUnauthorized, "unauthorized", "Unauthorized", "a valid device signature is required")
	e.Header = http.Header{"WWW-Authenticate": {sdkproto.HTTPAuthScheme + ` realm="mopush"`}}
	return e
}

func errBadQuery(detail string) *httpx.Error {
	return httpx.Errorf(http.StatusBadRequest, "bad-query", "Bad query", detail)
}

// syncMessage is one stream message as the sync endpoints show it.
type syncMessage struct {
	Seq       uint64            `json:"seq"`
	PushID    string            `json:"push_id"`
	Title     string            `json:"title,omitempty"`
	Body      string            `json:"body,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
	SentAt    time.Time         `json:"sent_at"`
	ExpiresAt time.Time         `json:"expires_at,omitzero"`
}

type syncPage struct {
	Epoch     uint64        `json:"epoch"`
	Head      uint64        `json:"head"`
	Recovered bool          `json:"recovered"`
	More      bool          `json:"more"`
	Messages  []syncMessage `json:"messages"`
}

type ackRequest struct {
	Seq   uint64 `json:"seq"`
	Epoch uint64 `json:"epoch"`
}

type ackResponse struct {
	Acked int `json:"acked"`
}

// syncQuery is the parsed query of a messages read.
type syncQuery struct {
	since, epoch uint64
	limit        int
}

func toSyncMessage(m store.Message) syncMessage {
	return syncMessage{
		Seq: m.Seq, PushID: m.PushID, Title: m.Title, Body: m.Body, Data: m.Data,
		SentAt: m.SentAt, ExpiresAt: m.ExpiresAt,
	}
}

// authDevice checks the device signature of r against the device named by
// the path and returns the device. Every failure is the same 401.
func (g *Gateway) authDevice(r *http.Request) (*store.Device, error) {
	ts, sig, err := sdkproto.ParseHTTPAuth(r.Header.Get("Authorization"))
	if err != nil {
		return nil, errDeviceUnauthorized()
	}
	if d := time.Since(time.Unix(ts, 0)); d > deviceAuthSkew || d < -deviceAuthSkew {
		return nil, errDeviceUnauthorized()
	}
	id := r.PathValue("id")
	devs, err := g.store.Devices(r.Context(), []string{id})
	if err != nil {
		return nil, fmt.Errorf("load device: %w", err)
	}
	dev, secret := devs[0], dummySecret
	if dev != nil {
		secret = dev.Secret
	}
	if !sdkproto.VerifyHTTP(secret, r.Method, requestTarget(r), ts, sig) || dev == nil {
		return nil, errDeviceUnauthorized()
	}
	return dev, nil
}

// requestTarget is the path and query of r as the client sent them.
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// parseSyncQuery reads since, epoch and limit, applying the defaults.
func parseSyncQuery(q url.Values) (syncQuery, error) {
	sq := syncQuery{limit: defaultSyncLimit}
	var err error
	if v := q.Get("since"); v != "" {
		if sq.since, err = strconv.ParseUint(v, 10, 64); err != nil {
			return sq, errBadQuery("since must be a non-negative integer")
		}
	}
	if v := q.Get("epoch"); v != "" {
		if sq.epoch, err = strconv.ParseUint(v, 10, 64); err != nil {
			return sq, errBadQuery("epoch must be a non-negative integer")
		}
	}
	if v := q.Get("limit"); v != "" {
		if sq.limit, err = strconv.Atoi(v); err != nil || sq.limit < 1 || sq.limit > maxSyncLimit {
			return sq, errBadQuery(fmt.Sprintf("limit must be 1 to %d", maxSyncLimit))
		}
	}
	return sq, nil
}

// wantsNDJSON reports whether the Accept header asks for ndjson.
func wantsNDJSON(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(a, ",") {
			if mt, _, err := mime.ParseMediaType(part); err == nil && mt == mediaNDJSON {
				return true
			}
		}
	}
	return false
}

func (g *Gateway) listMessages(w http.ResponseWriter, r *http.Request) error {
	dev, err := g.authDevice(r)
	if err != nil {
		return err
	}
	q, err := parseSyncQuery(r.URL.Query())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept")
	if wantsNDJSON(r) {
		return g.streamMessages(w, r, dev.ID, q)
	}
	page, err := g.store.ReadStream(r.Context(), dev.ID, q.epoch, q.since, q.limit)
	if err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	out := syncPage{
		Epoch: page.Epoch, Head: page.Head, Recovered: page.Recovered, More: page.More,
		Messages: make([]syncMessage, 0, len(page.Messages)),
	}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, toSyncMessage(m))
	}
	setLinks(w.Header(), r.URL.EscapedPath(), page, q.limit)
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// setLinks adds the next link (when more messages follow) and the last
// link (the final page of the stream) to h.
func setLinks(h http.Header, path string, page store.Page, limit int) {
	link := func(since uint64, rel string) string {
		return fmt.Sprintf(`<%s?since=%d&epoch=%d&limit=%d>; rel="%s"`, path, since, page.Epoch, limit, rel)
	}
	if n := len(page.Messages); page.More && n > 0 {
		h.Add("Link", link(page.Messages[n-1].Seq, "next"))
	}
	h.Add("Link", link(page.Head-min(page.Head, uint64(limit)), "last"))
}

// streamMessages answers with every message from q.since to the head as
// ndjson, one page read at a time, flushed after each. The stream facts of
// the first page go in the headers; the stream ends early at ndjsonCap
// messages, when the request ends, or when the stream changes under the
// read (a new epoch or trimmed history): the client reads on from the last
// message it got.
func (g *Gateway) streamMessages(w http.ResponseWriter, r *http.Request, deviceID string, q syncQuery) error {
	ctx := r.Context()
	page, err := g.store.ReadStream(ctx, deviceID, q.epoch, q.since, ndjsonPage)
	if err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", mediaNDJSON)
	h.Set(headerEpoch, strconv.FormatUint(page.Epoch, 10))
	h.Set(headerHead, strconv.FormatUint(page.Head, 10))
	h.Set(headerRecovered, strconv.FormatBool(page.Recovered))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	epoch, sent := page.Epoch, 0
	for {
		for _, m := range page.Messages {
			if err := enc.Encode(toSyncMessage(m)); err != nil {
				return nil // the client went away
			}
		}
		sent += len(page.Messages)
		if err := rc.Flush(); err != nil {
			return nil
		}
		n := len(page.Messages)
		if !page.More || n == 0 || sent >= ndjsonCap || ctx.Err() != nil {
			return nil
		}
		since := page.Messages[n-1].Seq
		if page, err = g.store.ReadStream(ctx, deviceID, epoch, since, min(ndjsonPage, ndjsonCap-sent)); err != nil {
			if ctx.Err() == nil {
				g.log.WarnContext(ctx, "stream read failed", "device_id", deviceID, "error", err)
			}
			return nil
		}
		if page.Epoch != epoch || !page.Recovered {
			return nil
		}
	}
}

func (g *Gateway) ackMessages(w http.ResponseWriter, r *http.Request) error {
	dev, err := g.authDevice(r)
	if err != nil {
		return err
	}
	var req ackRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	cur, err := g.store.ReadStream(r.Context(), dev.ID, 0, 0, 1)
	if err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	if req.Epoch != cur.Epoch {
		e := httpx.Errorf(http.StatusConflict, "stale-epoch", "Stale epoch",
			"the stream has another epoch now; read it again from the start")
		e.Extra = map[string]any{"epoch": cur.Epoch}
		return e
	}
	// The counts go with the next flush, as a connector's do: a counter
	// write that fails waits for the store instead of being lost.
	acks := outcome.Summed{Store: g.store, Sums: g.sums, Delay: func(d time.Duration) { g.m.ackDelay.Observe(d.Seconds()) }}
	n, err := outcome.Ack(r.Context(), acks, dev.ID, req.Seq, time.Now())
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ackResponse{Acked: n})
}
