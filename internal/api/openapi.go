package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes the API (OpenAPI 3.1). A test checks it against the
// routes and against real responses, so the two cannot drift.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	_, err := w.Write(openAPIDoc)
	return err
}
