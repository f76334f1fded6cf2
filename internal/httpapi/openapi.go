package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of every endpoint (SPEC §12),
// written by hand. openapi_test.go fails when a route is served that it
// lacks or it describes one that is not served, and every API test checks
// each answer it receives against it (package apidoc).
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the document, for checkers outside this package
// (votest). The caller must not change it.
func OpenAPI() []byte { return openAPIDoc }

// openAPI serves the document without a login: it is the same for
// everyone and holds no secret, and tools read it before they have a
// token.
func openAPI(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, err := w.Write(openAPIDoc)
	return err
}
