package node

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/mopush/mopush/gateway"
)

// documented reads docs/openapi.yaml and returns its operations as
// "METHOD /path" patterns.
func documented(t *testing.T) []string {
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// routes records the patterns a gateway registers.
type routes []string

func (r *routes) Handle(pattern string, _ http.Handler) { *r = append(*r, pattern) }

// Every operation openapi.yaml documents is served by a node running every
// role, and every route of the gateway is documented.
func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	ops := documented(t)
	require.NotEmpty(t, ops)

	var rec routes
	gateway.New(gateway.Config{}, nil, nil, nil, nil, nil).Register(&rec)
	require.NotEmpty(t, rec)
	for _, p := range rec {
		require.Contains(t, ops, p, "a gateway route missing from docs/openapi.yaml")
	}

	n := startNode(t, Options{})
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{id}", "x", "{vendor}", "apns").Replace(path)
		req, err := http.NewRequest(method, n.URL()+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, op)
		var body [512]byte
		k, _ := resp.Body.Read(body[:])
		resp.Body.Close()
		require.NotContains(t, string(body[:k]), "no such endpoint", "%s is documented but not served", op)
	}
}
