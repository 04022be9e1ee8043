package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
)

type deviceRequest struct {
	AppKey   string            `json:"app_key"`
	Platform string            `json:"platform"`
	Alias    string            `json:"alias"`
	Tags     []string          `json:"tags"`
	Tokens   map[string]string `json:"tokens"`
	Locale   string            `json:"locale"`
	TimeZone string            `json:"time_zone"`
}

type deviceResponse struct {
	DeviceID     string `json:"device_id"`
	DeviceSecret string `json:"device_secret"`
	AppID        string `json:"app_id"`
	// ConnectorURL is the WebSocket URL of the connector that owns the
	// new device on the ring now, so that its first connect needs no
	// dispatch request; absent while no connector is on the ring.
	ConnectorURL string `json:"connector_url,omitempty"`
}

// Limits on device fields.
const (
	maxAliasLen = 128
	maxTags     = 32
	maxTagLen   = 64
	maxTokenLen = 4096
)

func (g *Gateway) registerDevice(w http.ResponseWriter, r *http.Request) error {
	var req deviceRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.AppKey == "" {
		return errBadAppKey()
	}
	app, err := g.apps.get(r.Context(), g.store, req.AppKey)
	if errors.Is(err, store.ErrNotFound) {
		return errBadAppKey()
	}
	if err != nil {
		return fmt.Errorf("load app: %w", err)
	}
	if err := validateDevice(&req); err != nil {
		return err
	}
	now := time.Now().UTC()
	secret := ids.Secret(32)
	d := &store.Device{
		ID: ids.New(), AppID: app.ID, Secret: secret, Platform: req.Platform, Alias: req.Alias,
		Tags: req.Tags, Tokens: req.Tokens, Locale: req.Locale, TimeZone: req.TimeZone,
		CreatedAt: now, LastSeen: now,
	}
	if err := g.store.PutDevice(r.Context(), d); err != nil {
		return fmt.Errorf("store device: %w", err)
	}
	out := deviceResponse{DeviceID: d.ID, DeviceSecret: base64.RawURLEncoding.EncodeToString(secret), AppID: app.ID}
	if g.ring != nil {
		if n, ok := g.ring.Ring().Owner(d.ID); ok {
			out.ConnectorURL = n.WSURL
		}
	}
	return httpx.WriteJSON(w, http.StatusCreated, out)
}

func validateDevice(req *deviceRequest) error {
	switch {
	case len(req.Alias) > maxAliasLen:
		return errInvalid("invalid-device", "Invalid device", fmt.Sprintf("alias longer than %d bytes", maxAliasLen))
	case len(req.Tags) > maxTags:
		return errInvalid("invalid-device", "Invalid device", fmt.Sprintf("more than %d tags", maxTags))
	case len(req.Platform) > 32 || len(req.Locale) > 35 || len(req.TimeZone) > 64:
		return errInvalid("invalid-device", "Invalid device", "platform, locale or time_zone too long")
	}
	for _, t := range req.Tags {
		if t == "" || len(t) > maxTagLen {
			return errInvalid("invalid-device", "Invalid device", fmt.Sprintf("tags must be 1 to %d bytes", maxTagLen))
		}
	}
	for v, t := range req.Tokens {
		if len(v) > 32 || len(t) > maxTokenLen {
			return errInvalid("invalid-device", "Invalid device", "vendor token too long")
		}
	}
	return nil
}

// deviceUpdate is the body of PATCH /v1/devices/{id}: every field given
// replaces the device's; a field absent (or null) leaves it as it is.
type deviceUpdate struct {
	// Alias "" removes the alias.
	Alias *string `json:"alias"`
	// Tags replace the device's tags; [] removes them all.
	Tags *[]string `json:"tags"`
	// Tokens sets the token of each vendor named; "" removes that
	// vendor's token. Vendors not named keep theirs.
	Tokens   map[string]string `json:"tokens"`
	Locale   *string           `json:"locale"`
	TimeZone *string           `json:"time_zone"`
}

