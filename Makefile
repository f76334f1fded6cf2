# Virtual Office: `make run` starts the product, `make test` runs every test.
# Both install what they need (npm packages; Debian's chromium for browser tests).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go

.PHONY: run test build web go-test web-test e2e chromium peers bench-peers bench-sip turbojpeg bench clean

# The S3 server the blob store's tests run against (internal/blobs/s3blobs).
VERSITYGW := bin/tools/versitygw

run: build
	./bin/vo serve --demo --addr $${VO_ADDR:-127.0.0.1:8080} --data $${VO_DATA:-./vo-data}

build: web turbojpeg
	$(GO) build -o bin/vo ./cmd/vo

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: web/node_modules/.package-lock.json
	cd web && npm run build

test: build chromium peers $(VERSITYGW)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	cd web && npm test
	cd web && VO_BIN=$(CURDIR)/bin/vo npm run e2e

# Go tests only (no web build): the fast loop while working on the server.
go-test: turbojpeg peers $(VERSITYGW)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

$(VERSITYGW):
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0

# libjpeg-turbo's TurboJPEG API, which decodes photos at a DCT scale (internal/photo).
turbojpeg:
	@pkg-config --exists libturbojpeg 2>/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libturbojpeg0-dev pkg-config; }

chromium:
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# The real peers the telephony tests talk to: Debian's baresip (a SIP phone)
# and coturn (a TURN server).
peers:
	@{ command -v baresip && command -v turnserver; } >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends baresip-core coturn; }

# The real peers the benchmarks measure vo against (not needed by `make
# test`): Debian's kamailio, a SIP registrar, for `vo bench sip`.
bench-peers:
	@command -v kamailio >/dev/null || test -x /usr/sbin/kamailio || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kamailio; }

# REGISTERs a second with digest authentication: vo's registrar against
# kamailio's, in one run (medians of 3 runs; see docs/benchmarks.md).
bench-sip: turbojpeg bench-peers
	$(GO) build -o bin/vo ./cmd/vo
	./bin/vo bench sip

clean:
	rm -rf bin
	find web/dist -mindepth 1 ! -name .gitkeep -delete
