package mongostore

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// In CountInc mode an engagement is a marker document without counts and
// a $inc of the push, which also works on a push written before opened
// and clicked existed. The calls run one after another: FerretDB's $inc
// is not atomic (see TestCountInc).
func TestEngagementsCountInc(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Counts: CountInc})
	ctx := t.Context()
	p := &store.Push{ID: ids.New(), AppID: "a", State: store.PushPending}
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	// The push as an earlier version wrote it: ten counters.
	_, err = s.pushes.UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "counts.opened", Value: ""}, {Key: "counts.clicked", Value: ""}}}})
	require.NoError(t, err)
	require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{Acked: 2}))

	for _, c := range []struct {
		device, kind string
		want         bool
	}{
		{"d1", store.EngagementOpen, true},
		{"d1", store.EngagementOpen, false},
		{"d1", store.EngagementClick, true},
		{"d1", store.EngagementClick, false},
		{"d2", store.EngagementOpen, true},
	} {
		counted, err := s.CountEngagement(ctx, p.ID, c.device, c.kind)
		require.NoError(t, err)
		require.Equal(t, c.want, counted, "%s by %s", c.kind, c.device)
	}
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Acked: 2, Opened: 2, Clicked: 1}, got.Counts)

	var marker bson.M
	require.NoError(t, s.counts.FindOne(ctx, bson.D{{Key: "_id", Value: p.ID + "/open/d1"}}).Decode(&marker))
	require.Equal(t, p.ID, marker["push_id"])
	require.NotContains(t, marker, "counts", "a marker carries no counts")

	_, err = s.CountEngagement(ctx, "missing", "d1", store.EngagementOpen)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.CountEngagement(ctx, p.ID, "d3", "share")
	require.Error(t, err)
	n, err := s.counts.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "no marker for an unknown push or kind")
}

// In CountDeltas mode the engagement's document is its delta: one insert
// both remembers the report and counts it.
func TestEngagementsCountDeltas(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Counts: CountDeltas})
	ctx := t.Context()
	p := &store.Push{ID: ids.New(), AppID: "a", State: store.PushPending}
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	counted, err := s.CountEngagement(ctx, p.ID, "d1", store.EngagementClick)
	require.NoError(t, err)
	require.True(t, counted)
	var d countDeltaDoc
	require.NoError(t, s.counts.FindOne(ctx, bson.D{{Key: "_id", Value: p.ID + "/click/d1"}}).Decode(&d))
	require.Equal(t, countDeltaDoc{ID: p.ID + "/click/d1", PushID: p.ID, Counts: countsDoc{"clicked": 1}}, d)
	counted, err = s.CountEngagement(ctx, p.ID, "d1", store.EngagementClick)
	require.NoError(t, err)
	require.False(t, counted)
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Clicked: 1}, got.Counts)
	var raw struct {
		Counts countsDoc `bson:"counts"`
	}
	require.NoError(t, s.pushes.FindOne(ctx, bson.D{{Key: "_id", Value: p.ID}}).Decode(&raw))
	require.Zero(t, raw.Counts["clicked"], "the push document is not written")
}
