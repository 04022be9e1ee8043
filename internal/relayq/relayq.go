// Package relayq is the durable queue between routing and the vendor
// relay: a JetStream work-queue stream with two kinds of jobs. A fallback
// job is scheduled for every target when it is routed, due at once for an
// offline device or after the app's ack timeout for a live one; the relay
// checks the target then and, if it is neither acknowledged nor expired,
// turns it into a send job on the subject of the device's vendor.
//
// Fallback jobs travel in batches: one message carries up to MaxBatch jobs,
// so that a push to many targets, or many pushes routed at about the same
// time (see Coalescer), cost one stored message and one delivery instead of
// one per target. Send jobs stay one per message, each on its vendor's
// subject.
package relayq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
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
	// Attempt counts the fallback checks of this job that failed.
	Attempt int `json:"attempt,omitempty"`
}

// Due returns when the job is due.
func (j *Job) Due() time.Time { return time.UnixMilli(j.DueMs) }

// MaxBatch bounds the jobs of one fallback message.
const MaxBatch = 256

// batch is the body of a fallback message.
type batch struct {
	Jobs []Job `json:"jobs"`
}

// DecodeBatch parses a fallback message: a batch of 1 to MaxBatch complete
// jobs, or a single job as Decode reads it.
func DecodeBatch(b []byte) ([]Job, error) {
	var probe struct {
		Jobs json.RawMessage `json:"jobs"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("relay batch: %w", err)
	}
	if probe.Jobs == nil {
		j, err := Decode(b)
		if err != nil {
			return nil, err
		}
		return []Job{j}, nil
	}
	var jobs []Job
	if err := json.Unmarshal(probe.Jobs, &jobs); err != nil {
		return nil, fmt.Errorf("relay batch: %w", err)
	}
	if len(jobs) == 0 || len(jobs) > MaxBatch {
		return nil, fmt.Errorf("relay batch: %d jobs, want 1 to %d", len(jobs), MaxBatch)
	}
	for i := range jobs {
		if err := jobs[i].check(); err != nil {
			return nil, fmt.Errorf("relay batch: job %d: %w", i, err)
		}
	}
	return jobs, nil
}

func (j *Job) check() error {
	if j.PushID == "" || j.AppID == "" || j.DeviceID == "" {
		return errors.New("missing push, app or device id")
	}
	return nil
}

// Decode parses a job; it fails on anything that is not a complete job.
func Decode(b []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("relay job: %w", err)
	}
	if err := j.check(); err != nil {
		return j, fmt.Errorf("relay job: %w", err)
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

// Schedule publishes fallback jobs, MaxBatch to a message, and waits until
// JetStream stored them all.
func (p *Publisher) Schedule(ctx context.Context, jobs []Job) error {
	futures := make([]jetstream.PubAckFuture, 0, (len(jobs)+MaxBatch-1)/MaxBatch)
	for len(jobs) > 0 {
		n := min(len(jobs), MaxBatch)
		b, err := json.Marshal(batch{Jobs: jobs[:n]})
		if err != nil {
			return fmt.Errorf("encode relay batch: %w", err)
		}
		f, err := p.JS.PublishMsgAsync(&nats.Msg{Subject: SubjectFallback, Header: wakeHeader(jobs[:n]), Data: b})
		if err != nil {
			return fmt.Errorf("publish relay batch: %w", err)
		}
		futures = append(futures, f)
		jobs = jobs[n:]
	}
	return wait(ctx, futures)
}

// Send publishes send jobs, each on its vendor's subject (a work queue per
// vendor: the relay has one durable consumer per vendor subject).
func (p *Publisher) Send(ctx context.Context, jobs []Job) error {
	futures := make([]jetstream.PubAckFuture, 0, len(jobs))
	for i := range jobs {
		b, err := json.Marshal(&jobs[i])
		if err != nil {
			return fmt.Errorf("encode relay job: %w", err)
		}
		f, err := p.JS.PublishAsync(SubjectSendPrefix+jobs[i].Vendor, b)
		if err != nil {
			return fmt.Errorf("publish relay job: %w", err)
		}
		futures = append(futures, f)
	}
	return wait(ctx, futures)
}

// wait waits until JetStream acknowledged every publish.
func wait(ctx context.Context, futures []jetstream.PubAckFuture) error {
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
