package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// Bounds of GET /v1/pushes.
const (
	defaultListedPushes = 20
	maxListedPushes     = 100
	// maxScannedPushes bounds the pushes one request reads when a state
	// filter skips most of them; the answer then ends early with a next
	// cursor.
	maxScannedPushes = 1000
)

type pushList struct {
	Pushes []pushView `json:"pushes"`
	// Next is the before cursor of the next page; empty on the last.
	Next string `json:"next,omitempty"`
}

// listPushes lists the app's pushes, newest first, optionally only those
// in one state, in pages: ?state=scheduled&limit=20&before=<push id>.
func (g *Gateway) listPushes(w http.ResponseWriter, r *http.Request) error {
	app, err := g.authApp(r)
	if err != nil {
		return err
	}
	state, before, limit, err := listQuery(r)
	if err != nil {
		return err
	}
	lister, ok := g.store.(store.PushLister)
	if !ok {
		return errUnsupportedList()
	}
	ctx := r.Context()
	out := pushList{Pushes: []pushView{}}
	cursor, scanned, last := before, 0, false
	for len(out.Pushes) < limit && !last {
		ask := limit - len(out.Pushes)
		if state != "" {
			ask = maxListedPushes
		}
		if ask = min(ask, maxScannedPushes-scanned); ask <= 0 {
			break // read enough for one request: the client goes on from cursor
		}
		page, err := lister.PushIDsByApp(ctx, app.ID, cursor, ask)
		if errors.Is(err, store.ErrUnsupported) {
			return errUnsupportedList()
		}
		if err != nil {
			return fmt.Errorf("list pushes: %w", err)
		}
		last = len(page) < ask
		for i, id := range page {
			cursor = id
			scanned++
			p, err := g.store.Push(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("load push: %w", err)
			}
			if state != "" && p.State != state {
				continue
			}
			out.Pushes = append(out.Pushes, viewOfPush(p))
			if len(out.Pushes) == limit {
				last = last && i == len(page)-1
				break
			}
		}
	}
	if !last {
		out.Next = cursor
	}
	return httpx.WriteJSON(w, http.StatusOK, &out)
}

// listQuery parses the query of GET /v1/pushes.
func listQuery(r *http.Request) (state, before string, limit int, err error) {
	q := r.URL.Query()
	limit = defaultListedPushes
	for k, v := range q {
		if len(v) != 1 {
			return "", "", 0, errBadQuery(fmt.Sprintf("%s given more than once", k))
		}
		switch k {
		case "state":
			switch state = v[0]; state {
			case store.PushScheduled, store.PushPending, store.PushDone, store.PushCancelled:
			default:
				return "", "", 0, errBadQuery("state must be scheduled, pending, done or cancelled")
			}
		case "before":
			if before = v[0]; before == "" || len(before) > ids.MaxLen {
				return "", "", 0, errBadQuery(fmt.Sprintf("before must be a push id, 1 to %d bytes", ids.MaxLen))
			}
		case "limit":
			n, perr := strconv.Atoi(v[0])
			if perr != nil || n < 1 || n > maxListedPushes {
				return "", "", 0, errBadQuery(fmt.Sprintf("limit must be 1 to %d", maxListedPushes))
			}
			limit = n
		default:
			return "", "", 0, errBadQuery(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	return state, before, limit, nil
}

func errUnsupportedList() error {
	return httpx.Errorf(http.StatusNotImplemented, "list-unsupported", "Listing not supported",
		"this deployment's push store cannot list an app's pushes")
}
