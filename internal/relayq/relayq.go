// Package relayq is the durable queue between routing and the vendor
// relay: a JetStream work-queue stream with two kinds of jobs. A fallback
// job is scheduled for every target when it is routed, due at once for an
// offline device or after the app's ack timeout for a live one; the relay
// checks the target then and, if it is neither acknowledged nor expired,
// turns it into a send job on the subject of the device's vendor.
package relayq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subjects of the relay queue.
const (
	Stream          = "MOPUSH_RELAY"
	SubjectFallback = "mopush.relay.fallback"
	// SubjectSendPrefix is followed by the vendor name.
	SubjectSendPrefix = "mopush.relay.send."
)

// MaxAge bounds how long a job may wait in the queue: longer than any TTL.
const MaxAge = 29 * 24 * time.Hour

// Job is one target's trip through the relay.
type Job struct {
	PushID   string `json:"push_id"`
	AppID    string `json:"app_id"`
	DeviceID string `json:"device_id"`
	// Seq and Epoch place the message in the device's stream; Seq is 0 when
	// routing could not append it.
	Seq   uint64 `json:"seq,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
	// DueMs is when the fallback check runs (unix milliseconds).
	DueMs int64 `json:"due_ms"`
	// Vendor and Token are set on send jobs.
	Vendor string `json:"vendor,omitempty"`
	Token  string `json:"token,omitempty"`
}

// Due returns when the job is due.
func (j *Job) Due() time.Time { return time.UnixMilli(j.DueMs) }

// Decode parses a job; it fails on anything that is not a complete job.
func Decode(b []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("relay job: %w", err)
	}
	if j.PushID == "" || j.AppID == "" || j.DeviceID == "" {
		return j, errors.New("relay job: missing push, app or device id")
	}
	return j, nil
}

// Ensure creates or updates the relay stream.
func Ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      Stream,
		Subjects:  []string{SubjectFallback, SubjectSendPrefix + "*"},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    MaxAge,
		Discard:   jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("relay stream: %w", err)
	}
	return s, nil
}

// Publisher publishes jobs.
type Publisher struct {
	JS jetstream.JetStream
}

// Schedule publishes fallback jobs and waits until JetStream stored them
// all.
func (p *Publisher) Schedule(ctx context.Context, jobs []Job) error {
	return p.publish(ctx, SubjectFallback, jobs)
}

// Send publishes send jobs, each on its vendor's subject (a work queue per
// vendor: the relay has one durable consumer per vendor subject).
func (p *Publisher) Send(ctx context.Context, jobs []Job) error {
	return p.publish(ctx, "", jobs)
}

func (p *Publisher) publish(ctx context.Context, subject string, jobs []Job) error {
	futures := make([]jetstream.PubAckFuture, 0, len(jobs))
	for i := range jobs {
		b, err := json.Marshal(&jobs[i])
		if err != nil {
			return fmt.Errorf("encode relay job: %w", err)
		}
		subj := subject
		if subj == "" {
			subj = SubjectSendPrefix + jobs[i].Vendor
		}
		f, err := p.JS.PublishAsync(subj, b)
		if err != nil {
			return fmt.Errorf("publish relay job: %w", err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish relay job: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
