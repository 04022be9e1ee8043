package node

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/client"
)

// syncMsg is one message of a sync answer.
type syncMsg struct {
	Seq       uint64            `json:"seq"`
	PushID    string            `json:"push_id"`
	Title     string            `json:"title"`
	Body      string            `json:"body"`
	Data      map[string]string `json:"data"`
	SentAt    time.Time         `json:"sent_at"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// syncAnswer is a JSON answer of GET /v1/devices/{id}/messages with the
// links of its Link headers by rel.
type syncAnswer struct {
	Epoch     uint64    `json:"epoch"`
	Head      uint64    `json:"head"`
	Recovered bool      `json:"recovered"`
	More      bool      `json:"more"`
	Messages  []syncMsg `json:"messages"`
	links     map[string]string
}

// httpDevice is a registered device that talks to the HTTP sync endpoints
// directly, signing as the protocol says.
type httpDevice struct {
	t      testing.TB
	base   string
	id     string
	secret []byte
}

func newHTTPDevice(t testing.TB, base, appKey string) httpDevice {
	t.Helper()
	d := newDevice(t, base, appKey, client0())
	d.register("")
	st := d.c.State()
	return httpDevice{t: t, base: base, id: st.DeviceID, secret: st.Secret}
}

func (d httpDevice) messagesPath() string { return "/v1/devices/" + d.id + "/messages" }

// send makes a request to target (path and query), signed with secret at
// ts unless auth is false.
func (d httpDevice) send(method, target string, body string, hdr http.Header, secret []byte, ts time.Time, auth bool) *http.Response {
	d.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.base+target, rd)
	require.NoError(d.t, err)
	require.Equal(d.t, target, req.URL.RequestURI(), "the target goes on the wire as given")
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", sdkproto.HTTPAuthHeader(secret, method, target, ts.Unix()))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(d.t, err)
	return resp
}

// get reads one page at target and checks it is a JSON answer.
func (d httpDevice) get(target string) syncAnswer {
	d.t.Helper()
	resp := d.send(http.MethodGet, target, "", nil, d.secret, time.Now(), true)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	require.Equal(d.t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.Equal(d.t, "application/json", resp.Header.Get("Content-Type"))
	var a syncAnswer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(d.t, dec.Decode(&a), "%s", raw)
	require.NotNil(d.t, a.Messages, "messages is an array, never null")
	a.links = parseLinks(d.t, resp.Header.Values("Link"))
	return a
}

// ack posts an ack and returns the status and the decoded body.
func (d httpDevice) ack(seq, epoch uint64) (int, map[string]any) {
	d.t.Helper()
	body := fmt.Sprintf(`{"seq":%d,"epoch":%d}`, seq, epoch)
	resp := d.send(http.MethodPost, "/v1/devices/"+d.id+"/acks", body, nil, d.secret, time.Now(), true)
	return decodeBody(d.t, resp)
}

// ndjson reads target as ndjson and returns the messages and the headers.
func (d httpDevice) ndjson(target string) ([]syncMsg, http.Header) {
	d.t.Helper()
	resp := d.send(http.MethodGet, target, "", http.Header{"Accept": {"application/x-ndjson"}}, d.secret, time.Now(), true)
	defer resp.Body.Close()
	require.Equal(d.t, http.StatusOK, resp.StatusCode)
	require.Equal(d.t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	var out []syncMsg
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m syncMsg
		require.NoError(d.t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		out = append(out, m)
	}
	require.NoError(d.t, sc.Err())
	return out, resp.Header
}

func decodeBody(t testing.TB, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	out := map[string]any{}
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	if resp.StatusCode >= 400 {
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out
}

// parseLinks maps each rel of Link headers of the form <target>; rel="x"
// to its target.
func parseLinks(t testing.TB, values []string) map[string]string {
	t.Helper()
	links := map[string]string{}
	for _, v := range values {
		for l := range strings.SplitSeq(v, ",") {
			target, rel, ok := strings.Cut(strings.TrimSpace(l), "; ")
			require.True(t, ok, "link %q", l)
			require.True(t, strings.HasPrefix(target, "<") && strings.HasSuffix(target, ">"), "link %q", l)
			rel, ok = strings.CutPrefix(rel, "rel=")
			require.True(t, ok, "link %q", l)
			links[strings.Trim(rel, `"`)] = strings.Trim(target, "<>")
		}
	}
	return links
}

