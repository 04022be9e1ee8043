package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/node"
)

func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: mopush app create --name NAME [--server URL] [--admin-token T]")
		return errUsage
	}
	fs := flag.NewFlagSet("app create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "app name (required)")
	server := fs.String("server", "http://127.0.0.1:8080", "mopush API base URL")
	token := fs.String("admin-token", "", "admin token (default: $MOPUSH_ADMIN_TOKEN, then the token file in --data)")
	data := fs.String("data", "./data", "data directory of a local server, to read its admin token file")
	if fs.Parse(args[1:]) != nil {
		return errUsage
	}
	if *name == "" {
		fmt.Fprintln(stderr, "mopush app create: --name is required")
		return errUsage
	}
	tok, err := resolveAdminToken(*token, *data)
	if err != nil {
		return err
	}
	return postAdmin(ctx, stdout, *server, "/v1/apps", tok, map[string]string{"name": *name}, "create app")
}

// postAdmin posts body as JSON to the server's path with the admin token
// and prints the created object, indented.
func postAdmin(ctx context.Context, stdout io.Writer, server, path, tok string, body any, what string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(server, "/")+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: %s: %s", what, resp.Status, bytes.TrimSpace(out))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Write(out)
	}
	fmt.Fprintln(stdout, strings.TrimSpace(pretty.String()))
	return nil
}

func resolveAdminToken(flagVal, dataDir string) (string, error) {
	if flagVal != "" {
		return flagVal, nil
	}
	if v := os.Getenv("MOPUSH_ADMIN_TOKEN"); v != "" {
		return v, nil
	}
	b, err := os.ReadFile(node.AdminTokenPath(dataDir))
	if err != nil {
		return "", fmt.Errorf("no admin token: pass --admin-token, set MOPUSH_ADMIN_TOKEN, or run next to the server's data dir (%s): %w",
			filepath.Clean(dataDir), err)
	}
	return strings.TrimSpace(string(b)), nil
}
