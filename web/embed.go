// Package web holds the built mobile web app (a PWA), embedded into the vo
// binary. `make run` and `make test` build it into dist/ first; without a
// build, dist/ holds only a placeholder and the server says so.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var Dist embed.FS

// App returns the built app's files, rooted at dist/.
func App() fs.FS {
	sub, err := fs.Sub(Dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at build time: it always exists
	}
	return sub
}