// pushMany sends n pushes to one device, one request each, and returns
// their ids.
func pushMany(a api, app appCreds, deviceID string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = a.push(app, map[string]any{"audience": toDevices(deviceID),
			"notification": map[string]any{"title": fmt.Sprintf("n%d", i), "body": "b", "data": map[string]string{"i": strconv.Itoa(i)}}})
	}
	return ids
}

// waitHead waits until the device's stream holds n messages.
func (d httpDevice) waitHead(n uint64) {
	d.t.Helper()
	waitFor(d.t, 30*time.Second, "stream head", func() bool { return d.get(d.messagesPath()+"?limit=1").Head == n })
}

// requireConsecutive checks that msgs have seqs from, from+1, … in order.
func requireConsecutive(t testing.TB, msgs []syncMsg, from uint64) {
	t.Helper()
	for i, m := range msgs {
		require.Equal(t, from+uint64(i), m.Seq, "message %d", i)
	}
}

// TestHTTPSync walks a device that never connects through its stream over
// HTTP: pages and links, ndjson, a lost epoch, acks and every refusal.
func TestHTTPSync(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "sync")
	d := newHTTPDevice(t, n.URL(), app.key)
	pushIDs := pushMany(a, app, d.id, 250)
	d.waitHead(250)

	var all []syncMsg
	var epoch uint64
	bySeq := map[uint64]string{}
	t.Run("pages", func(t *testing.T) {
		target := d.messagesPath() + "?limit=100"
		for pages := 1; ; pages++ {
			require.LessOrEqual(t, pages, 3)
			p := d.get(target)
			require.True(t, p.Recovered)
			require.EqualValues(t, 250, p.Head)
			require.NotZero(t, p.Epoch)
			if epoch == 0 {
				epoch = p.Epoch
			}
			require.Equal(t, epoch, p.Epoch)
			require.Equal(t, fmt.Sprintf("%s?since=150&epoch=%d&limit=100", d.messagesPath(), epoch), p.links["last"])
			all = append(all, p.Messages...)
			next, ok := p.links["next"]
			require.Equal(t, p.More, ok, "a next link exactly when more")
			if !ok {
				break
			}
			require.Equal(t, fmt.Sprintf("%s?since=%d&epoch=%d&limit=100", d.messagesPath(), all[len(all)-1].Seq, epoch), next)
			target = next
		}
		require.Len(t, all, 250)
		requireConsecutive(t, all, 1)
		var got []string
		for _, m := range all {
			got = append(got, m.PushID)
			bySeq[m.Seq] = m.PushID
			require.Equal(t, "b", m.Body)
			require.Equal(t, "n"+m.Data["i"], m.Title)
			require.False(t, m.SentAt.IsZero())
			require.False(t, m.ExpiresAt.IsZero(), "pushes have a TTL")
		}
		require.ElementsMatch(t, pushIDs, got)
	})

	t.Run("last link", func(t *testing.T) {
		p := d.get(fmt.Sprintf("%s?since=150&epoch=%d&limit=100", d.messagesPath(), epoch))
		require.False(t, p.More)
		require.Len(t, p.Messages, 100)
		requireConsecutive(t, p.Messages, 151)
		require.NotContains(t, p.links, "next")
	})

	t.Run("ndjson", func(t *testing.T) {
		msgs, h := d.ndjson(d.messagesPath())
		require.Len(t, msgs, 250)
		requireConsecutive(t, msgs, 1)
		require.Equal(t, strconv.FormatUint(epoch, 10), h.Get("Mopush-Epoch"))
		require.Equal(t, "250", h.Get("Mopush-Head"))
		require.Equal(t, "true", h.Get("Mopush-Recovered"))
		for i, m := range msgs {
			require.Equal(t, all[i].PushID, m.PushID)
		}
		msgs, h = d.ndjson(fmt.Sprintf("%s?since=200&epoch=%d", d.messagesPath(), epoch))
		require.Len(t, msgs, 50)
		requireConsecutive(t, msgs, 201)
		require.Equal(t, "true", h.Get("Mopush-Recovered"))
		msgs, h = d.ndjson(fmt.Sprintf("%s?since=200&epoch=%d", d.messagesPath(), epoch+1))
		require.Len(t, msgs, 250)
		require.Equal(t, "false", h.Get("Mopush-Recovered"))
	})

	t.Run("wrong epoch", func(t *testing.T) {
		p := d.get(fmt.Sprintf("%s?since=100&epoch=%d&limit=10", d.messagesPath(), epoch+1))
		require.False(t, p.Recovered)
		require.Equal(t, epoch, p.Epoch, "the stream's epoch")
		require.Len(t, p.Messages, 10)
		requireConsecutive(t, p.Messages, 1)
		require.Equal(t, fmt.Sprintf("%s?since=10&epoch=%d&limit=10", d.messagesPath(), epoch), p.links["next"])
	})

	t.Run("sdk", func(t *testing.T) {
		c := client.New(client.Config{Server: n.URL()}, client.State{DeviceID: d.id, Secret: d.secret})
		var seqs []uint64
		cur := client.Cursor{}
		for range 4 {
			p, err := c.Messages(t.Context(), cur.Since, cur.Epoch, 100)
			require.NoError(t, err)
			require.True(t, p.Recovered)
			for _, m := range p.Pushes {
				seqs = append(seqs, m.Seq)
				require.Equal(t, bySeq[m.Seq], m.ID)
			}
			cur = p.Next
			if !p.More {
				break
			}
		}
		require.Len(t, seqs, 250)
		require.Equal(t, client.Cursor{Since: 250, Epoch: epoch}, cur)
	})

	t.Run("ack", func(t *testing.T) {
		code, out := d.ack(100, epoch)
		require.Equal(t, http.StatusOK, code, "%v", out)
		require.Equal(t, float64(100), out["acked"])
		// The counts are written with the gateway's next flush (100 ms).
		ackedOnce := func(seq uint64) func() bool {
			return func() bool { return a.counts(app, bySeq[seq])["acked"] == 1 }
		}
		waitFor(t, 10*time.Second, "acks counted", ackedOnce(1))
		waitFor(t, 10*time.Second, "acks counted", ackedOnce(100))
		require.Equal(t, float64(0), a.counts(app, bySeq[101])["acked"])

		code, out = d.ack(100, epoch)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, float64(0), out["acked"], "acks are cumulative: nothing new")

		c := client.New(client.Config{Server: n.URL()}, client.State{DeviceID: d.id, Secret: d.secret})
		require.NoError(t, c.AckHTTP(t.Context(), 150, epoch))
		waitFor(t, 10*time.Second, "acks counted", ackedOnce(150))
		require.Equal(t, float64(0), a.counts(app, bySeq[151])["acked"])
		require.Equal(t, float64(1), a.counts(app, bySeq[1])["acked"], "counted once")
		// The gateway's histogram of ack delays saw each of the 150 once.
		resp, err := http.Get(n.URL() + "/metrics")
		require.NoError(t, err)
		metrics, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Contains(t, string(metrics), "\npush_gateway_ack_delay_seconds_count 150\n")
	})

	t.Run("stale epoch", func(t *testing.T) {
		code, out := d.ack(200, epoch+1)
		require.Equal(t, http.StatusConflict, code)
		require.Equal(t, "https://mopush.dev/problems/stale-epoch", out["type"])
		require.Equal(t, float64(0), a.counts(app, bySeq[200])["acked"])
	})

	t.Run("bad query", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=501", "limit=x", "since=-1", "since=abc", "epoch=1.5"} {
			resp := d.send(http.MethodGet, d.messagesPath()+"?"+q, "", nil, d.secret, time.Now(), true)
			code, out := decodeBody(t, resp)
			require.Equal(t, http.StatusBadRequest, code, q)
			require.Equal(t, "https://mopush.dev/problems/bad-query", out["type"], q)
		}
	})

	t.Run("unauthorized", func(t *testing.T) {
		other := newHTTPDevice(t, n.URL(), app.key)
		target := d.messagesPath() + "?limit=1"
		now := time.Now()
		badSig := func() *http.Response {
			req, err := http.NewRequest(http.MethodGet, d.base+target, nil)
			require.NoError(t, err)
			// Signed over another target: well-formed, wrong.
			req.Header.Set("Authorization", sdkproto.HTTPAuthHeader(d.secret, http.MethodGet, target+"0", now.Unix()))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			return resp
		}
		for name, send := range map[string]func() *http.Response{
			"no header":     func() *http.Response { return d.send(http.MethodGet, target, "", nil, nil, now, false) },
			"bad signature": badSig,
			"unknown device": func() *http.Response {
				return d.send(http.MethodGet, "/v1/devices/NOSUCHDEVICE/messages", "", nil, d.secret, now, true)
			},
			"ten minutes old": func() *http.Response {
				return d.send(http.MethodGet, target, "", nil, d.secret, now.Add(-10*time.Minute), true)
			},
			"other device's secret": func() *http.Response {
				return d.send(http.MethodGet, target, "", nil, other.secret, now, true)
			},
			"ack with other device's secret": func() *http.Response {
				return d.send(http.MethodPost, "/v1/devices/"+d.id+"/acks", `{"seq":250,"epoch":1}`, nil, other.secret, now, true)
			},
		} {
			code, out := decodeBody(t, send())
			require.Equal(t, http.StatusUnauthorized, code, name)
			require.Equal(t, "https://mopush.dev/problems/unauthorized", out["type"], name)
		}
		require.Equal(t, float64(0), a.counts(app, bySeq[250])["acked"])
	})
}

