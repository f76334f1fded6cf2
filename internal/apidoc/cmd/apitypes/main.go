// Command apitypes writes Go types for the schemas of an OpenAPI document
// (see package vo/internal/apidoc/gen). go generate runs it for
// vo/internal/apidoc/apitypes.
package main

import (
	"flag"
	"fmt"
	"os"

	"vo/internal/apidoc/gen"
)

func main() {
	in := flag.String("in", "", "the OpenAPI document (JSON)")
	out := flag.String("out", "", "the Go file to write")
	pkg := flag.String("pkg", "apitypes", "the package name")
	source := flag.String("source", "", "the document's name in the file's header; -in when empty")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: apitypes -in openapi.json -out types_gen.go [-pkg name]")
		os.Exit(2)
	}
	if *source == "" {
		*source = *in
	}
	doc, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apitypes:", err)
		os.Exit(1)
	}
	src, err := gen.Generate(doc, *pkg, *source)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apitypes:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "apitypes:", err)
		os.Exit(1)
	}
}
