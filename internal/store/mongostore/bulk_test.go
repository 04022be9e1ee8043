package mongostore

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/tiered"
)

var _ tiered.BulkWriter = (*Store)(nil)

// TestRaced: a bulk write is retried only for the upserts that failed on a
// duplicate key, and only when nothing else failed. The behaviour shared
// with the other BulkWriters (alias index, duplicates, empty batch) is
// checked by tiered's TestBulkWriter.
func TestRaced(t *testing.T) {
	t.Parallel()
	a, b := mongo.NewReplaceOneModel(), mongo.NewReplaceOneModel()
	dup := func(m mongo.WriteModel) mongo.BulkWriteError {
		return mongo.BulkWriteError{WriteError: mongo.WriteError{Code: 11000}, Request: m}
	}
	tests := []struct {
		name string
		err  error
		want []mongo.WriteModel
	}{
		{"no error", nil, nil},
		{"other error", errors.New("boom"), nil},
		{"duplicates", mongo.BulkWriteException{WriteErrors: []mongo.BulkWriteError{dup(a), dup(b)}}, []mongo.WriteModel{a, b}},
		{"duplicate and other", mongo.BulkWriteException{WriteErrors: []mongo.BulkWriteError{
			dup(a), {WriteError: mongo.WriteError{Code: 2}, Request: b},
		}}, nil},
		{"write concern", mongo.BulkWriteException{WriteErrors: []mongo.BulkWriteError{dup(a)},
			WriteConcernError: &mongo.WriteConcernError{Code: 64}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, raced(tt.err))
		})
	}
}

// TestPutDevicesReplacesMany: replacing more existing devices in one call
// than FerretDB can replace in one command (see ferretBulkMax) works.
func TestPutDevicesReplacesMany(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	require.Equal(t, ferretBulkMax, s.bulkMax, "the test server is FerretDB")
	ctx := t.Context()
	devs := make([]*store.Device, 150)
	idList := make([]string, len(devs))
	for i := range devs {
		devs[i] = &store.Device{ID: ids.New(), AppID: "a", Alias: "u"}
		idList[i] = devs[i].ID
	}
	require.NoError(t, s.PutDevices(ctx, devs))
	seen := time.UnixMilli(time.Now().UnixMilli()).UTC()
	for _, d := range devs {
		d.LastSeen = seen
	}
	require.NoError(t, s.PutDevices(ctx, devs))
	got, err := s.Devices(ctx, idList)
	require.NoError(t, err)
	require.Equal(t, devs, got)
}
