package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// runUser adds a portal user with the admin token: how the first admin
// gets in, before anyone can sign in to the portal.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const usage = "usage: mopush user create --email EMAIL --role admin|marketer|viewer [--name NAME] [--apps ID,ID] [--password P] [--server URL] [--admin-token T]\n" +
		"  without --password, the password is read from the first line of standard input"
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the user's email (required)")
	role := fs.String("role", "", "admin, marketer or viewer (required)")
	name := fs.String("name", "", "the user's name")
	apps := fs.String("apps", "", "comma-separated ids of the apps a marketer or viewer may see")
	password := fs.String("password", "", "the password (default: the first line of standard input)")
	server := fs.String("server", "http://127.0.0.1:8080", "mopush API base URL")
	token := fs.String("admin-token", "", "admin token (default: $MOPUSH_ADMIN_TOKEN, then the token file in --data)")
	data := fs.String("data", "./data", "data directory of a local server, to read its admin token file")
	if fs.Parse(args[1:]) != nil {
		return errUsage
	}
	if *email == "" || *role == "" {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	pw := *password
	if pw == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("create user: read the password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	tok, err := resolveAdminToken(*token, *data)
	if err != nil {
		return err
	}
	body := map[string]any{"email": *email, "role": *role, "name": *name, "password": pw, "apps": splitList(*apps)}
	return postAdmin(ctx, stdout, *server, "/portal/api/users", tok, body, "create user")
}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