// TestHTTPSyncTrimmed reads a stream whose oldest messages were trimmed:
// a cursor before them is answered from the oldest retained one with
// recovered false.
func TestHTTPSyncTrimmed(t *testing.T) {
	n, _ := startNodeWith(t, Options{}, func(c *config.Config) { c.Store.MaxStreamLen = 50 })
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "trim")
	d := newHTTPDevice(t, n.URL(), app.key)
	pushMany(a, app, d.id, 60)
	d.waitHead(60)

	first := d.get(d.messagesPath() + "?limit=10")
	epoch := first.Epoch
	for _, since := range []uint64{0, 5, 9} {
		p := d.get(fmt.Sprintf("%s?since=%d&epoch=%d&limit=10", d.messagesPath(), since, epoch))
		require.False(t, p.Recovered, "since=%d", since)
		require.Equal(t, epoch, p.Epoch)
		requireConsecutive(t, p.Messages, 11)
		require.Len(t, p.Messages, 10)
	}
	p := d.get(fmt.Sprintf("%s?since=10&epoch=%d&limit=100", d.messagesPath(), epoch))
	require.True(t, p.Recovered, "nothing after seq 10 is missing")
	require.Len(t, p.Messages, 50)
	requireConsecutive(t, p.Messages, 11)

	msgs, h := d.ndjson(fmt.Sprintf("%s?since=3&epoch=%d", d.messagesPath(), epoch))
	require.Equal(t, "false", h.Get("Mopush-Recovered"))
	require.Equal(t, "60", h.Get("Mopush-Head"))
	require.Len(t, msgs, 50)
	requireConsecutive(t, msgs, 11)
}
