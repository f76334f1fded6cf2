// Package deptest reads the import graph of packages, as `go list -deps`
// sees it for a build (test files left out), so that a test can forbid a
// package from depending on another: the domain on a database driver, say.
// The idea is Tailscale's tstest/deptest.
package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

// Graph is the import graph of some packages and everything they import.
type Graph struct {
	// Imports maps each package's import path to the paths it imports.
	Imports map[string][]string
	// Roots are the packages the graph was loaded for, as go list named them.
	Roots []string
}

// Load runs `go list -deps -test=false` in dir on the patterns and returns
// their import graph. The go command is the one on PATH (go test puts its
// own first).
func Load(dir string, patterns ...string) (*Graph, error) {
	roots, err := goList(dir, append([]string{"-f", "{{.ImportPath}}"}, patterns...))
	if err != nil {
		return nil, err
	}
	out, err := goList(dir, append([]string{"-deps", "-test=false", "-json=ImportPath,Imports"}, patterns...))
	if err != nil {
		return nil, err
	}
	g := &Graph{Imports: map[string][]string{}, Roots: strings.Fields(string(roots))}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("deptest: read go list: %w", err)
		}
		g.Imports[p.ImportPath] = p.Imports
	}
	return g, nil
}

func goList(dir string, args []string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("deptest: go list %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// Under reports whether path is prefix or a package below it
// ("github.com/jackc/pgx" holds "github.com/jackc/pgx/v5/stdlib").
func Under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// Chain returns the shortest import chain from root to a package that bad
// accepts, root first; nil when root depends on none. The chain names the
// import to cut.
func (g *Graph) Chain(root string, bad func(string) bool) []string {
	from := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if bad(p) {
			var chain []string
			for ; p != ""; p = from[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range g.Imports[p] {
			if _, seen := from[q]; !seen {
				from[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}