// deviceView is a device as the update's answer shows it: its vendor
// tokens by vendor name only.
type deviceView struct {
	DeviceID  string    `json:"device_id"`
	AppID     string    `json:"app_id"`
	Platform  string    `json:"platform,omitempty"`
	Alias     string    `json:"alias,omitempty"`
	Tags      []string  `json:"tags"`
	Vendors   []string  `json:"vendors"`
	Locale    string    `json:"locale,omitempty"`
	TimeZone  string    `json:"time_zone,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func viewOf(d *store.Device) deviceView {
	v := deviceView{DeviceID: d.ID, AppID: d.AppID, Platform: d.Platform, Alias: d.Alias,
		Tags: append([]string{}, d.Tags...), Vendors: slices.Sorted(maps.Keys(d.Tokens)),
		Locale: d.Locale, TimeZone: d.TimeZone, CreatedAt: d.CreatedAt}
	if v.Vendors == nil {
		v.Vendors = []string{}
	}
	return v
}

// check validates the update with registration's limits; a token "" is
// allowed (it removes one), a vendor name "" is not.
func (u *deviceUpdate) check() error {
	req := deviceRequest{Tokens: u.Tokens}
	if u.Alias != nil {
		req.Alias = *u.Alias
	}
	if u.Tags != nil {
		req.Tags = *u.Tags
	}
	if u.Locale != nil {
		req.Locale = *u.Locale
	}
	if u.TimeZone != nil {
		req.TimeZone = *u.TimeZone
	}
	if _, ok := u.Tokens[""]; ok {
		return errInvalid("invalid-device", "Invalid device", "a vendor token needs a vendor name")
	}
	return validateDevice(&req)
}

// applyTo returns d with the update applied, and whether anything changed.
// d itself is left alone.
func (u *deviceUpdate) applyTo(d *store.Device) (*store.Device, bool) {
	n := *d
	if u.Alias != nil {
		n.Alias = *u.Alias
	}
	if u.Tags != nil {
		n.Tags = slices.Clone(*u.Tags)
		if len(n.Tags) == 0 {
			n.Tags = nil
		}
	}
	if u.Locale != nil {
		n.Locale = *u.Locale
	}
	if u.TimeZone != nil {
		n.TimeZone = *u.TimeZone
	}
	if len(u.Tokens) > 0 {
		n.Tokens = maps.Clone(d.Tokens)
		if n.Tokens == nil {
			n.Tokens = map[string]string{}
		}
		for v, t := range u.Tokens {
			if t == "" {
				delete(n.Tokens, v)
			} else {
				n.Tokens[v] = t
			}
		}
		if len(n.Tokens) == 0 {
			n.Tokens = nil
		}
	}
	changed := n.Alias != d.Alias || !slices.Equal(n.Tags, d.Tags) || n.Locale != d.Locale ||
		n.TimeZone != d.TimeZone || !maps.Equal(n.Tokens, d.Tokens)
	return &n, changed
}

// updateDevice changes a registration: its alias, tags, vendor tokens,
// locale or time zone. The device signs the request itself (as for the
// sync endpoints), or a backend sends it with its app's Basic credentials;
// a device of another app is not found. The answer shows the device as
// stored.
func (g *Gateway) updateDevice(w http.ResponseWriter, r *http.Request) error {
	dev, err := g.namedDevice(r)
	if err != nil {
		return err
	}
	var u deviceUpdate
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &u); err != nil {
		return err
	}
	if err := u.check(); err != nil {
		return err
	}
	// The store applies the update to the device as stored when it
	// writes, so a report or a token removal that lands meanwhile is kept.
	n, err := g.store.UpdateDevice(r.Context(), dev.ID, func(d *store.Device) bool {
		n, changed := u.applyTo(d)
		*d = *n
		return changed
	})
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("device") // deleted since the request was authenticated
	}
	if err != nil {
		return fmt.Errorf("update device: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusOK, viewOf(n))
}

// getDevice shows a registration as stored, to the device itself (signed
// as for the sync endpoints) or to its app's backend (Basic credentials).
func (g *Gateway) getDevice(w http.ResponseWriter, r *http.Request) error {
	dev, err := g.namedDevice(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, viewOf(dev))
}

// maxListedDevices bounds the devices GET /v1/devices answers with.
const maxListedDevices = 1000

// deviceList is the answer of GET /v1/devices.
type deviceList struct {
	Devices []deviceView `json:"devices"`
	// More says that the alias has more devices than the answer holds.
	More bool `json:"more"`
}

// listDevices answers an app's backend with its devices that have an
// alias (GET /v1/devices?alias=...): the devices of one user, sorted by
// id, at most maxListedDevices.
func (g *Gateway) listDevices(w http.ResponseWriter, r *http.Request) error {
	app, err := g.authApp(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	alias := q.Get("alias")
	switch {
	case len(q["alias"]) != 1 || alias == "":
		return errBadQuery("alias is required, once")
	case len(alias) > maxAliasLen:
		return errBadQuery(fmt.Sprintf("alias longer than %d bytes", maxAliasLen))
	}
	for k := range q {
		if k != "alias" {
			return errBadQuery(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	idList, err := g.store.DeviceIDsByAlias(r.Context(), app.ID, []string{alias})
	if err != nil {
		return fmt.Errorf("find devices by alias: %w", err)
	}
	slices.Sort(idList)
	out := deviceList{Devices: []deviceView{}}
	if len(idList) > maxListedDevices {
		idList, out.More = idList[:maxListedDevices], true
	}
	devs, err := g.store.Devices(r.Context(), idList)
	if err != nil {
		return fmt.Errorf("load devices: %w", err)
	}
	for _, d := range devs {
		// The index may name a device that moved or went meanwhile.
		if d != nil && d.AppID == app.ID && d.Alias == alias {
			out.Devices = append(out.Devices, viewOf(d))
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, &out)
}

// disconnectTimeout bounds the calls that tell the connectors of a
// deletion.
const disconnectTimeout = 5 * time.Second

// deleteDevice removes a registration, for the device itself (an app
// uninstalling or signing out for good) or its app's backend (a user who
// closed their account). The record and its alias entry go first, so no
// push can name the device and no handshake can prove it; then every
// connector ends the device's live session, with code 4500; last the
// device's stream goes, with what was sent to it. The deletion is done
// once the record is gone: a stream that cannot be dropped then is logged
// and stays (docs/decisions.md).
func (g *Gateway) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	dev, err := g.namedDevice(r)
	if err != nil {
		return err
	}
	if err := g.store.DeleteDevice(r.Context(), dev.ID); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	g.owners.forget(dev.ID)
	g.disconnect(r.Context(), dev.ID)
	if sd, ok := g.store.(store.StreamDropper); ok {
		if err := sd.DropStream(context.WithoutCancel(r.Context()), dev.ID); err != nil {
			g.log.WarnContext(r.Context(), "the stream of a deleted device was not dropped", "device_id", dev.ID, "error", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// disconnect asks every connector on the ring to end the session of a
// deleted device. A connector that cannot be told keeps the session until
// it ends; the device cannot start another.
func (g *Gateway) disconnect(ctx context.Context, id string) {
	if g.ring == nil || g.deliver == nil {
		return // a gateway without connectors (tests)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range g.ring.Ring().Nodes() {
		wg.Go(func() {
			if _, err := g.deliver.Disconnect(ctx, n, route.Disconnect{DeviceIDs: []string{id}}); err != nil {
				g.log.WarnContext(ctx, "telling a connector of a deleted device failed", "node_id", n.ID, "device_id", id, "error", err)
			}
		})
	}
	wg.Wait()
}

// namedDevice authenticates a request about one device and returns the
// device its path names: Basic credentials are an app's, any other scheme
// a device signature. Another app's device is not found.
func (g *Gateway) namedDevice(r *http.Request) (*store.Device, error) {
	if _, _, basic := r.BasicAuth(); !basic {
		return g.authDevice(r)
	}
	app, err := g.authApp(r)
	if err != nil {
		return nil, err
	}
	devs, err := g.store.Devices(r.Context(), []string{r.PathValue("id")})
	if err != nil {
		return nil, fmt.Errorf("load device: %w", err)
	}
	if devs[0] == nil || devs[0].AppID != app.ID {
		return nil, errNotFound("device")
	}
	return devs[0], nil
}
