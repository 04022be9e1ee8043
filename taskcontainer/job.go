package taskcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mopush/mopush/internal/ids"
)

// The campaign work queue.
const (
	Stream     = "CAMPAIGNS"
	SubjectRun = "campaigns.run"
	consumer   = "taskcontainer"
)

// Job asks a runner to run (or go on with) a campaign.
type Job struct {
	CampaignID string `json:"campaign_id"`
}

var errBadJob = errors.New("taskcontainer: bad job")

// decodeJob parses a job; anything but a job with an id is errBadJob.
func decodeJob(b []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(b, &j); err != nil || j.CampaignID == "" || len(j.CampaignID) > ids.MaxLen {
		return Job{}, errBadJob
	}
	return j, nil
}

// ensure creates or updates the campaign stream.
func ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      Stream,
		Subjects:  []string{SubjectRun},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
		// A campaign job waits at most until its send time, which is at
		// most 30 days ahead; a day more covers local time.
		MaxAge: 31 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("campaign stream: %w", err)
	}
	return s, nil
}

// Publisher starts campaigns: it publishes their jobs.
type Publisher struct {
	JS jetstream.JetStream
}

// Start publishes the job of the campaign and waits until JetStream
// stored it.
func (p Publisher) Start(ctx context.Context, campaignID string) error {
	if _, err := ensure(ctx, p.JS); err != nil {
		return err
	}
	b, err := json.Marshal(Job{CampaignID: campaignID})
	if err != nil {
		return fmt.Errorf("encode campaign job: %w", err)
	}
	if _, err := p.JS.Publish(ctx, SubjectRun, b); err != nil {
		return fmt.Errorf("publish campaign job: %w", err)
	}
	return nil
}
