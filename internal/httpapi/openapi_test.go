package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"vo/internal/apidoc"
	"vo/internal/clock"
	"vo/internal/storetest"
)

// documentedRoutes lists the document's operations as "METHOD /path".
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var out []string
	for p, item := range doc.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	var served []string
	for _, e := range New(Config{}).endpoints() {
		served = append(served, e.pattern)
	}
	described := documentedRoutes(t)
	for _, r := range served {
		if !slices.Contains(described, r) {
			t.Errorf("%s is served but openapi.json does not describe it", r)
		}
	}
	for _, r := range described {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.json describes %s, which is not served", r)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, storetest.Open(t, "sqlite", clock.NewFake(testEpoch)), clock.NewFake(testEpoch))
	r := e.do(t, "GET", "/api/v1/openapi.json", nil, nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, openAPIDoc) {
		t.Fatalf("GET /api/v1/openapi.json without a login: %d, %d bytes; want 200 and the document", r.Status, len(r.Body))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("served document is not OpenAPI 3.1: %q %v", doc.OpenAPI, err)
	}
}

// docChecker is the checker of every answer the tests receive, built once.
var docChecker = sync.OnceValues(func() (*apidoc.Checker, error) { return apidoc.New(openAPIDoc) })

// checkAnswer fails the test when an answer to req breaks the document.
func checkAnswer(t testing.TB, req *http.Request, r httpAnswer) {
	t.Helper()
	c, err := docChecker()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(req, r.Status, r.Header, r.Body); err != nil {
		t.Error(err)
	}
}
