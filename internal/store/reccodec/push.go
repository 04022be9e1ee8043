package reccodec

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/mopush/mopush/internal/store"
)

// PushVersion is the first byte of an encoded push.
const PushVersion = 1

// Flags of an encoded push.
const (
	pushBroadcast   = 1 << 0 // Audience.Broadcast
	pushTargetsSame = 1 << 1 // Targets equal Audience.DeviceIDs and are left out
	pushSendAt      = 1 << 2 // SendAt is set and follows State
	pushTags        = 1 << 3 // Audience.Tags is not empty and follows SendAt
	pushRate        = 1 << 4 // Rate is positive and comes last
	pushFlagsKnown  = pushBroadcast | pushTargetsSame | pushSendAt | pushTags | pushRate
)

// EncodePush returns the binary encoding of p without its counts, which
// the stores keep apart. Layout (version 1): the version byte; a flags
// byte; ID, AppID, Title, Body as uvarint-length-prefixed bytes; the data
// pairs as in a message; the lists of device ids and aliases; the targets,
// unless they are the device ids (the usual case of a push to devices);
// CreatedAt and ExpiresAt; Fingerprint and State; SendAt, only when it is
// set, which the flag pushSendAt tells; the audience's tags, only when there
// are some (flag pushTags); Rate, only when positive (flag pushRate). A push without SendAt (every push
// written before SendAt existed) is encoded as it was; a reader that
// predates the flag rejects a push with it as malformed.
func EncodePush(p *store.Push) []byte {
	n, c := len(p.ID)+len(p.AppID)+len(p.Notification.Title)+len(p.Notification.Body)+len(p.Fingerprint)+len(p.State), 6
	for k, v := range p.Notification.Data {
		n, c = n+len(k)+len(v), c+2
	}
	var flags byte
	if p.Audience.Broadcast {
		flags |= pushBroadcast
	}
	same := len(p.Targets) > 0 && slices.Equal(p.Targets, p.Audience.DeviceIDs)
	if same {
		flags |= pushTargetsSame
	}
	sendAt := !p.SendAt.IsZero()
	if sendAt {
		flags |= pushSendAt
	}
	if len(p.Audience.Tags) > 0 {
		flags |= pushTags
		for _, s := range p.Audience.Tags {
			n += len(s)
		}
		c += len(p.Audience.Tags) + 1
	}
	if p.Rate > 0 {
		flags |= pushRate
		c++
	}
	lists := [][]string{p.Audience.DeviceIDs, p.Audience.Aliases}
	if !same {
		lists = append(lists, p.Targets)
	}
	for _, l := range lists {
		for _, s := range l {
			n, c = n+len(s), c+1
		}
		c++
	}
	b := make([]byte, 2, 2+stringsLen(n, c)+3*timeLen)
	b[0], b[1] = PushVersion, flags
	b = appendString(appendString(b, p.ID), p.AppID)
	b = appendString(appendString(b, p.Notification.Title), p.Notification.Body)
	b = appendPairs(b, p.Notification.Data)
	b = appendList(appendList(b, p.Audience.DeviceIDs), p.Audience.Aliases)
	if !same {
		b = appendList(b, p.Targets)
	}
	b = appendTime(appendTime(b, p.CreatedAt), p.ExpiresAt)
	b = appendString(appendString(b, p.Fingerprint), p.State)
	if sendAt {
		b = appendTime(b, p.SendAt)
	}
	if len(p.Audience.Tags) > 0 {
		b = appendList(b, p.Audience.Tags)
	}
	if p.Rate > 0 {
		b = binary.AppendUvarint(b, uint64(p.Rate))
	}
	return b
}

// DecodePush decodes what EncodePush returned; the counts are zero. It
// never panics; a malformed input is an error.
func DecodePush(b []byte) (*store.Push, error) {
	r, err := newReader(b, "push", PushVersion)
	if err != nil {
		return nil, err
	}
	flags := r.byte()
	if flags&^pushFlagsKnown != 0 {
		return nil, fmt.Errorf("%w: push flags %#x", ErrMalformed, flags)
	}
	p := &store.Push{Audience: store.Audience{Broadcast: flags&pushBroadcast != 0}}
	p.ID, p.AppID = r.string(), r.string()
	p.Notification.Title, p.Notification.Body = r.string(), r.string()
	p.Notification.Data = r.pairs()
	p.Audience.DeviceIDs, p.Audience.Aliases = r.list(), r.list()
	if flags&pushTargetsSame != 0 {
		p.Targets = slices.Clone(p.Audience.DeviceIDs)
	} else {
		p.Targets = r.list()
	}
	p.CreatedAt, p.ExpiresAt = r.time(), r.time()
	p.Fingerprint, p.State = r.string(), r.string()
	if flags&pushSendAt != 0 {
		if p.SendAt = r.time(); p.SendAt.IsZero() {
			r.fail() // the flag is set only with a time
		}
	}
	if flags&pushTags != 0 {
		if p.Audience.Tags = r.list(); len(p.Audience.Tags) == 0 {
			r.fail() // the flag is set only with tags
		}
	}
	if flags&pushRate != 0 {
		if v := r.uvarint(); v == 0 || v > math.MaxInt32 {
			r.fail() // the flag is set only with a rate
		} else {
			p.Rate = int(v)
		}
	}
	if r.err != nil || len(r.s) != 0 {
		return nil, ErrMalformed
	}
	return p, nil
}
