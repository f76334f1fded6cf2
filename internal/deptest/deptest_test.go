package deptest_test

import (
	"slices"
	"strings"
	"testing"

	"vo/internal/deptest"
)

// domain are the packages that hold Virtual Office's types and rules. They
// know no database, no message bus and no transport: those depend on them,
// never the other way (docs/architecture.md).
var domain = []string{
	"vo/internal/account",
	"vo/internal/admin",
	"vo/internal/apperr",
	"vo/internal/auth",
	"vo/internal/chat",
	"vo/internal/blobs", // the Blobs interface and the data folder: files, not a driver
	"vo/internal/clock",
	"vo/internal/demo",
	"vo/internal/directory",
	"vo/internal/notify", // Web Push rules and queue; the sender is notify/webpush
	"vo/internal/events", // the Event type and the in-process hub; NATS is events/natsbus
	"vo/internal/page",
	"vo/internal/photo",
	"vo/internal/photo/exif",
	"vo/internal/presence",
	"vo/internal/profile",
	"vo/internal/telephony",
	"vo/internal/text",
	"vo/internal/turncred", // TURN REST credentials: HMAC over a username, no I/O
	"vo/internal/wire",
}

// outer are the drivers, transports, wiring and tools around the domain,
// and the helpers only tests import.
var outer = []string{
	"vo/internal/apidoc",
	"vo/internal/apidoc/apitypes",
	"vo/internal/apidoc/cmd/apitypes",
	"vo/internal/apidoc/gen",
	"vo/internal/bench",
	"vo/internal/blobs/blobstest",
	"vo/internal/blobs/pgblobs",
	"vo/internal/blobs/s3blobs",
	"vo/internal/deptest",
	"vo/internal/events/natsbus",
	"vo/internal/httpapi",
	"vo/internal/metrics",
	"vo/internal/node",
	"vo/internal/notify/pushtest",
	"vo/internal/notify/webpush",
	"vo/internal/sipserver",
	"vo/internal/appcall",
	"vo/internal/photo/internal/testimg",
	"vo/internal/store",
	"vo/internal/storetest",
	"vo/internal/stream",
	"vo/internal/turnserver",
	"vo/internal/webrtcmedia",
	"vo/internal/votest",
}

// forbidden are what no domain package may depend on, directly or not: a
// package or everything under it.
var forbidden = []string{
	"database/sql",
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
	"github.com/pressly/goose",
	"github.com/nats-io",
	"github.com/minio",
	"github.com/coder/websocket",
	"github.com/prometheus",
	"github.com/pion",
	"net/http",
	"vo/internal/httpapi",
	"vo/internal/stream",
	"vo/internal/store",
	"vo/internal/storetest",
	"vo/internal/events/natsbus",
	"vo/internal/blobs/pgblobs",
	"vo/internal/blobs/s3blobs",
	"vo/internal/metrics",
	"vo/internal/node",
}

func isForbidden(path string) bool {
	return slices.ContainsFunc(forbidden, func(f string) bool { return deptest.Under(path, f) })
}

func TestDomainKnowsNoDriver(t *testing.T) {
	g, err := deptest.Load(".", domain...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range domain {
		if chain := g.Chain(p, isForbidden); chain != nil {
			t.Errorf("%s depends on %s: %s", p, chain[len(chain)-1], strings.Join(chain, " → "))
		}
	}
}

// TestEveryPackageClassified makes a new package under internal/ say
// which side it is on, so that a domain package is checked from its first
// commit.
func TestEveryPackageClassified(t *testing.T) {
	g, err := deptest.Load(".", "vo/internal/...")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Roots {
		if !slices.Contains(domain, p) && !slices.Contains(outer, p) {
			t.Errorf("%s is neither domain nor outer: add it to one list in %s", p, "internal/deptest/deptest_test.go")
		}
	}
	for _, p := range append(slices.Clone(domain), outer...) {
		if !slices.Contains(g.Roots, p) {
			t.Errorf("%s is listed but no longer exists", p)
		}
	}
}

// TestChainFindsDriver keeps the check honest: the store, which is meant
// to import the drivers, is caught doing so, and a chain through a middle
// package names it.
func TestChainFindsDriver(t *testing.T) {
	g, err := deptest.Load(".", "vo/internal/store", "vo/internal/httpapi")
	if err != nil {
		t.Fatal(err)
	}
	sqlite := func(p string) bool { return deptest.Under(p, "modernc.org/sqlite") }
	if chain := g.Chain("vo/internal/store", sqlite); !slices.Equal(chain, []string{"vo/internal/store", "modernc.org/sqlite"}) {
		t.Errorf("Chain(store → sqlite) = %v, want [vo/internal/store modernc.org/sqlite]", chain)
	}
	if chain := g.Chain("vo/internal/httpapi", sqlite); len(chain) < 3 || chain[0] != "vo/internal/httpapi" || !sqlite(chain[len(chain)-1]) {
		t.Errorf("Chain(httpapi → sqlite) = %v, want httpapi, the packages between, sqlite", chain)
	}
	if chain := g.Chain("vo/internal/store", func(p string) bool { return p == "vo/internal/httpapi" }); chain != nil {
		t.Errorf("Chain(store → httpapi) = %v, want nil: the store does not import the transport", chain)
	}
}
