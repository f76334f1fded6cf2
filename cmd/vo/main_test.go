package main

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// Opening a store logs its migrations; serve sets its own logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Every serve of these tests (in process or the built binary, which
	// inherits this) runs its SIP registrar on a free port, not 5060.
	if os.Getenv("VO_SIP_ADDR") == "" {
		os.Setenv("VO_SIP_ADDR", "127.0.0.1:0")
	}
	os.Exit(m.Run())
}
