package portal

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/mopush/mopush/internal/httpx"
)

//go:embed ui
var uiFiles embed.FS

// uiHandler serves the single-page UI's files under /portal/. Unknown API
// paths are problems, as everywhere else.
func uiHandler() http.Handler {
	sub, _ := fs.Sub(uiFiles, "ui")
	files := http.StripPrefix("/portal/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/portal/api/") {
			httpx.WriteProblem(w, errNotFound("endpoint "+r.URL.Path))
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	})
}
