package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mopush/mopush/sdkproto/client"
)

// deviceEvent is one JSON line printed by `mopush device run`.
type deviceEvent struct {
	Event    string `json:"event"`
	DeviceID string `json:"device_id,omitempty"`
	PushID   string `json:"push_id,omitempty"`
	Seq      uint64 `json:"seq,omitempty"`
	Title    string `json:"title,omitempty"`
	Body     string `json:"body,omitempty"`
	Data     any    `json:"data,omitempty"`
	Error    string `json:"error,omitempty"`
}

func runDevice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, "usage: mopush device run --app-key K --state FILE [--server URL] [--alias A] [--platform P]")
		return errUsage
	}
	fs := flag.NewFlagSet("device run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "mopush API base URL")
	appKey := fs.String("app-key", "", "the app's public key (required to register)")
	statePath := fs.String("state", "", "file that keeps the device's id, secret and stream position (required)")
	alias := fs.String("alias", "", "alias (user id) to register the device under")
	platform := fs.String("platform", "cli", "platform to register")
	if fs.Parse(args[1:]) != nil {
		return errUsage
	}
	if *statePath == "" {
		fmt.Fprintln(stderr, "mopush device run: --state is required")
		return errUsage
	}
	st, err := loadState(*statePath)
	if err != nil {
		return err
	}
	out := &lineWriter{w: stdout}
	cfg := client.Config{
		Server: strings.TrimRight(*server, "/"),
		AppKey: *appKey,
		OnPush: func(p client.Push) {
			out.write(deviceEvent{Event: "push", PushID: p.ID, Seq: p.Seq, Title: p.Title, Body: p.Body, Data: dataOrNil(p.Data)})
		},
		OnState: func(s client.State) {
			if err := saveState(*statePath, s); err != nil {
				out.write(deviceEvent{Event: "error", Error: err.Error()})
			}
		},
		OnEvent: func(e client.Event) {
			switch e.Kind {
			case client.EventReady:
				out.write(deviceEvent{Event: "ready", DeviceID: e.DeviceID})
			case client.EventDisconnected:
				ev := deviceEvent{Event: "disconnected"}
				if e.Err != nil {
					ev.Error = e.Err.Error()
				}
				out.write(ev)
			}
		},
	}
	c := client.New(cfg, st)
	if st.DeviceID == "" {
		if *appKey == "" {
			fmt.Fprintln(stderr, "mopush device run: --app-key is required to register a new device")
			return errUsage
		}
		if err := c.Register(ctx, client.Registration{Platform: *platform, Alias: *alias}); err != nil {
			return err
		}
	}
	return c.Run(ctx)
}

func dataOrNil(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// lineWriter prints one JSON object per line, safely from several
// goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) write(v any) {
	b, _ := json.Marshal(v)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n')) //nolint:errcheck // stdout
}

func loadState(path string) (client.State, error) {
	var st client.State
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("state file %s: %w", path, err)
	}
	return st, nil
}

// saveState writes the state atomically (temp file, rename).
func saveState(path string, st client.State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mopush-state-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}
