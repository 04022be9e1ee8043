package mongostore

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// TestCodecKeepsEveryField fills every field of the stored types and checks
// that the documents give them all back, so a field added to a store type
// fails here instead of being dropped silently.
func TestCodecKeepsEveryField(t *testing.T) {
	t.Parallel()
	var a store.App
	fill(reflect.ValueOf(&a).Elem())
	require.Equal(t, a, *toAppDoc(&a).app())

	var d store.Device
	fill(reflect.ValueOf(&d).Elem())
	require.Equal(t, d, *toDeviceDoc(&d).device())

	var p store.Push
	fill(reflect.ValueOf(&p).Elem())
	want := p
	want.State, want.Counts = store.PushPending, store.Counts{}
	require.Equal(t, want, *toPushDoc(&p).push(), "a new push is pending with zero counts")

	var c store.Campaign
	fill(reflect.ValueOf(&c).Elem())
	require.Equal(t, c, *toCampaignDoc(&c).campaign())

	var u store.User
	fill(reflect.ValueOf(&u).Elem())
	require.Equal(t, u, *toUserDoc(&u).user(), "the email is in lower case already")
}

// fill sets every field of v to a value that is not zero.
func fill(v reflect.Value) {
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.UnixMilli(1_700_000_000_123).UTC()))
		return
	case time.Duration:
		v.SetInt(int64(3 * time.Second))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}
