package api

import (
	_ "embed"
	"net/http"
)

// statusPage is the page for people at GET /. It holds no data: the page
// asks for a token, typed into it and kept in the tab's session storage
// (never in its URL, which history, logs and shared links keep), and
// reads /status and /audit with it, like any other client.
//
//go:embed page.html
var statusPage []byte

func (s *server) page(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, err := w.Write(statusPage)
	return err
}
