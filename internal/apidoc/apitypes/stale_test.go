package apitypes

import (
	"bytes"
	"os"
	"testing"

	"vo/internal/apidoc/gen"
)

// TestGeneratedIsFresh regenerates the types from the document in memory:
// a document changed without `go generate ./internal/apidoc/apitypes`
// fails here.
func TestGeneratedIsFresh(t *testing.T) {
	doc, err := os.ReadFile("../../httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := gen.Generate(doc, "apitypes", "internal/httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("types_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("types_gen.go is stale: run go generate ./internal/apidoc/apitypes")
	}
}
