package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLogger(t *testing.T) {
	tests := []struct {
		format, level string
		wantErr       bool
		logged        string // what a debug line and an info line produce
	}{
		{"text", "info", false, "level=INFO msg=shown"},
		{"json", "debug", false, `"msg":"hidden"`},
		{"json", "error", false, ""},
		{"xml", "info", true, ""},
		{"text", "verbose", true, ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		lg, err := logger(&buf, tt.format, tt.level)
		if tt.wantErr {
			var u usageError
			if !errors.As(err, &u) {
				t.Errorf("logger(%q, %q) err = %v, want a usage error", tt.format, tt.level, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("logger(%q, %q): %v", tt.format, tt.level, err)
		}
		lg.Debug("hidden")
		lg.Info("shown")
		if !strings.Contains(buf.String(), tt.logged) || (tt.logged == "" && buf.Len() != 0) {
			t.Errorf("logger(%q, %q) wrote %q, want it to contain %q", tt.format, tt.level, buf.String(), tt.logged)
		}
		if tt.level == "info" && strings.Contains(buf.String(), "hidden") {
			t.Errorf("logger(%q, info) wrote a debug line: %q", tt.format, buf.String())
		}
	}
}
