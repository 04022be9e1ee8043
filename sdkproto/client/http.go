package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/sdkproto"
)

// Cursor is a position in the device's stream to read on from.
type Cursor struct {
	Since uint64
	Epoch uint64
}

// MessagesPage is one page of the device's stream read over HTTP.
type MessagesPage struct {
	Epoch uint64 // the stream's current epoch
	Head  uint64 // the seq of the newest message in the stream
	// Recovered is false when the read did not continue from the cursor
	// given (another epoch, or history trimmed): pushes may have been
	// missed, and Pushes starts at the oldest retained message.
	Recovered bool
	More      bool // more messages follow; read again from Next
	Pushes    []Push
	// Next is where the following read starts, and the position to keep
	// once Pushes are handled: after the last push when More, else the head
	// (messages in between expired).
	Next Cursor
}

// Messages reads up to limit pushes after since in epoch over HTTP, signed
// with the device secret: for devices that cannot hold a WebSocket. Give 0
// for both on the first read; then follow MessagesPage.Next. limit 0 means
// the server's default (100); at most 500. It neither changes the state nor
// drops duplicates.
func (c *Client) Messages(ctx context.Context, since, epoch uint64, limit int) (MessagesPage, error) {
	st := c.State()
	if st.DeviceID == "" || len(st.Secret) == 0 {
		return MessagesPage{}, ErrNotRegistered
	}
	q := url.Values{}
	q.Set("since", strconv.FormatUint(since, 10))
	q.Set("epoch", strconv.FormatUint(epoch, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/devices/" + url.PathEscape(st.DeviceID) + "/messages?" + q.Encode()
	var out messagesJSON
	hdr, err := c.signedCall(ctx, st, http.MethodGet, path, nil, &out)
	if err != nil {
		return MessagesPage{}, fmt.Errorf("messages: %w", err)
	}
	return out.page(hdr), nil
}

// AckHTTP acknowledges every push of epoch up to and including seq over
// HTTP. An epoch that is no longer the stream's is refused with an
// *APIError of status 409.
func (c *Client) AckHTTP(ctx context.Context, seq, epoch uint64) error {
	body := struct {
		Seq   uint64 `json:"seq"`
		Epoch uint64 `json:"epoch"`
	}{seq, epoch}
	var out struct {
		Acked int `json:"acked"`
	}
	if err := c.postSigned(ctx, "/acks", body, &out); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

// postSigned posts in to the device's path suffix, signed, and decodes
// the answer into out.
func (c *Client) postSigned(ctx context.Context, suffix string, in, out any) error {
	st := c.State()
	if st.DeviceID == "" || len(st.Secret) == 0 {
		return ErrNotRegistered
	}
	path := "/v1/devices/" + url.PathEscape(st.DeviceID) + suffix
	_, err := c.signedCall(ctx, st, http.MethodPost, path, in, out)
	return err
}

// ReportHTTP reports an open ("open") or a click ("click") of push
// pushID over HTTP, for an app that shows a notification without a
// connection; Report sends the same over the connection. It returns
// whether the server counted it: false when this device reported that
// kind for the push before.
func (c *Client) ReportHTTP(ctx context.Context, kind, pushID string) (bool, error) {
	body := struct {
		Kind   string `json:"kind"`
		PushID string `json:"push_id"`
	}{kind, pushID}
	var out struct {
		Counted bool `json:"counted"`
	}
	if err := c.postSigned(ctx, "/engagements", body, &out); err != nil {
		return false, fmt.Errorf("report: %w", err)
	}
	return out.Counted, nil
}

type messageJSON struct {
	Seq       uint64            `json:"seq"`
	PushID    string            `json:"push_id"`
	Title     string            `json:"title"`
	Body      string            `json:"body"`
	Data      map[string]string `json:"data"`
	SentAt    time.Time         `json:"sent_at"`
	ExpiresAt time.Time         `json:"expires_at"`
}

type messagesJSON struct {
	Epoch     uint64        `json:"epoch"`
	Head      uint64        `json:"head"`
	Recovered bool          `json:"recovered"`
	More      bool          `json:"more"`
	Messages  []messageJSON `json:"messages"`
}

// page converts the answer; the next link, when there is one, gives the
// cursor.
func (m *messagesJSON) page(hdr http.Header) MessagesPage {
	p := MessagesPage{Epoch: m.Epoch, Head: m.Head, Recovered: m.Recovered, More: m.More,
		Pushes: make([]Push, 0, len(m.Messages))}
	last := uint64(0)
	for _, x := range m.Messages {
		p.Pushes = append(p.Pushes, Push{ID: x.PushID, Seq: x.Seq, Title: x.Title, Body: x.Body,
			Data: x.Data, SentAt: x.SentAt, ExpiresAt: x.ExpiresAt})
		last = x.Seq
	}
	p.Next = Cursor{Since: max(last, m.Head), Epoch: m.Epoch}
	if m.More {
		p.Next.Since = last
		if c, ok := nextLink(hdr); ok {
			p.Next = c
		}
	}
	return p
}

// nextLink finds the rel="next" Link and reads its cursor.
func nextLink(hdr http.Header) (Cursor, bool) {
	for _, v := range hdr.Values("Link") {
		for l := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(l), ";")
			if !ok || !strings.Contains(params, `rel="next"`) {
				continue
			}
			u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
			if err != nil {
				continue
			}
			q := u.Query()
			since, err1 := strconv.ParseUint(q.Get("since"), 10, 64)
			epoch, err2 := strconv.ParseUint(q.Get("epoch"), 10, 64)
			if err1 == nil && err2 == nil {
				return Cursor{Since: since, Epoch: epoch}, true
			}
		}
	}
	return Cursor{}, false
}

// signedCall sends a request signed with the device secret and decodes a
// 2xx JSON answer into out; other answers become *APIError. It returns the
// response headers.
func (c *Client) signedCall(ctx context.Context, st State, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.Server+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", sdkproto.HTTPAuthHeader(st.Secret, method, req.URL.RequestURI(), time.Now().Unix()))
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(e) //nolint:errcheck // status is enough
		return nil, e
	}
	if out == nil {
		return resp.Header, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	return resp.Header, nil
}

// Update changes the device's registration over HTTP, signed with the
// device secret. A nil field is left as it is; Alias "" removes the alias
// and an empty Tags removes every tag. Tokens sets the token of each vendor
// it names, and a token "" removes that vendor's.
type Update struct {
	Alias    *string           `json:"alias,omitempty"`
	Tags     *[]string         `json:"tags,omitempty"`
	Tokens   map[string]string `json:"tokens,omitempty"`
	Locale   *string           `json:"locale,omitempty"`
	TimeZone *string           `json:"time_zone,omitempty"`
}

// Registered is the device as the server stores it after an Update; its
// vendor tokens by vendor name only.
type Registered struct {
	DeviceID string   `json:"device_id"`
	AppID    string   `json:"app_id"`
	Platform string   `json:"platform"`
	Alias    string   `json:"alias"`
	Tags     []string `json:"tags"`
	Vendors  []string `json:"vendors"`
	Locale   string   `json:"locale"`
	TimeZone string   `json:"time_zone"`
}

// Delete removes the device's registration (DELETE /v1/devices/{id}), for
// an app that is uninstalled or whose user leaves for good. The server
// forgets the device and ends its session with 4500, so stop Run first
// (otherwise it returns that code as *sdkproto.PeerError). On success the
// state loses its device id, secret and position (OnState is called): the
// client is as one never registered, and Register gives it a new device.
func (c *Client) Delete(ctx context.Context) error {
	st := c.State()
	if st.DeviceID == "" || len(st.Secret) == 0 {
		return ErrNotRegistered
	}
	path := "/v1/devices/" + url.PathEscape(st.DeviceID)
	if _, err := c.signedCall(ctx, st, http.MethodDelete, path, nil, nil); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	c.mu.Lock()
	if c.state.DeviceID == st.DeviceID {
		c.state = State{}
	}
	now := c.state
	c.mu.Unlock()
	c.persist(now)
	return nil
}

// Update applies u to the device's registration (PATCH /v1/devices/{id})
// and returns the registration as stored. The server's refusals are
// *APIError (422 for a value beyond registration's limits).
func (c *Client) Update(ctx context.Context, u Update) (Registered, error) {
	st := c.State()
	if st.DeviceID == "" || len(st.Secret) == 0 {
		return Registered{}, ErrNotRegistered
	}
	var out Registered
	path := "/v1/devices/" + url.PathEscape(st.DeviceID)
	if _, err := c.signedCall(ctx, st, http.MethodPatch, path, u, &out); err != nil {
		return Registered{}, fmt.Errorf("update: %w", err)
	}
	return out, nil
}
